// An answer given while the body is still arriving (401, 403, 413, 415, 507) reaches clients that send
// no Expect: 100-continue: node:http, undici and curl all read it, and the server keeps serving.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import t from 'tap'
import { request as undiciRequest } from 'undici'
import { buildTestApp, tempDir } from '../helper.js'

const run = promisify(execFile)
const INGEST = 'ingest-token-0001'
const MiB = 1024 * 1024

interface Case {
  name: string
  method: 'POST' | 'PATCH'
  path: string
  headers: Record<string, string>
  status: number
  code: string
}

const multipart = { 'content-type': 'multipart/form-data; boundary=zz' }
const CASES: Case[] = [
  { name: '401 wrong token', method: 'POST', path: '/v1/documents', headers: { ...multipart, authorization: 'Bearer wrong-token-000' }, status: 401, code: 'Unauthorized' },
  { name: '403 role', method: 'POST', path: '/v1/cleanup', headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST}` }, status: 403, code: 'Forbidden' },
  { name: '413 webhook', method: 'POST', path: '/v1/webhooks/frontapp', headers: { 'content-type': 'application/json', 'x-front-signature': 'c2ln' }, status: 413, code: 'PayloadTooLarge' },
  { name: '415 type', method: 'PATCH', path: '/v1/staging/local_upload/X1', headers: { 'content-type': 'text/plain', authorization: `Bearer ${INGEST}` }, status: 415, code: 'UnsupportedMediaType' },
  { name: '507 quota', method: 'POST', path: '/v1/documents', headers: { ...multipart, authorization: `Bearer ${INGEST}` }, status: 507, code: 'QuotaExceeded' }
]

function body(size: number): Buffer {
  return Buffer.alloc(size, 0x61)
}

/** node:http, writing the body chunk by chunk with backpressure, as an upload client would. */
async function viaNodeHttp(port: number, c: Case, size: number): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: c.method, path: c.path, headers: { ...c.headers, 'content-length': size } })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { code: string }).code }))
    })
    req.on('error', (err) => reject(err))
    const chunk = body(64 * 1024)
    let sent = 0
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent)
        sent += n
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

async function viaUndici(port: number, c: Case, size: number): Promise<{ status: number; code: string }> {
  const chunks = (function* () {
    for (let sent = 0; sent < size; sent += 64 * 1024) yield body(Math.min(64 * 1024, size - sent))
  })()
  const res = await undiciRequest(`http://127.0.0.1:${port}${c.path}`, {
    method: c.method,
    headers: { ...c.headers, 'content-length': String(size) },
    body: Readable.from(chunks)
  })
  const json = (await res.body.json()) as { code: string }
  return { status: res.statusCode, code: json.code }
}

async function viaCurl(port: number, c: Case, file: string): Promise<{ status: number }> {
  const headers = Object.entries(c.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
  // "Expect:" turns curl's 100-continue off, like node:http and undici.
  const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', c.method, ...headers, '-H', 'Expect:', '--data-binary', `@${file}`, `http://127.0.0.1:${port}${c.path}`])
  return { status: Number(stdout) }
}

t.test('early answers reach node:http, undici and curl, drained or closed after', async (t) => {
  const { app } = await buildTestApp(t, {
    STAGING_API_TOKENS: `ingest:${INGEST},operator:operator-token-01`,
    STAGING_MAX_SIZE_GB: String(2 / 1024),
    STAGING_WEBHOOK_MAX_KB: '64',
    FRONTAPP_API_SECRET: 'front-secret',
    STAGING_DRAIN_MAX_KB: String(8 * 1024)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const dir = await tempDir(t)
  const file = join(dir, 'body.bin')

  // 4 MiB: within the drain bound (the connection is kept); 24 MiB: past it (closed after the answer).
  for (const size of [4 * MiB, 24 * MiB]) {
    await writeFile(file, body(size))
    for (const c of CASES) {
      const label = `${c.name}, ${size / MiB} MiB`
      t.same(await viaNodeHttp(port, c, size), { status: c.status, code: c.code }, `node:http ${label}`)
      t.same(await viaUndici(port, c, size), { status: c.status, code: c.code }, `undici ${label}`)
      t.same(await viaCurl(port, c, file), { status: c.status }, `curl ${label}`)
    }
  }
  t.equal(app.staging.store.draftDirs().size, 0, 'no draft left')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'no quota held')
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'still serving')
})

t.test('a client still sending when the early answer is written is not reset away from it', async (t) => {
  // A body parser's error (here 413: the declared length is past the webhook limit) came with
  // `Connection: close`, and node:http then closed the socket as soon as the answer was written;
  // the client's next bytes drew a reset, which discarded the unread answer on the client's side.
  const { app } = await buildTestApp(t, { STAGING_WEBHOOK_MAX_KB: '64', FRONTAPP_API_SECRET: 'front-secret' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const socket = connect(port, '127.0.0.1')
  let error: string | null = null
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message))
  await once(socket, 'connect')
  socket.pause() // nothing is read until the end, as a client busy sending would
  const chunk = body(MiB)
  socket.write(`POST /v1/webhooks/frontapp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-front-signature: c2ln\r\ncontent-length: ${24 * MiB}\r\n\r\n`)
  socket.write(chunk)
  await new Promise((r) => setTimeout(r, 300)) // the answer is written meanwhile
  socket.write(chunk) // past the server's close, this drew the reset
  await new Promise((r) => setTimeout(r, 300))
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
  socket.resume()
  await new Promise((r) => setTimeout(r, 300))
  socket.destroy()
  t.equal(error, null, 'no reset')
  t.match(text, /^HTTP\/1\.1 413 /, 'the answer was read')
  t.match(text, /"code":"PayloadTooLarge"/)
})
