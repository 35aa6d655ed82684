// http/https pulls into the store: names, types, retries, timeouts, caps, repeats, nothing left on failure.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { LookupFunction } from 'node:net'
import t from 'tap'
import { fakeUpstream } from '../upstream/fake-upstream.js'
import { buildTestApp } from '../helper.js'
import { assertNothingLeft, fakeDns, pull, pullApp } from './pull-helper.js'

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex')

t.test('a URL is fetched into the store with its hash, name and type; source_location has no credentials', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': `attachment; filename="plain.pdf"; filename*=UTF-8''%E2%82%AC%20rates.pdf` })
    res.end('%PDF-1.7 body')
  })
  const { app, baseDir } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort })
  const res = await pull(app, { document_id: 'URL-1', source: 'http', source_location: `http://alice:pa%3Ass@${up.hostPort}/files/x.bin?sig=abc&page=2#frag` })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/v1/staging/http/URL-1')
  const record = res.json()
  t.match(record, {
    source: 'http',
    filename: '€ rates.pdf',
    original_filename: '€ rates.pdf',
    content_type: 'application/pdf',
    file_size_bytes: 13,
    sha256: sha('%PDF-1.7 body'),
    source_location: `http://${up.hostPort}/files/x.bin?sig=redacted&page=2`
  })
  t.equal(await readFile(record.file_path, 'utf8'), '%PDF-1.7 body')
  t.equal(up.requests[0]?.headers.authorization, `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`, 'userinfo is sent as Basic auth')
  t.equal(up.requests[0]?.url, '/files/x.bin?sig=abc&page=2')
  t.notMatch(JSON.stringify(record), /alice|pa%3Ass|abc/)
  await assertNothingLeft(t, app, baseDir, 'http', 'NOT-THERE')
})

t.test('filename: Content-Disposition, else the URL path, else document.bin; a given filename wins', async (t) => {
  const up = await fakeUpstream(t, (req, res) => {
    if (req.url === '/named') res.setHeader('content-disposition', 'inline; filename="../../etc/report.csv"')
    res.end('data')
  })
  const { app } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort })
  const cases = [
    ['/named', undefined, 'report.csv', '../../etc/report.csv'],
    ['/dir/scan%20001.tiff', undefined, 'scan 001.tiff', 'scan 001.tiff'],
    ['/', undefined, 'document.bin', null],
    ['/named', 'given.txt', 'given.txt', 'given.txt']
  ] as const
  for (const [i, [path, filename, stored, original]] of cases.entries()) {
    const res = await pull(app, { document_id: `NAME-${i}`, source: 'http', source_location: `${up.origin}${path}`, ...(filename ? { filename } : {}) })
    t.equal(res.statusCode, 201)
    t.equal(res.json().filename, stored)
    t.equal(res.json().original_filename, original)
  }
})

t.test('500 then 200 is retried; 429 waits the fractional Retry-After (clamped); 404 is 422', async (t) => {
  const up = await fakeUpstream(t, (req, res, n) => {
    if (req.url === '/flaky' && n === 1) return void res.writeHead(500).end()
    if (req.url === '/limited' && n === 3) return void res.writeHead(429, { 'retry-after': '0.025' }).end()
    if (req.url === '/gone') return void res.writeHead(404).end()
    res.end('fine')
  })
  const { app, baseDir, delays } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort })
  t.equal((await pull(app, { document_id: 'FLAKY', source: 'http', source_location: `${up.origin}/flaky` })).statusCode, 201)
  t.equal((await pull(app, { document_id: 'LIMITED', source: 'http', source_location: `${up.origin}/limited` })).statusCode, 201)
  t.equal(delays[1], 25, 'the Retry-After of 0.025 s was honoured')
  const gone = await pull(app, { document_id: 'GONE', source: 'http', source_location: `${up.origin}/gone` })
  t.equal(gone.statusCode, 422)
  t.match(gone.json(), { code: 'UpstreamRejected', retryable: false })
  await assertNothingLeft(t, app, baseDir, 'http', 'GONE')
})

