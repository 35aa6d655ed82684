import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { silentObserver } from '../../src/staging/observer.js'
import { fakeSamsara, SAMSARA_TOKEN, samsaraError, sendJson } from '../fakes/samsara-server.js'
import { buildTestApp, type TapLike } from '../helper.js'
import { canary, closedPort, fakeUpstream } from '../upstream/fake-upstream.js'

const noWait = { sleep: async () => undefined }

function post(body: Record<string, unknown>) {
  return { method: 'POST' as const, url: '/v1/structured', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }
}

async function samsaraApp(t: TapLike, origin: string, env: Record<string, string> = {}, deps = {}) {
  return buildTestApp(t, { SAMSARA_BASE_URL: origin, SAMSARA_API_TOKEN: SAMSARA_TOKEN, ...env }, { upstream: noWait, ...deps })
}

const PAGES = [
  [{ id: 'v1', gps: { latitude: 52.1 } }, { id: 'v2', gps: { latitude: 52.2 } }],
  [{ id: 'v3', gps: { latitude: 52.3 } }],
  [{ id: 'v4', gps: { latitude: 52.4 } }, { id: 'v5', gps: { latitude: 52.5 } }]
]

t.test('a Samsara list of 3 pages is staged as one data.json holding every page\'s data', async (t) => {
  const samsara = await fakeSamsara(t, PAGES)
  const fetched: string[] = []
  const { app, baseDir } = await samsaraApp(t, samsara.origin, {}, { observer: { ...silentObserver, structuredFetched: (s: string) => fetched.push(s) } })
  const res = await app.inject(post({ data_id: 'fleet-2026-01-05', source: 'samsara', source_location: '/fleet/vehicles/stats?types=gps&limit=2' }))
  t.equal(res.statusCode, 201)
  const record = res.json()
  t.match(record, {
    document_id: 'fleet-2026-01-05',
    source: 'samsara',
    kind: 'structured',
    filename: 'data.json',
    content_type: 'application/json',
    source_location: `${samsara.origin}/fleet/vehicles/stats?types=gps&limit=2`
  })
  const stored = JSON.parse(await readFile(join(baseDir, 'samsara', 'fleet-2026-01-05', 'data.json'), 'utf8'))
  t.same(stored, { data: PAGES.flat(), pagination: { endCursor: '', hasNextPage: false } })

  t.same(samsara.requests.map((r) => r.url), [
    '/fleet/vehicles/stats?types=gps&limit=2',
    '/fleet/vehicles/stats?types=gps&limit=2&after=cur-1',
    '/fleet/vehicles/stats?types=gps&limit=2&after=cur-2'
  ], 'the other parameters are kept on every page')
  t.ok(samsara.requests.every((r) => r.headers.authorization === `Bearer ${SAMSARA_TOKEN}`))
  t.same(fetched, ['samsara'])
})

t.test('a repeated cursor stops the walk; the page limit stops an endless list', async (t) => {
  const looping = await fakeUpstream(t, (_req, res, n) => sendJson(res, 200, { data: [n], pagination: { endCursor: 'same', hasNextPage: true } }))
  const { app } = await samsaraApp(t, looping.origin)
  const res = await app.inject(post({ data_id: 'loop', source: 'samsara', source_location: '/fleet/drivers' }))
  t.equal(res.statusCode, 201)
  t.equal(looping.requests.length, 2, 'the cursor came back once, then the walk stopped')

  const endless = await fakeUpstream(t, (req, res, n) => sendJson(res, 200, { data: [n], pagination: { endCursor: `c${n}`, hasNextPage: true } }))
  const second = await samsaraApp(t, endless.origin)
  const capped = await second.app.inject(post({ data_id: 'endless', source: 'samsara', source_location: '/fleet/drivers' }))
  t.equal(capped.statusCode, 201)
  t.equal(endless.requests.length, 100)
  const stored = JSON.parse(await readFile(capped.json().file_path, 'utf8'))
  t.equal(stored.data.length, 100)
  t.same(stored.pagination, { endCursor: 'c100', hasNextPage: true }, 'the cut-off shows in the stored pagination')
})

t.test('a document that is not a list is stored as it came', async (t) => {
  const samsara = await fakeUpstream(t, (_req, res) => sendJson(res, 200, { data: { id: 'v1', name: 'Truck 1' } }))
  const { app } = await samsaraApp(t, samsara.origin)
  const res = await app.inject(post({ data_id: 'truck-1', source: 'samsara', source_location: `${samsara.origin}/fleet/vehicles/v1` }))
  t.equal(res.statusCode, 201, 'an absolute URL on the configured origin is fine')
  t.same(JSON.parse(await readFile(res.json().file_path, 'utf8')), { data: { id: 'v1', name: 'Truck 1' } })
})

