// Push delivery to a fake receiver on a real loopback port: signed per Standard Webhooks (checked
// with node:crypto), in order, at least once through a receiver outage and an app restart.
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, freePort, tempDir, upload } from '../helper.js'
import { sampleValue } from '../metrics/prom-text.js'
import { captureLog } from '../logs/log-capture.js'
import { startupSettings } from '../../src/startup-settings.js'
import { Receiver, SECRET } from './receiver.js'

const fast = { upstream: { backoff: { baseMs: 5, maxMs: 20 } }, pushBackoff: { baseMs: 20, maxMs: 100 } }

function pushEnv(port: number, baseDir?: string): Record<string, string> {
  return {
    ...(baseDir ? { STAGING_BASE_DIR: baseDir } : {}),
    STAGING_EVENTS_URL: `http://127.0.0.1:${port}/hooks/staging`,
    STAGING_EVENTS_SECRET: SECRET,
    // The SSRF guard applies to the receiver: a loopback one must be allowed, as for pulls.
    STAGING_HTTP_ALLOW_HOSTS: `127.0.0.1:${port}`,
    STAGING_UPSTREAM_RETRIES: '1'
  }
}

async function metric(app: FastifyInstance, name: string): Promise<number | undefined> {
  return sampleValue((await app.inject({ method: 'GET', url: '/metrics' })).body, name, {})
}

