import { readFile } from 'node:fs/promises'
import t from 'tap'
import { fakeTurvo, shipments, TURVO_KEY, TURVO_TOKEN } from '../fakes/turvo-server.js'
import { buildTestApp, type TapLike } from '../helper.js'
import { canary, fakeUpstream } from '../upstream/fake-upstream.js'
import { sendJson } from '../fakes/samsara-server.js'

function post(body: Record<string, unknown>) {
  return { method: 'POST' as const, url: '/v1/structured', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }
}

async function turvoApp(t: TapLike, origin: string, env: Record<string, string> = {}) {
  return buildTestApp(t, { TURVO_BASE_URL: `${origin}/v1`, TURVO_API_TOKEN: TURVO_TOKEN, TURVO_API_KEY: TURVO_KEY, ...env }, { upstream: { sleep: async () => undefined } })
}

t.test('a Turvo list is followed through moreAvailable by advancing start, the shipments merged', async (t) => {
  const all = shipments(7)
  const turvo = await fakeTurvo(t, all, { apiKey: TURVO_KEY })
  const { app } = await turvoApp(t, turvo.origin)
  const res = await app.inject(post({ data_id: 'shipments-0105', source: 'turvo', source_location: '/shipments/list?start=0&pageSize=3&updated[gte]=2026-01-01T00:00:00Z' }))
  t.equal(res.statusCode, 201)
  t.match(res.json(), { source: 'turvo', kind: 'structured', filename: 'data.json' })
  t.equal(res.json().source_location, `${turvo.origin}/v1/shipments/list?start=0&pageSize=3&updated[gte]=2026-01-01T00:00:00Z`)
  const stored = JSON.parse(await readFile(res.json().file_path, 'utf8'))
  t.same(stored, {
    Status: 'SUCCESS',
    details: { pagination: { start: 6, pageSize: 3, totalRecordsInPage: 1, moreAvailable: false }, shipments: all }
  })
  t.same(turvo.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('start')), ['0', '3', '6'])
  t.ok(turvo.requests.every((r) => r.url.startsWith('/v1/shipments/list?') && r.url.includes('pageSize=3')), 'base path and parameters kept')
  t.ok(turvo.requests.every((r) => r.headers['x-api-key'] === TURVO_KEY && r.headers.authorization === `Bearer ${TURVO_TOKEN}`))
})

t.test('no x-api-key is sent when TURVO_API_KEY is not set; a single shipment is stored as it came', async (t) => {
  const turvo = await fakeTurvo(t, [])
  const { app } = await buildTestApp(t, { TURVO_BASE_URL: `${turvo.origin}/v1`, TURVO_API_TOKEN: TURVO_TOKEN })
  const res = await app.inject(post({ data_id: 'shp-42', source: 'turvo', source_location: `${turvo.origin}/v1/shipments/42` }))
  t.equal(res.statusCode, 201)
  t.equal(turvo.requests[0]?.headers['x-api-key'], undefined)
  t.same(JSON.parse(await readFile(res.json().file_path, 'utf8')), { Status: 'SUCCESS', details: { id: 42, status: { code: { value: 'Delivered' } } } })
})

t.test('Turvo refusals: Status ERROR and a wrong key are UpstreamRejected; no token is MissingAuthentication', async (t) => {
  const failing = await fakeTurvo(t, shipments(2), { statusError: true })
  const a = await turvoApp(t, failing.origin)
  const statusError = await a.app.inject(post({ data_id: 'x1', source: 'turvo', source_location: '/shipments/list' }))
  t.equal(statusError.statusCode, 422)
  t.match(statusError.json(), { code: 'UpstreamRejected', detail: /INVALID_FILTER/ })

  const keyed = await fakeTurvo(t, shipments(2), { apiKey: 'another-key' })
  const b = await turvoApp(t, keyed.origin)
  const wrongKey = await b.app.inject(post({ data_id: 'x1', source: 'turvo', source_location: '/shipments/list' }))
  t.equal(wrongKey.statusCode, 422)
  t.equal(wrongKey.json().code, 'UpstreamRejected')

  const c = await buildTestApp(t, { TURVO_BASE_URL: `${keyed.origin}/v1` })
  const before = keyed.requests.length
  const noToken = await c.app.inject(post({ data_id: 'x1', source: 'turvo', source_location: '/shipments/list' }))
  t.equal(noToken.statusCode, 422)
  t.equal(noToken.json().code, 'MissingAuthentication')
  t.equal(keyed.requests.length, before)
})

t.test('a Turvo URL on another origin is SourceNotAllowed and the token stays home', async (t) => {
  const turvo = await fakeTurvo(t, [])
  const other = await canary(t)
  const { app } = await turvoApp(t, turvo.origin)
  const res = await app.inject(post({ data_id: 'x1', source: 'turvo', source_location: `${other.origin}/v1/shipments/list` }))
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'SourceNotAllowed')
  t.equal(other.connections, 0)
})

t.test('a page that does not advance start ends the walk instead of looping', async (t) => {
  const stuck = await fakeUpstream(t, (_req, res, n) =>
    sendJson(res, 200, { Status: 'SUCCESS', details: { pagination: { start: 0, pageSize: 2, totalRecordsInPage: 2, moreAvailable: true }, orders: [n, n] } })
  )
  const { app } = await turvoApp(t, stuck.origin)
  const res = await app.inject(post({ data_id: 'orders', source: 'turvo', source_location: '/orders/list' }))
  t.equal(res.statusCode, 201)
  t.equal(stuck.requests.length, 2, 'start=2 was asked once; the answer claimed start 0 again, so the walk stopped')
  t.same(JSON.parse(await readFile(res.json().file_path, 'utf8')).details.orders, [1, 1, 2, 2])
})