t.test('auth_token wins over the configured token and is never stored, answered or logged', async (t) => {
  const callerToken = 'caller-token-5544332211'
  const samsara = await fakeSamsara(t, [[{ id: 'v1' }]], { tokens: [callerToken] })
  const lines: string[] = []
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const { app, baseDir } = await samsaraApp(t, samsara.origin, {}, { logger: pino({ level: 'trace' }, sink) })
  const res = await app.inject(post({ data_id: 'with-token', source: 'samsara', source_location: '/fleet/vehicles?access_token=leak&types=gps', auth_token: callerToken }))
  t.equal(res.statusCode, 201)
  t.equal(samsara.requests[0]?.headers.authorization, `Bearer ${callerToken}`)
  t.equal(res.json().source_location, `${samsara.origin}/fleet/vehicles?types=gps`, 'credential-like parameters are not recorded')
  const metadata = await readFile(join(baseDir, 'samsara', 'with-token', '.metadata.json'), 'utf8')
  for (const text of [res.body, metadata, lines.join('')]) {
    t.notMatch(text, callerToken)
    t.notMatch(text, SAMSARA_TOKEN)
  }
  t.ok(lines.length > 0, 'the log was captured')
})

t.test('no token at all is 422 MissingAuthentication and nothing is sent', async (t) => {
  const samsara = await fakeSamsara(t, [[]])
  const { app } = await buildTestApp(t, { SAMSARA_BASE_URL: samsara.origin })
  const res = await app.inject(post({ data_id: 'no-token', source: 'samsara', source_location: '/fleet/drivers' }))
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'MissingAuthentication', retryable: false })
  t.equal(samsara.requests.length, 0)
})

t.test('a URL off the configured origin is 403 SourceNotAllowed and never reached', async (t) => {
  const samsara = await fakeSamsara(t, [[]])
  const other = await canary(t)
  const { app } = await samsaraApp(t, samsara.origin)
  const targets = [
    `${other.origin}/fleet/drivers`,
    `//${other.hostPort}/fleet/drivers`,
    `http://localhost:${samsara.port}/fleet/drivers`,
    `file:///etc/passwd`
  ]
  for (const source_location of targets) {
    const res = await app.inject(post({ data_id: 'off-origin', source: 'samsara', source_location, auth_token: 'caller-token-1' }))
    t.equal(res.statusCode, 403, source_location)
    t.equal(res.json().code, 'SourceNotAllowed')
  }
  t.equal(other.connections, 0)
  t.equal(samsara.requests.length, 0)
})

