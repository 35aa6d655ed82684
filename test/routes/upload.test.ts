import { createHash } from 'node:crypto'
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, multipartBody, upload } from '../helper.js'

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

t.test('an upload is staged whole with its hash, and answers 201 with Location', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const res = await upload(app, 'DOC-123', 'hello pdf', { filename: 'invoice.pdf' })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/v1/staging/local_upload/DOC-123')
  const record = res.json()
  t.match(record, {
    document_id: 'DOC-123',
    source: 'local_upload',
    kind: 'document',
    status: 'active',
    filename: 'invoice.pdf',
    original_filename: 'invoice.pdf',
    content_type: 'application/pdf',
    file_size_bytes: 9,
    sha256: sha('hello pdf'),
    source_location: null,
    error: null,
    expires_at: null
  })
  t.equal(record.file_path, join(baseDir, 'local_upload', 'DOC-123', 'invoice.pdf'))
  t.equal(await readFile(record.file_path, 'utf8'), 'hello pdf')
  const meta = JSON.parse(await readFile(join(baseDir, 'local_upload', 'DOC-123', '.metadata.json'), 'utf8'))
  t.same(meta, record)
  t.same(await readdir(join(baseDir, '.tmp')), [], 'no temp leftovers')
})

const leftovers = async (baseDir: string) => readdir(join(baseDir, '.tmp'))

t.test('repeat and overwrite rules', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const first = await upload(app, 'DOC-1', 'version one')
  t.equal(first.statusCode, 201)

  const same = await upload(app, 'DOC-1', 'version one')
  t.equal(same.statusCode, 200, 'identical bytes of an active item answer 200')
  t.same(same.json(), first.json(), 'with the existing record')

  const other = await upload(app, 'DOC-1', 'version two')
  t.equal(other.statusCode, 409)
  t.equal(other.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(other.json(), { code: 'Conflict', status: 409, retryable: false })

  const replaced = await upload(app, 'DOC-1', 'version two', { overwrite: true, filename: 'v2.pdf' })
  t.equal(replaced.statusCode, 201)
  t.equal(replaced.json().sha256, sha('version two'))
  t.same(await readdir(join(baseDir, 'local_upload', 'DOC-1')).then((n) => n.sort()), ['.metadata.json', 'v2.pdf'], 'old file gone')

  const patched = await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/DOC-1', payload: { status: 'failed' } })
  t.equal(patched.statusCode, 200)
  const again = await upload(app, 'DOC-1', 'version two')
  t.equal(again.statusCode, 409, 'identical bytes of a failed item are a conflict')
  t.same(await leftovers(baseDir), [])
})

t.test('the same id under another source is another item', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal((await upload(app, 'DOC-1', 'a')).statusCode, 201)
  const res = await upload(app, 'DOC-1', 'b', { source: 'frontapp' })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/v1/staging/frontapp/DOC-1')
})

t.test('bad input is refused with the field named and nothing left behind', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  for (const id of ['../etc', '.hidden', '-dash', 'a/b', 'x'.repeat(129), '']) {
    const res = await upload(app, id, 'data')
    t.equal(res.statusCode, 400, `id ${JSON.stringify(id)}`)
    t.match(res.json(), { code: 'ValidationError', errors: [{ field: 'body.document_id' }] })
  }
  const badSource = await upload(app, 'DOC-2', 'data', { source: 'ftp' })
  t.match(badSource.json(), { code: 'ValidationError', errors: [{ field: 'body.source' }] })

  const noFile = multipartBody({ document_id: 'DOC-3' })
  const res = await app.inject({ method: 'POST', url: '/v1/documents', payload: noFile.payload, headers: noFile.headers })
  t.match(res.json(), { status: 400, code: 'ValidationError', detail: /body\.file/ })

  const wrongPart = multipartBody({ document_id: 'DOC-4' }, { name: 'attachment', filename: 'a.txt', content: 'x' })
  const res2 = await app.inject({ method: 'POST', url: '/v1/documents', payload: wrongPart.payload, headers: wrongPart.headers })
  t.match(res2.json(), { status: 400, code: 'ValidationError' })

  // Fields after the file: the id is only known once the bytes are on disk; still nothing is kept.
  const late = multipartBody({}, { filename: 'a.txt', content: 'late' })
  const latePayload = Buffer.concat([
    late.payload.subarray(0, late.payload.length - Buffer.byteLength('------staging-test-boundary-7f3a--\r\n')),
    Buffer.from('------staging-test-boundary-7f3a\r\nContent-Disposition: form-data; name="document_id"\r\n\r\n../x\r\n------staging-test-boundary-7f3a--\r\n')
  ])
  const res3 = await app.inject({ method: 'POST', url: '/v1/documents', payload: latePayload, headers: { 'content-type': late.headers['content-type'] as string } })
  t.match(res3.json(), { status: 400, errors: [{ field: 'body.document_id' }] })

  const text = await app.inject({ method: 'POST', url: '/v1/documents', payload: 'hello', headers: { 'content-type': 'text/plain' } })
  t.equal(text.statusCode, 415)
  t.match(text.json(), { code: 'UnsupportedMediaType', retryable: false })

  const list = await app.inject({ method: 'GET', url: '/v1/staging' })
  t.same(list.json().items, [], 'nothing staged')
  t.same(await leftovers(baseDir), [])
  t.same((await readdir(baseDir)).filter((n) => n !== '.lock' && n !== '.events'), ['.tmp'])
})

