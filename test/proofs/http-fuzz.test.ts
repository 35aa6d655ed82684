// Property-based fuzzing of the HTTP surface (fast-check): 10k+ generated requests (ids, filenames,
// queries, headers, bodies, multipart shapes) give 0 answers >= 500, every error is problem+json with a
// catalogue code, and nothing is written outside the base directory.
import { mkdir, readdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { ERROR_CODES } from '../../src/errors.js'
import { buildTestApp, tempDir } from '../helper.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)
const SOURCES = ['local_upload', 'frontapp', 'samsara', 'turvo', 'http', 'https']

const validId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
const anyText = fc.string({ unit: 'binary', maxLength: 160 })
const id = fc.oneof(validId, anyText, fc.constantFrom('..', '.', '%2e%2e', '%FF', 'a/b', 'x'.repeat(129), '', ' '))
const source = fc.oneof(fc.constantFrom(...SOURCES), anyText)
const seg = (s: string, raw: boolean) => (raw ? s : encodeURIComponent(s))

const path = fc.tuple(source, id, fc.boolean(), fc.constantFrom('', '/content', '/cleanup', '/x', '/')).map(([s, i, raw, tail]) => `/v1/staging/${seg(s, raw)}/${seg(i, raw)}${tail}`)
const fixedPath = fc.constantFrom('/v1/documents', '/v1/structured', '/v1/staging', '/v1/cleanup', '/v1/stats', '/healthz', '/readyz', '/metrics', '/v1/webhooks/frontapp', '/nope', '//v1//documents', '/v1/documents/')
const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'source', 'kind', 'dry_run', 'x'), anyText, { maxKeys: 3 })
  .map((q) => Object.entries(q).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'))

const contentType = fc.oneof(
  fc.constantFrom('application/json', 'multipart/form-data; boundary=fz', 'multipart/form-data', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-16', ''),
  fc.string({ maxLength: 60 })
)
const jsonBody = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.record({ document_id: id, source, source_location: fc.oneof(anyText, fc.constant('http://127.0.0.1:9/x'), fc.constant('{"id":"e1"}'), fc.constant('/fleet/vehicles')), filename: fc.option(anyText), overwrite: fc.option(fc.boolean()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ data_id: id, source, source_location: fc.oneof(anyText, fc.constant('{"a":1}'), fc.constant('/fleet/x?y=1')), auth_token: fc.option(anyText) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ status: fc.oneof(fc.constantFrom('active', 'success', 'failed'), anyText), error: fc.option(anyText) }, { requiredKeys: [] }).map((o) => JSON.stringify(o))
)
const multipart = fc.record({
  fields: fc.dictionary(fc.constantFrom('document_id', 'source', 'overwrite', 'x', 'file'), fc.oneof(validId, anyText), { maxKeys: 4 }),
  filename: fc.oneof(anyText, fc.constantFrom('../../etc/passwd', '.metadata.json', 'C:\\x\\y.pdf', '\u202Egnp.exe', '😀'.repeat(90))),
  partName: fc.constantFrom('file', 'file', 'other'),
  content: fc.uint8Array({ maxLength: 4096 }),
  cut: fc.option(fc.nat({ max: 400 }))
}).map(({ fields, filename, partName, content, cut }) => {
  const b = 'fz'
  const parts = Object.entries(fields).map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
  const head = `--${b}\r\nContent-Disposition: form-data; name="${partName}"; filename="${filename.replace(/"/g, '')}"\r\nContent-Type: application/pdf\r\n\r\n`
  const body = Buffer.concat([Buffer.from(parts.join('') + head), Buffer.from(content), Buffer.from(`\r\n--${b}--\r\n`)])
  return cut === null ? body : body.subarray(0, Math.max(0, body.length - cut))
})

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'),
  url: fc.tuple(fc.oneof(path, fixedPath), query).map(([p, q]) => (q ? `${p}?${q}` : p)),
  contentType,
  headers: fc.dictionary(fc.constantFrom('authorization', 'range', 'if-none-match', 'x-request-id', 'x-front-signature', 'x-front-request-timestamp', 'accept'), fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), { maxKeys: 3 }),
  body: fc.oneof(fc.constant(undefined), jsonBody, multipart, anyText)
})

t.test(`${RUNS} generated requests: no 5xx, every error problem+json, no write outside the base dir`, async (t) => {
  t.setTimeout(900_000)
  // Upstreams are a local fake that answers every path with a small JSON page: no traffic leaves loopback.
  const upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"id":"u1"}'))
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  t.teardown(() => upstream.close())
  const origin = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`
  const parent = await tempDir(t)
  const baseDir = join(parent, 'base')
  await mkdir(baseDir)
  const { app } = await buildTestApp(
    t,
    { STAGING_BASE_DIR: baseDir, FRONTAPP_BASE_URL: origin, SAMSARA_BASE_URL: origin, TURVO_BASE_URL: origin, STAGING_UPSTREAM_RETRIES: '0', STAGING_MAX_DOCUMENT_MB: '1' },
    // Every pulled host resolves to loopback, which the SSRF guard refuses: no request leaves the machine.
    { lookup: ((_host: string, _opts: unknown, cb: (err: null, address: string, family: number) => void) => cb(null, '127.0.0.1', 4)) as never }
  )
  let sent = 0
  const statuses = new Map<number, number>()
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      let res
      try {
        res = await app.inject({
          method: r.method as 'GET',
          url: r.url,
          headers: { ...r.headers, ...(r.contentType ? { 'content-type': r.contentType } : {}) },
          ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { payload: r.body } : {})
        })
      } catch (err) {
        // light-my-request itself refuses some generated URLs/headers before any server code runs.
        if (err instanceof TypeError || (err as { code?: string }).code?.startsWith('ERR_')) return
        throw err
      }
      sent++
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode >= 500) throw new Error(`${r.method} ${r.url} -> ${res.statusCode} ${res.body.slice(0, 300)}`)
      if (res.statusCode >= 400 && r.method !== 'HEAD') {
        if (!/^application\/problem\+json/.test(String(res.headers['content-type']))) throw new Error(`${r.method} ${r.url} -> ${res.statusCode} not problem+json`)
        const problem = res.json() as { code: string; retryable: unknown }
        if (!ERROR_CODES.includes(problem.code as never) || typeof problem.retryable !== 'boolean') throw new Error(`bad problem ${res.body}`)
      }
    }),
    { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 9) }
  )
  t.comment(`answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
  t.ok(sent >= RUNS * 0.95, `${sent} requests reached the service`)
  t.same(await readdir(parent), ['base'], 'nothing written beside the base directory')
  const top = (await readdir(baseDir)).filter((n) => !['.tmp', '.lock', '.events', ...SOURCES].includes(n))
  t.same(top, [], 'only sources, .tmp, .lock and .events at the top of the tree')
  t.same(await readdir(join(baseDir, '.tmp')), [], 'no draft left over')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'no quota held')
})
