// PUT /v1/staging/{source}/{document_id}: raw bytes staged whole, naming rules, repeat rules, size
// checks and Repr-Digest, through HTTP (inject, and a real socket for a chunked streamed body).
import { createHash, randomBytes } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, multipartBody } from '../helper.js'

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex')
const digest = (b: string | Buffer) => `sha-256=:${createHash('sha256').update(b).digest('base64')}:`
const leftovers = async (baseDir: string) => readdir(join(baseDir, '.tmp'))

t.test('the body is stored as the document with its content type and Content-Disposition filename', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const res = await app.inject({
    method: 'PUT',
    url: '/v1/staging/frontapp/DOC-9',
    payload: Buffer.from('%PDF raw bytes'),
    headers: { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="../inv\u00e9.pdf"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf' }
  })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/v1/staging/frontapp/DOC-9')
  const record = res.json()
  t.match(record, {
    document_id: 'DOC-9',
    source: 'frontapp',
    kind: 'document',
    status: 'active',
    filename: 'résumé.pdf',
    original_filename: 'résumé.pdf',
    content_type: 'application/pdf',
    file_size_bytes: 14,
    sha256: sha('%PDF raw bytes'),
    source_location: null
  })
  t.equal(await readFile(join(baseDir, 'frontapp', 'DOC-9', 'résumé.pdf'), 'utf8'), '%PDF raw bytes')
  t.same(JSON.parse(await readFile(join(baseDir, 'frontapp', 'DOC-9', '.metadata.json'), 'utf8')), record)
  t.same(await leftovers(baseDir), [])
})

t.test('filename falls back to ?filename=, then to the document_id; content type to octet-stream', async (t) => {
  const { app } = await buildTestApp(t)
  const named = await app.inject({ method: 'PUT', url: '/v1/staging/http/A-1?filename=dir%2Fnotes.txt', payload: 'a', headers: { 'content-type': 'text/plain' } })
  t.match(named.json(), { filename: 'notes.txt', original_filename: 'dir/notes.txt', content_type: 'text/plain' })
  const bare = await app.inject({ method: 'PUT', url: '/v1/staging/http/A-2', payload: Buffer.from('b') })
  t.equal(bare.statusCode, 201)
  t.match(bare.json(), { filename: 'A-2', original_filename: 'A-2', content_type: 'application/octet-stream', file_size_bytes: 1 })
})

t.test('repeat rules: same bytes 200, other bytes 409, overwrite=true replaces', async (t) => {
  const { app } = await buildTestApp(t)
  const put = (body: string, query = '') => app.inject({ method: 'PUT', url: `/v1/staging/local_upload/R-1${query}`, payload: body, headers: { 'content-type': 'text/plain' } })
  t.equal((await put('one')).statusCode, 201)
  const again = await put('one')
  t.equal(again.statusCode, 200)
  t.equal(again.json().sha256, sha('one'))
  const other = await put('two')
  t.equal(other.statusCode, 409)
  t.equal(other.json().code, 'Conflict')
  const replaced = await put('two', '?overwrite=true')
  t.equal(replaced.statusCode, 201)
  t.equal(replaced.json().sha256, sha('two'))
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/R-1/content' })).body, 'two')
})

t.test('Repr-Digest: a match stages, a mismatch is 400 DigestMismatch with nothing stored and no quota held', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const body = randomBytes(5000)
  const ok = await app.inject({ method: 'PUT', url: '/v1/staging/http/D-1', payload: body, headers: { 'repr-digest': `${digest(body)}, sha-512=:AAAA:` } })
  t.equal(ok.statusCode, 201)
  const bad = await app.inject({ method: 'PUT', url: '/v1/staging/http/D-2', payload: body, headers: { 'repr-digest': digest('something else') } })
  t.equal(bad.statusCode, 400)
  t.match(bad.headers['content-type'], /^application\/problem\+json/)
  t.match(bad.json(), { code: 'DigestMismatch', retryable: false, status: 400 })
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/http/D-2' })).statusCode, 404)
  t.same(await readdir(join(baseDir, 'http')), ['D-1'])
  t.same(await leftovers(baseDir), [])
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.equal(stats.quota.reserved_bytes, 0, 'no quota held')
  t.equal(stats.disk_usage.total_bytes, 5000)
  const malformed = await app.inject({ method: 'PUT', url: '/v1/staging/http/D-3', payload: body, headers: { 'repr-digest': 'sha-256=not-bytes' } })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().code, 'ValidationError')
  const short = await app.inject({ method: 'PUT', url: '/v1/staging/http/D-4', payload: body, headers: { 'repr-digest': 'sha-256=:AAAA:' } })
  t.equal(short.json().code, 'ValidationError', 'a digest that is not 32 bytes')
})

t.test('the multipart route honours Repr-Digest for its file part', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const form = (id: string) => multipartBody({ document_id: id }, { filename: 'x.bin', content: 'multipart bytes' })
  const good = form('M-1')
  const ok = await app.inject({ method: 'POST', url: '/v1/documents', payload: good.payload, headers: { ...good.headers, 'repr-digest': digest('multipart bytes') } })
  t.equal(ok.statusCode, 201)
  const bad = form('M-2')
  const refused = await app.inject({ method: 'POST', url: '/v1/documents', payload: bad.payload, headers: { ...bad.headers, 'repr-digest': digest('other') } })
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().code, 'DigestMismatch')
  t.same(await readdir(join(baseDir, 'local_upload')), ['M-1'])
  t.same(await leftovers(baseDir), [])
})

t.test('size checks: 413 up front from Content-Length and while streaming a chunked body; 400 for bad ids', async (t) => {
  const { app, baseDir } = await buildTestApp(t, { STAGING_MAX_DOCUMENT_MB: '0.01' })
  const big = Buffer.alloc(20_000, 1)
  const declared = await app.inject({ method: 'PUT', url: '/v1/staging/http/S-1', payload: big })
  t.equal(declared.statusCode, 413)
  t.equal(declared.json().code, 'PayloadTooLarge')
  const badId = await app.inject({ method: 'PUT', url: '/v1/staging/http/..%2Fetc', payload: 'x' })
  t.equal(badId.statusCode, 400)
  const badSource = await app.inject({ method: 'PUT', url: '/v1/staging/ftp/X-1', payload: 'x' })
  t.equal(badSource.statusCode, 400)

  // A chunked body has no Content-Length: the meter refuses it once it passes the cap.
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/v1/staging/http/S-2', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    for (let i = 0; i < 5; i++) req.write(Buffer.alloc(4096, i))
    req.end()
  })
  t.equal(status, 413)
  t.same(await readdir(baseDir).then((n) => n.filter((x) => !['.tmp', '.lock', '.events'].includes(x))), [], 'nothing stored')
  t.same(await leftovers(baseDir), [])
})

t.test('a chunked body of several MiB streams through a real socket intact', async (t) => {
  const { app } = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const body = randomBytes(6 * 1024 * 1024)
  const answer = await new Promise<{ status: number; json: { sha256: string; file_size_bytes: number; file_path: string } }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/v1/staging/http/BIG-1', headers: { 'content-type': 'application/zip', 'repr-digest': digest(body) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
    })
    req.on('error', reject)
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024))
    req.end()
  })
  t.equal(answer.status, 201)
  t.equal(answer.json.sha256, sha(body))
  t.equal(answer.json.file_size_bytes, body.length)
  t.equal(sha(await readFile(answer.json.file_path)), sha(body))
})