t.test('stored filenames are sanitised and the given name is kept', async (t) => {
  const { app } = await buildTestApp(t)
  const cases: [string, string][] = [
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\report.pdf', 'report.pdf'],
    ['.metadata.json', 'metadata.json'],
    ['.bashrc', 'bashrc'],
    ['a\u0001b.txt', 'ab.txt'],
    ['..', 'document.bin']
  ]
  let n = 0
  for (const [given, stored] of cases) {
    const res = await upload(app, `DOC-${n++}`, 'x', { filename: given })
    t.equal(res.statusCode, 201, given)
    t.equal(res.json().filename, stored, `${given} is stored as ${stored}`)
    t.equal(res.json().original_filename, given)
  }
})

t.test('the per-item cap answers 413 up front and while streaming, leaving nothing', async (t) => {
  const { app, baseDir } = await buildTestApp(t, { STAGING_MAX_DOCUMENT_MB: '0.01' }) // 10485 bytes
  const big = Buffer.alloc(200 * 1024, 7)
  const upFront = await upload(app, 'BIG-1', big)
  t.equal(upFront.statusCode, 413)
  t.match(upFront.json(), { code: 'PayloadTooLarge', retryable: false })

  // No usable Content-Length: the meter stops it while streaming.
  const justOver = Buffer.alloc(10486, 1)
  const body = multipartBody({ document_id: 'BIG-2' }, { filename: 'big.bin', content: justOver })
  const streamed = await app.inject({
    method: 'POST',
    url: '/v1/documents',
    payload: body.payload,
    headers: { 'content-type': body.headers['content-type'] as string, 'transfer-encoding': 'chunked' }
  })
  t.equal(streamed.statusCode, 413)
  t.match(streamed.json(), { code: 'PayloadTooLarge' })

  const exact = await upload(app, 'FITS', Buffer.alloc(10485, 2))
  t.equal(exact.statusCode, 201, 'exactly the cap fits')
  t.same(await leftovers(baseDir), [])
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.equal(stats.disk_usage.total_bytes, 10485)
  t.equal(stats.quota.reserved_bytes, 0, 'refused uploads hold no quota')
})

t.test('the quota answers 507 and concurrent uploads cannot overshoot it', async (t) => {
  // 1 MiB quota, 300 KiB files: at most three fit.
  const { app, baseDir } = await buildTestApp(t, { STAGING_MAX_SIZE_GB: String(1 / 1024) })
  const file = (i: number) => Buffer.alloc(300 * 1024, i)
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => {
      const body = multipartBody({ document_id: `Q-${i}` }, { filename: 'q.bin', content: file(i) })
      // Chunked, so the up-front check cannot see the size and only the streaming reservation decides.
      return app.inject({
        method: 'POST',
        url: '/v1/documents',
        payload: body.payload,
        headers: { 'content-type': body.headers['content-type'] as string, 'transfer-encoding': 'chunked' }
      })
    })
  )
  const codes = results.map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 201).length, 3, `three fit: ${codes.join(',')}`)
  t.equal(codes.filter((c) => c === 507).length, 5)
  for (const r of results.filter((r) => r.statusCode === 507)) t.match(r.json(), { code: 'QuotaExceeded', retryable: true })
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.equal(stats.disk_usage.total_bytes, 3 * 300 * 1024)
  t.ok(stats.disk_usage.total_bytes <= 1024 * 1024)
  t.equal(stats.quota.reserved_bytes, 0)
  t.same(await leftovers(baseDir), [])

  const upFront = await upload(app, 'Q-9', file(9))
  t.equal(upFront.statusCode, 507, 'Content-Length over the remaining quota is refused up front')
})

t.test('an upload broken off mid-stream leaves nothing and holds no quota', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const { connect } = await import('node:net')
  const boundary = 'xyzzy'
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nBROKEN\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(
    `POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${head}`
  )
  socket.write(Buffer.alloc(256 * 1024, 3))
  // Wait until the server has a draft on disk, then cut the connection.
  for (let i = 0; i < 200 && (await leftovers(baseDir)).length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal((await leftovers(baseDir)).length, 1, 'a draft was being written')
  socket.destroy()
  for (let i = 0; i < 300 && (await leftovers(baseDir)).length > 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.same(await leftovers(baseDir), [], 'the draft is gone')
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.equal(stats.total_documents, 0)
  t.equal(stats.quota.reserved_bytes, 0)
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/BROKEN' })).statusCode, 404)
  await stat(join(baseDir, 'local_upload', 'BROKEN')).then(
    () => t.fail('item directory exists'),
    () => t.pass('no item directory')
  )
})