t.test('upstream refusals and failures map to the catalogue', async (t) => {
  const cases: { name: string; answer: (res: import('node:http').ServerResponse) => void; status: number; code: string }[] = [
    { name: '401', answer: (res) => samsaraError(res, 401, 'Unauthorized'), status: 422, code: 'UpstreamRejected' },
    { name: '404', answer: (res) => samsaraError(res, 404, 'Not found'), status: 422, code: 'UpstreamRejected' },
    { name: '500', answer: (res) => samsaraError(res, 500, 'boom'), status: 502, code: 'FetchError' },
    { name: '429', answer: (res) => samsaraError(res, 429, 'slow down'), status: 502, code: 'FetchError' },
    { name: 'not JSON', answer: (res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>maintenance</html>') }, status: 422, code: 'InvalidJSON' }
  ]
  for (const c of cases) {
    const samsara = await fakeUpstream(t, (_req, res) => c.answer(res))
    const { app, baseDir } = await samsaraApp(t, samsara.origin)
    const res = await app.inject(post({ data_id: 'failing', source: 'samsara', source_location: '/fleet/drivers' }))
    t.equal(res.statusCode, c.status, c.name)
    t.equal(res.json().code, c.code, c.name)
    t.same((await readdir(baseDir)).filter((n) => n !== '.lock' && n !== '.events'), ['.tmp'], `${c.name}: nothing left behind`)
  }
})

t.test('a network failure is 502 and a timeout 504, both retryable FetchError', async (t) => {
  const port = await closedPort()
  const refused = await samsaraApp(t, `http://127.0.0.1:${port}`, { STAGING_UPSTREAM_RETRIES: '1' })
  const a = await refused.app.inject(post({ data_id: 'refused', source: 'samsara', source_location: '/fleet/drivers' }))
  t.equal(a.statusCode, 502)
  t.match(a.json(), { code: 'FetchError', retryable: true })

  const silent = await fakeUpstream(t, () => undefined)
  const slow = await samsaraApp(t, silent.origin, { STAGING_UPSTREAM_TIMEOUT_MS: '200', STAGING_UPSTREAM_RETRIES: '0' })
  const b = await slow.app.inject(post({ data_id: 'slow', source: 'samsara', source_location: '/fleet/drivers' }))
  t.equal(b.statusCode, 504)
  t.match(b.json(), { code: 'FetchError', retryable: true })
})

t.test('a fractional Retry-After on a 429 is waited out, then the page is fetched', async (t) => {
  const waits: number[] = []
  const samsara = await fakeSamsara(t, PAGES, {
    before: (_req, res, n) => {
      if (n !== 2) return false
      sendJson(res, 429, { message: 'Rate limit exceeded', requestId: 'r-429' }, { 'retry-after': '0.40235' })
      return true
    }
  })
  const { app } = await samsaraApp(t, samsara.origin, {}, { upstream: { sleep: async (ms: number) => { waits.push(ms) } } })
  const res = await app.inject(post({ data_id: 'rate-limited', source: 'samsara', source_location: '/fleet/drivers' }))
  t.equal(res.statusCode, 201)
  t.same(waits, [403], 'Retry-After 0.40235 s waited as 403 ms, once')
  t.same(samsara.requests.map((r) => r.url), ['/fleet/drivers', '/fleet/drivers?after=cur-1', '/fleet/drivers?after=cur-1', '/fleet/drivers?after=cur-2'])
  t.equal(JSON.parse(await readFile(res.json().file_path, 'utf8')).data.length, 5)
})

t.test('repeat, Conflict and overwrite, as for documents', async (t) => {
  let version = 1
  const samsara = await fakeUpstream(t, (_req, res) => sendJson(res, 200, { data: [{ v: version }], pagination: { endCursor: '', hasNextPage: false } }))
  const { app } = await samsaraApp(t, samsara.origin)
  const body = { data_id: 'drivers', source: 'samsara', source_location: '/fleet/drivers' }
  t.equal((await app.inject(post(body))).statusCode, 201)
  t.equal((await app.inject(post(body))).statusCode, 200, 'the same JSON again answers the existing record')
  version = 2
  const conflict = await app.inject(post(body))
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().code, 'Conflict')
  t.equal((await app.inject(post({ ...body, overwrite: true }))).statusCode, 201)
})

t.test('too large for the item cap is 413, over the quota 507, and nothing is left', async (t) => {
  const big = Array.from({ length: 50 }, (_, i) => ({ id: `vehicle-${i}`, note: 'x'.repeat(40) }))
  const samsara = await fakeSamsara(t, [big.slice(0, 25), big.slice(25)])
  const capped = await samsaraApp(t, samsara.origin, { STAGING_MAX_DOCUMENT_MB: '0.002' })
  const a = await capped.app.inject(post({ data_id: 'big', source: 'samsara', source_location: '/fleet/vehicles' }))
  t.equal(a.statusCode, 413)
  t.equal(a.json().code, 'PayloadTooLarge')
  t.same((await readdir(capped.baseDir)).filter((n) => n !== '.lock' && n !== '.events'), ['.tmp'])

  const full = await samsaraApp(t, samsara.origin, { STAGING_MAX_SIZE_GB: '0.000002' })
  const b = await full.app.inject(post({ data_id: 'big', source: 'samsara', source_location: '/fleet/vehicles' }))
  t.equal(b.statusCode, 507)
  t.equal(b.json().code, 'QuotaExceeded')
  t.same((await readdir(full.baseDir)).filter((n) => n !== '.lock' && n !== '.events'), ['.tmp'])
})

t.test('auth_token with spaces or control characters is a ValidationError', async (t) => {
  const samsara = await fakeSamsara(t, [[]])
  const { app } = await samsaraApp(t, samsara.origin)
  const res = await app.inject(post({ data_id: 'bad-token', source: 'samsara', source_location: '/fleet/drivers', auth_token: 'abc\r\nx-evil: 1' }))
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'ValidationError')
  t.equal(samsara.requests.length, 0)
})

t.test('a blank auth_token falls back to the configured token', async (t) => {
  const samsara = await fakeSamsara(t, [[{ id: 'v1' }]])
  const { app } = await samsaraApp(t, samsara.origin)
  for (const [i, blank] of ['', '   '].entries()) {
    const res = await app.inject(post({ data_id: `blank-${i}`, source: 'samsara', source_location: '/fleet/drivers', auth_token: blank }))
    t.equal(res.statusCode, 201, `auth_token ${JSON.stringify(blank)}`)
  }
  t.ok(samsara.requests.length >= 2)
  t.ok(samsara.requests.every((r) => r.headers.authorization === `Bearer ${SAMSARA_TOKEN}`), 'the configured token was sent')
})

t.test('over a real socket the fetch runs to the end (reading the request body does not cancel it)', async (t) => {
  const samsara = await fakeSamsara(t, PAGES)
  const { app } = await samsaraApp(t, samsara.origin)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const { headers, payload } = post({ data_id: 'socket', source: 'samsara', source_location: '/fleet/drivers' })
  const res = await fetch(`${address}/v1/structured`, { method: 'POST', headers, body: payload })
  t.equal(res.status, 201)
  t.equal(samsara.requests.length, 3)
})