t.test('a stalled body is a 504 and leaves nothing behind', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' })
    res.write('a start')
  })
  const { app, baseDir } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort, STAGING_UPSTREAM_TIMEOUT_MS: '200' })
  const res = await pull(app, { document_id: 'STALL', source: 'http', source_location: up.origin })
  t.equal(res.statusCode, 504)
  t.match(res.json(), { code: 'FetchError', retryable: true })
  await assertNothingLeft(t, app, baseDir, 'http', 'STALL')
})

t.test('over the per-item cap: 413 up front from Content-Length, and while streaming a chunked body', async (t) => {
  const up = await fakeUpstream(t, (req, res) => {
    const big = Buffer.alloc(4096, 1)
    if (req.url === '/declared') return void res.writeHead(200, { 'content-length': String(big.length) }).end(big)
    res.write(big.subarray(0, 1000))
    res.end(big.subarray(1000))
  })
  const { app, baseDir } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort, STAGING_MAX_DOCUMENT_MB: '0.002' })
  for (const id of ['declared', 'chunked']) {
    const res = await pull(app, { document_id: id, source: 'http', source_location: `${up.origin}/${id}` })
    t.equal(res.statusCode, 413, id)
    t.equal(res.json().code, 'PayloadTooLarge')
    await assertNothingLeft(t, app, baseDir, 'http', id)
  }
})

t.test('over the quota: 507 up front from Content-Length', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => void res.writeHead(200, { 'content-length': '3000' }).end(Buffer.alloc(3000)))
  const { app, baseDir } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort, STAGING_MAX_SIZE_GB: String(2000 / 1024 ** 3) })
  const res = await pull(app, { document_id: 'QUOTA', source: 'http', source_location: up.origin })
  t.equal(res.statusCode, 507)
  await assertNothingLeft(t, app, baseDir, 'http', 'QUOTA')
})

t.test('repeat rules: same bytes 200, different bytes 409 unless overwrite', async (t) => {
  let body = 'version one'
  const up = await fakeUpstream(t, (_req, res) => void res.end(body))
  const { app } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort })
  const req = { document_id: 'REPEAT', source: 'http', source_location: `${up.origin}/doc.txt` }
  t.equal((await pull(app, req)).statusCode, 201)
  t.equal((await pull(app, req)).statusCode, 200)
  body = 'version two'
  t.equal((await pull(app, req)).statusCode, 409)
  const replaced = await pull(app, { ...req, overwrite: true })
  t.equal(replaced.statusCode, 201)
  t.equal(replaced.json().sha256, sha('version two'))
})

t.test('https pulls work end to end (loopback fake with a test CA)', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => void res.end('secure bytes'), { tls: true })
  const { app } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: up.hostPort })
  const res = await pull(app, { document_id: 'TLS', source: 'https', source_location: `${up.origin}/s.txt` })
  t.equal(res.statusCode, 201)
  t.equal(res.json().sha256, sha('secure bytes'))
})

t.test('a DNS failure is retried (its FetchError says retryable, so it must be): ENOTFOUND once, then the answer', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => void res.end('resolved'))
  const port = new URL(up.origin).port
  const known = fakeDns({ 'files.test': '127.0.0.1' }) as unknown as (...args: unknown[]) => void
  let failures = 1
  let downAsked = 0
  const flaky = ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    if (hostname === 'down.test') downAsked++
    if (hostname === 'down.test' || failures-- > 0) return process.nextTick(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })))
    return known(hostname, options, callback)
  }) as unknown as LookupFunction
  const { app } = await buildTestApp(t, { STAGING_HTTP_ALLOW_HOSTS: `files.test:${port},down.test`, STAGING_UPSTREAM_RETRIES: '2' }, { lookup: flaky, upstream: { sleep: async () => undefined } })
  const res = await pull(app, { document_id: 'DNS-1', source: 'http', source_location: `http://files.test:${port}/x.txt` })
  t.equal(res.statusCode, 201, 'the second attempt resolves and the pull succeeds')
  t.equal(failures, -1, 'the resolver was asked twice')

  const down = await pull(app, { document_id: 'DNS-2', source: 'http', source_location: `http://down.test:${port}/x.txt` })
  t.equal(down.statusCode, 502)
  t.match(down.json(), { code: 'FetchError', retryable: true })
  t.equal(downAsked, 3, 'one attempt and two retries')
})