t.test('each event is POSTed in order, signed per Standard Webhooks, with the CloudEvent as body', async (t) => {
  const receiver = new Receiver()
  const port = await receiver.listen(t)
  const { app } = await buildTestApp(t, pushEnv(port), fast)
  await upload(app, 'S1', 'one')
  await upload(app, 'S2', 'two')
  await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/S1' })
  await receiver.waitFor(3)
  const pulled = (await app.inject({ method: 'GET', url: '/v1/events?after=0' })).json().events as { id: string }[]
  t.same(receiver.deliveries.map((d) => d.sequence), [1, 2, 3], 'in order, once each')
  t.same(receiver.deliveries.map((d) => JSON.parse(d.body)), pulled, 'the body is the CloudEvent GET /v1/events answers')
  t.same(receiver.deliveries.map((d) => d.id), pulled.map((e) => e.id), 'webhook-id is the event id')
  t.ok(receiver.deliveries.every((d) => d.signatureOk), 'signature checked with node:crypto HMAC-SHA256')
  t.ok(receiver.deliveries.every((d) => Math.abs(d.timestamp - Date.now() / 1000) < 60), 'webhook-timestamp is now, in seconds')
  // A receiver using the reference library accepts the same headers (it also checks the timestamp's age).
  const d = receiver.deliveries[0]!
  const headers = { 'webhook-id': d.id, 'webhook-timestamp': String(d.timestamp), 'webhook-signature': d.signature }
  t.ok(new Webhook(SECRET).verify(d.body, headers), 'standardwebhooks verifies it')
  t.throws(() => new Webhook(`whsec_${Buffer.from('another-secret-another-secret!!').toString('base64')}`).verify(d.body, headers), 'a wrong secret fails')
  t.throws(() => new Webhook(SECRET).verify(d.body.replace('S1', 'S9'), headers), 'a changed body fails')

  await t.resolves(async () => {
    const deadline = Date.now() + 5000
    while ((await metric(app, 'staging_events_pending')) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  })
  t.equal(await metric(app, 'staging_events_pending'), 0)
  t.equal(await metric(app, 'staging_events_delivered_total'), 3)
  t.equal(await metric(app, 'staging_events_delivered_sequence'), 3)
  t.equal(await metric(app, 'staging_events_last_sequence'), 3)
})

t.test('a receiver down for a while, then failing, then restarted with the app: nothing lost, duplicates only with the same webhook-id', async (t) => {
  const baseDir = await tempDir(t)
  const port = await freePort()
  const receiver = new Receiver()
  let app = (await buildTestApp(t, pushEnv(port, baseDir), fast)).app
  for (let i = 0; i < 6; i++) await upload(app, `D${i}`, `d${i}`)
  // Nobody listens: rounds fail and back off; the events wait, durable.
  await new Promise((r) => setTimeout(r, 400))
  t.ok((await metric(app, 'staging_event_delivery_failures_total'))! >= 1, 'failures counted')
  t.equal(await metric(app, 'staging_events_pending'), 6, 'all pending')
  t.equal(await metric(app, 'staging_events_delivered_total'), 0)

  // Up, but answering 503 for a moment: still nothing acknowledged.
  receiver.failWith = 503
  await receiver.listen(t, port)
  await new Promise((r) => setTimeout(r, 300))
  receiver.failWith = null
  await receiver.waitFor(6)
  for (let i = 6; i < 10; i++) await upload(app, `D${i}`, `d${i}`)
  await receiver.waitFor(10)

  // The app closes and a new one starts on the same tree: delivery continues from the durable cursor.
  receiver.delayMs = 30
  for (let i = 10; i < 16; i++) await upload(app, `D${i}`, `d${i}`)
  await new Promise((r) => setTimeout(r, 70))
  await app.close()
  receiver.delayMs = 0
  app = (await buildTestApp(t, pushEnv(port, baseDir), fast)).app
  await upload(app, 'D16', 'd16')
  await receiver.waitFor(17)

  t.same(receiver.firstSeen(), Array.from({ length: 17 }, (_, i) => i + 1), 'every event, first seen in order')
  const byId = new Map<string, string>()
  for (const d of receiver.deliveries) {
    if (byId.has(d.id)) t.equal(byId.get(d.id), d.body, `a duplicate of ${d.sequence} has the same id and body`)
    byId.set(d.id, d.body)
  }
  t.equal(byId.size, 17, 'one webhook-id per event')
  t.ok(receiver.deliveries.every((d) => d.signatureOk), 'all signed')
  t.comment(`${receiver.deliveries.length} deliveries for 17 events`)
})

t.test('the receiver URL goes through the SSRF guard: a loopback receiver not allowed gets nothing', async (t) => {
  const receiver = new Receiver()
  const port = await receiver.listen(t)
  const env = pushEnv(port)
  delete env.STAGING_HTTP_ALLOW_HOSTS
  const { app } = await buildTestApp(t, env, fast)
  await upload(app, 'X', 'x')
  await new Promise((r) => setTimeout(r, 300))
  t.equal(receiver.deliveries.length, 0, 'nothing delivered')
  t.ok((await metric(app, 'staging_event_delivery_failures_total'))! >= 1)
  t.equal(await metric(app, 'staging_events_pending'), 1)
})

t.test('push needs a secret of the Standard Webhooks form; the secret is never in an error', async (t) => {
  const { loadConfig } = await import('../../src/config.js')
  t.throws(() => loadConfig({ STAGING_EVENTS_URL: 'http://127.0.0.1:9/x' }), /STAGING_EVENTS_SECRET: required/)
  const err = (() => {
    try {
      loadConfig({ STAGING_EVENTS_URL: 'http://127.0.0.1:9/x', STAGING_EVENTS_SECRET: 'short-secret!' })
    } catch (e) {
      return e as Error
    }
  })()
  t.match(err?.message, /STAGING_EVENTS_SECRET: must be a Standard Webhooks secret/)
  t.notMatch(err?.message, /short-secret/)
})

t.test('the secret and the signatures never reach the log, at start or when deliveries fail', async (t) => {
  const port = await freePort()
  const log = captureLog('debug')
  const { app, config } = await buildTestApp(t, { ...pushEnv(port), LOG_LEVEL: 'debug' }, { ...fast, logger: log.logger })
  app.log.info({ settings: startupSettings(config) }, 'apex-staging started')
  await upload(app, 'L', 'l')
  await new Promise((r) => setTimeout(r, 300))
  const text = log.text()
  t.match(text, /event push failed; retrying after backoff/, 'failures are logged')
  t.match(text, new RegExp(`"push_to":"http://127.0.0.1:${port}"`), 'the start-up line names the receiver origin')
  t.match(text, /"push_secret":true/)
  t.notMatch(text, SECRET.slice(6, 30), 'not the secret')
  t.notMatch(text, /v1,[A-Za-z0-9+/]{20}/, 'no signature')
})
