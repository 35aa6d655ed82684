import { createHash } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { API_SECRET, APP_SECRET, CHALLENGE_BODY, applicationEvent, ruleEvent, signApplication, signRule } from '../fakes/front-signer.js'
import { buildTestApp } from '../helper.js'
import { sampleValue } from '../metrics/prom-text.js'

const SECRETS = { FRONTAPP_API_SECRET: API_SECRET, FRONTAPP_APP_SECRET: APP_SECRET }
const URL = '/v1/webhooks/frontapp'
const MINUTE = 60_000
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

async function stagedIds(baseDir: string): Promise<string[]> {
  return readdir(join(baseDir, 'frontapp')).catch(() => [])
}

t.test('a signed rule webhook is staged as frontapp/{event id}/data.json with the raw bytes', async (t) => {
  const { app, baseDir } = await buildTestApp(t, SECRETS)
  // Odd spacing and key order: only the raw bytes verify, a re-serialised body would not.
  const body = `{ "type":"inbound",  "id": "evt_55c8c149", "note": "caf\u00e9" }`
  const res = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { data_id: 'evt_55c8c149', status: 'staged' })
  const record = app.staging.store.get('frontapp', 'evt_55c8c149')
  t.match(record, { source: 'frontapp', kind: 'structured', filename: 'data.json', content_type: 'application/json', source_location: null, sha256: sha(body) })
  t.equal(await readFile(join(baseDir, 'frontapp', 'evt_55c8c149', 'data.json'), 'utf8'), body)
})

t.test('a bad or missing signature is 401 and stages nothing', async (t) => {
  const { app, baseDir } = await buildTestApp(t, SECRETS)
  const body = ruleEvent('evt_bad1')
  const cases: Record<string, string>[] = [
    { 'content-type': 'application/json' },
    signRule(body, 'some-other-secret'),
    signRule(body.replace('inbound', 'outbound')),
    { ...signRule(body), 'x-front-signature': 'not base64 at all' },
    signApplication(body, Date.parse('2026-01-05T10:30:00.000Z'), 'wrong-key')
  ]
  for (const headers of cases) {
    const res = await app.inject({ method: 'POST', url: URL, headers, payload: body })
    t.equal(res.statusCode, 401)
    t.match(res.json(), { code: 'Unauthorized', retryable: false })
    t.notMatch(res.body, API_SECRET)
  }
  t.same(await stagedIds(baseDir), [])
})

t.test('an application webhook is staged under the payload id; a replay 10 minutes later is refused', async (t) => {
  const { app, clock, baseDir } = await buildTestApp(t, SECRETS)
  const body = applicationEvent('evt_app_1')
  const headers = signApplication(body, clock.now())
  const first = await app.inject({ method: 'POST', url: URL, headers, payload: body })
  t.equal(first.statusCode, 200)
  t.same(first.json(), { data_id: 'evt_app_1', status: 'staged' })

  // The same body and signature again after the item is gone, so only the timestamp can refuse it.
  await app.staging.store.remove('frontapp', 'evt_app_1', 'success')
  clock.advance(10 * MINUTE)
  const replay = await app.inject({ method: 'POST', url: URL, headers, payload: body })
  t.equal(replay.statusCode, 401)
  t.match(replay.json(), { code: 'Unauthorized', detail: /timestamp/i })
  t.same(await stagedIds(baseDir), [])

  const future = signApplication(applicationEvent('evt_app_2'), clock.now() + 6 * MINUTE)
  const early = await app.inject({ method: 'POST', url: URL, headers: future, payload: applicationEvent('evt_app_2') })
  t.equal(early.statusCode, 401, 'a timestamp from the future is refused too')

  const near = signApplication(applicationEvent('evt_app_3'), clock.now() - 4 * MINUTE)
  const fine = await app.inject({ method: 'POST', url: URL, headers: near, payload: applicationEvent('evt_app_3') })
  t.equal(fine.statusCode, 200, 'four minutes of skew is accepted')
})

t.test('a duplicate delivery answers duplicate and stages nothing new', async (t) => {
  const { app, clock, baseDir } = await buildTestApp(t, SECRETS)
  const body = ruleEvent('evt_dup')
  const first = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.same(first.json(), { data_id: 'evt_dup', status: 'staged' })
  const before = app.staging.store.get('frontapp', 'evt_dup')

  clock.advance(MINUTE)
  const again = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(again.statusCode, 200)
  t.same(again.json(), { data_id: 'evt_dup', status: 'duplicate' })

  // Same id with other bytes (e.g. a preview and a full payload): still the first one stays.
  const other = ruleEvent('evt_dup', { type: 'outbound' })
  const changed = await app.inject({ method: 'POST', url: URL, headers: signRule(other), payload: other })
  t.same(changed.json(), { data_id: 'evt_dup', status: 'duplicate' })

  t.same(app.staging.store.get('frontapp', 'evt_dup'), before, 'record untouched, updated_at included')
  t.equal(await readFile(join(baseDir, 'frontapp', 'evt_dup', 'data.json'), 'utf8'), body)
  t.same(await readdir(join(baseDir, 'frontapp', 'evt_dup')), ['.metadata.json', 'data.json'])
  t.same(await readdir(join(baseDir, '.tmp')), [])
})

t.test('a duplicate of a delivered event is refused even after its item was cleaned up', async (t) => {
  const { app, baseDir } = await buildTestApp(t, SECRETS)
  const body = ruleEvent('evt_gone')
  await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  await app.staging.store.remove('frontapp', 'evt_gone', 'success')
  const replay = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.same(replay.json(), { data_id: 'evt_gone', status: 'duplicate' })
  t.same(await stagedIds(baseDir), [])
})

