// A loopback HTTP server for pull tests: answers per path and records whether it was reached.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TapLike } from '../helper.js'

export interface FakeUpstream {
  origin: string
  host: string
  hits: string[]
}

/** `/ok` → 200 bytes, `/missing` → 404, `/broken` → 503, `/hang` → headers never sent. */
export async function fakeUpstream(t: TapLike): Promise<FakeUpstream> {
  const hits: string[] = []
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/ok') return res.writeHead(200, { 'content-type': 'application/pdf' }).end('pulled bytes')
    if (req.url === '/missing') return res.writeHead(404).end()
    if (req.url === '/broken') return res.writeHead(503).end()
    if (req.url === '/hang') return // left open until the client gives up
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, hits }
}
