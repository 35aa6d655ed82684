// Slow clients cannot starve others: stalled or trickling bodies are cut off and release their draft
// and quota at once; headers must arrive in time; hundreds of slowloris sockets leave /healthz serving.
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { buildTestApp, type TapLike } from '../helper.js'
import { rawExchange } from './raw-socket.js'

const LIMITS = {
  STAGING_BODY_IDLE_TIMEOUT_MS: '400',
  STAGING_BODY_MIN_RATE_BPS: '4096',
  STAGING_HEADERS_TIMEOUT_MS: '800',
  FRONTAPP_API_SECRET: 'front-secret'
}

async function listening(t: TapLike) {
  const built = await buildTestApp(t, LIMITS)
  await built.app.listen({ host: '127.0.0.1', port: 0 })
  return { ...built, port: (built.app.server.address() as { port: number }).port }
}

function open(port: number, head: string): { socket: Socket; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  socket.write(head)
  const opened = Date.now()
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)))
  return { socket, closed }
}

const waitFor = async (what: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; Date.now() < end && !what(); ) await new Promise((r) => setTimeout(r, 25))
  return what()
}

const multipartHead = (id: string) => {
  const b = 'slowb'
  const body = `--${b}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\n${id}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="s.bin"\r\n\r\n`
  return `POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: 10000000\r\n\r\n${body}`
}

t.test('a stalled upload is cut off and its draft and quota are released at once', async (t) => {
  const { app, port } = await listening(t)
  const { socket, closed } = open(port, multipartHead('STALL'))
  socket.write(Buffer.alloc(50_000, 1))
  t.ok(await waitFor(() => app.staging.store.draftDirs().size === 1), 'the upload has a draft')
  t.ok(await waitFor(() => app.staging.store.quota.reservedBytes > 0), 'and holds quota')
  // Then nothing more: the idle timeout cuts it.
  await closed
  t.ok(await waitFor(() => app.staging.store.draftDirs().size === 0), 'draft released')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'quota released')
})

t.test('a trickling upload (under the minimum rate) is cut off although bytes keep coming', async (t) => {
  const { app, port } = await listening(t)
  const { socket, closed } = open(port, multipartHead('TRICKLE'))
  const drip = setInterval(() => socket.write(Buffer.alloc(100, 2)), 50) // 2 KB/s, under 4 KB/s
  t.teardown(() => clearInterval(drip))
  const after = await closed
  clearInterval(drip)
  t.ok(after < 10_000, 'cut off')
  t.ok(await waitFor(() => app.staging.store.draftDirs().size === 0), 'draft released')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'quota released')
})

t.test('stalled pull-request and webhook bodies are cut off too', async (t) => {
  const { port } = await listening(t)
  const pull = open(port, 'POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"document_id":')
  const hook = open(port, 'POST /v1/webhooks/frontapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Front-Signature: c2ln\r\nContent-Length: 5000\r\n\r\n{"id":')
  t.ok((await pull.closed) < 10_000, 'the pull request is cut off')
  t.ok((await hook.closed) < 10_000, 'the unauthenticated webhook body is cut off')
})

t.test('headers that do not arrive in time get a 408 problem', async (t) => {
  const { port } = await listening(t)
  const text = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n')
  t.match(text, /^HTTP\/1\.1 408 /)
  t.match(text, /application\/problem\+json/)
  t.match(text, /"code":"ValidationError"/)
})

t.test('300 slowloris connections: /healthz keeps answering, memory stays bounded, they are closed', async (t) => {
  const { port } = await listening(t)
  const rssBefore = process.memoryUsage().rss
  const sockets = Array.from({ length: 300 }, (_, i) => open(port, `GET /healthz?i=${i} HTTP/1.1\r\nHost: x\r\n`))
  const drip = setInterval(() => sockets.forEach((s) => s.socket.writable && s.socket.write('X-A: b\r\n')), 100)
  t.teardown(() => clearInterval(drip))
  let slowest = 0
  for (let i = 0; i < 20; i++) {
    const started = Date.now()
    const res = await fetch(`http://127.0.0.1:${port}/healthz`)
    t.equal(res.status, 200)
    slowest = Math.max(slowest, Date.now() - started)
  }
  t.ok(slowest < 2000, `/healthz answered within ${slowest} ms while 300 slow sockets were open`)
  const closedAfter = await Promise.all(sockets.map((s) => s.closed))
  clearInterval(drip)
  t.ok(Math.max(...closedAfter) < 10_000, 'every slowloris socket was closed by the headers timeout')
  const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
  t.ok(grown < 100, `RSS grew ${grown.toFixed(1)} MiB`)
})