t.test('two identical deliveries at once stage one item', async (t) => {
  const { app } = await buildTestApp(t, SECRETS)
  const body = ruleEvent('evt_race')
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body }))
  )
  const statuses = answers.map((r) => r.json().status).sort()
  t.same(statuses, ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'staged'])
  t.equal(app.staging.store.index.snapshot().count, 1)
})

t.test('an event without a usable id is keyed by the sha256 of its body', async (t) => {
  const { app } = await buildTestApp(t, SECRETS)
  for (const body of [JSON.stringify({ type: 'tag' }), JSON.stringify({ id: '../../etc/passwd', type: 'tag' })]) {
    const res = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
    t.same(res.json(), { data_id: sha(body), status: 'staged' })
  }
})

t.test('a challenge is echoed as text/plain only when signed', async (t) => {
  const { app, clock, baseDir } = await buildTestApp(t, SECRETS)
  const headers = { ...signApplication(CHALLENGE_BODY, clock.now()), 'x-front-challenge': 'chl_8f2e1d' }
  const res = await app.inject({ method: 'POST', url: URL, headers, payload: CHALLENGE_BODY })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.equal(res.body, 'chl_8f2e1d')

  const unsigned = await app.inject({
    method: 'POST',
    url: URL,
    headers: { 'content-type': 'application/json', 'x-front-challenge': 'chl_8f2e1d' },
    payload: CHALLENGE_BODY
  })
  t.equal(unsigned.statusCode, 401)
  t.notMatch(unsigned.body, 'chl_8f2e1d')
  t.same(await stagedIds(baseDir), [], 'a challenge is not an event')
})

t.test('with no secret configured every delivery is refused', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const body = ruleEvent('evt_open')
  for (const headers of [signRule(body), { 'content-type': 'application/json' }, { 'content-type': 'text/plain' }]) {
    const res = await app.inject({ method: 'POST', url: URL, headers, payload: body })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'Unauthorized')
  }
  t.same(await stagedIds(baseDir), [])
})

t.test('only one kind configured: the other kind of signature is refused', async (t) => {
  const { app, clock } = await buildTestApp(t, { FRONTAPP_APP_SECRET: APP_SECRET })
  const body = ruleEvent('evt_rule_only')
  const rule = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(rule.statusCode, 401)
  const application = await app.inject({ method: 'POST', url: URL, headers: signApplication(body, clock.now()), payload: body })
  t.equal(application.statusCode, 200)
})

t.test('a signed body that is not JSON is 422 InvalidJSON', async (t) => {
  const { app, baseDir } = await buildTestApp(t, SECRETS)
  const body = '{"id": "evt_x", '
  const res = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(res.statusCode, 422)
  t.equal(res.json().code, 'InvalidJSON')
  t.same(await stagedIds(baseDir), [])
})

t.test('a wrong content type is 415', async (t) => {
  const { app } = await buildTestApp(t, SECRETS)
  const body = ruleEvent('evt_text')
  const res = await app.inject({ method: 'POST', url: URL, headers: { ...signRule(body), 'content-type': 'text/plain' }, payload: body })
  t.equal(res.statusCode, 415)
  t.equal(res.json().code, 'UnsupportedMediaType')
})

t.test('a body over STAGING_WEBHOOK_MAX_KB is 413', async (t) => {
  const { app, baseDir } = await buildTestApp(t, { ...SECRETS, STAGING_WEBHOOK_MAX_KB: '1' })
  const body = ruleEvent('evt_big', { blob: 'x'.repeat(2048) })
  const res = await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'PayloadTooLarge')
  t.same(await stagedIds(baseDir), [])
})

t.test('a delivery over the item cap or the quota is refused and leaves nothing', async (t) => {
  const body = ruleEvent('evt_quota', { blob: 'x'.repeat(300) })
  const capped = await buildTestApp(t, { ...SECRETS, STAGING_MAX_DOCUMENT_MB: '0.0001' })
  const tooBig = await capped.app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(tooBig.statusCode, 413)
  t.equal(tooBig.json().code, 'PayloadTooLarge')

  const full = await buildTestApp(t, { ...SECRETS, STAGING_MAX_SIZE_GB: '0.0000001' })
  const over = await full.app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })
  t.equal(over.statusCode, 507)
  t.equal(over.json().code, 'QuotaExceeded')
  t.same(await stagedIds(full.baseDir), [])
  t.same(await readdir(join(full.baseDir, '.tmp')), [])
})

t.test('Front posting over a real socket gets its answer', async (t) => {
  const { app } = await buildTestApp(t, SECRETS)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const body = ruleEvent('evt_socket')
  const res = await fetch(`${address}${URL}`, { method: 'POST', headers: signRule(body), body })
  t.equal(res.status, 200)
  t.same(await res.json(), { data_id: 'evt_socket', status: 'staged' })
})

t.test('staged Front deliveries count in structured_data_fetched_total{source="frontapp"}; duplicates and refusals do not', async (t) => {
  const { app } = await buildTestApp(t, SECRETS)
  const fetched = async () => sampleValue((await app.inject({ method: 'GET', url: '/metrics' })).body, 'structured_data_fetched_total', { source: 'frontapp' })
  t.equal(await fetched(), 0, 'the series exists at 0')
  for (const id of ['evt_m1', 'evt_m2', 'evt_m1']) {
    const body = ruleEvent(id)
    t.equal((await app.inject({ method: 'POST', url: URL, headers: signRule(body), payload: body })).statusCode, 200)
  }
  const unsigned = ruleEvent('evt_m3')
  t.equal((await app.inject({ method: 'POST', url: URL, headers: signRule(unsigned, 'wrong-secret'), payload: unsigned })).statusCode, 401)
  t.equal(await fetched(), 2, 'two staged, one duplicate, one refused')
})
