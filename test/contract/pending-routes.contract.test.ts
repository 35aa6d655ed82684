// Contract tests for routes other branches add (issues 4 and 5); each runs once its route is in openapi.yaml.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { buildTestApp } from '../helper.js'
import { AUTH_ENV, as, expectContract, operation } from './spec.js'

const skipUnless = (method: string, path: string) => (operation(method, path) ? false : `${method} ${path} is not in openapi.yaml yet`)
const json = { ...as('ingest'), 'content-type': 'application/json' }

t.test('POST /v1/structured', { skip: skipUnless('POST', '/v1/structured') }, async (t) => {
  const { app } = await buildTestApp(t, AUTH_ENV)
  const send = (body: unknown, headers: Record<string, string> = json) =>
    app.inject({ method: 'POST', url: '/v1/structured', headers, payload: JSON.stringify(body) })
  const op = ['POST', '/v1/structured'] as const
  expectContract(t, ...op, await send({ data_id: 'EVT-1', source: 'frontapp', source_location: '{"id":"EVT-1"}' }), 201)
  expectContract(t, ...op, await send({ data_id: 'EVT-2', source: 'frontapp', source_location: '{not json' }), 422)
  expectContract(t, ...op, await send({ data_id: '../x', source: 'frontapp', source_location: '{}' }), 400)
  expectContract(t, ...op, await send({ data_id: 'EVT-3', source: 'frontapp', source_location: '{}' }, { 'content-type': 'application/json' }), 401)
  expectContract(t, ...op, await send({ data_id: 'S-1', source: 'samsara', source_location: '/fleet/vehicles' }), 422)
})

t.test('POST /v1/webhooks/frontapp', { skip: skipUnless('POST', '/v1/webhooks/frontapp') }, async (t) => {
  const secret = 'rule-webhook-secret'
  const { app } = await buildTestApp(t, { ...AUTH_ENV, FRONTAPP_API_SECRET: secret })
  const op = ['POST', '/v1/webhooks/frontapp'] as const
  const body = JSON.stringify({ id: 'evt_1', type: 'inbound' })
  const signature = createHmac('sha1', secret).update(body).digest('base64')
  const deliver = (sig: string) =>
    app.inject({ method: 'POST', url: '/v1/webhooks/frontapp', headers: { 'content-type': 'application/json', 'x-front-signature': sig }, payload: body })
  const first = await deliver(signature)
  expectContract(t, ...op, first, 200)
  t.match(first.json(), { data_id: 'evt_1', status: 'staged' })
  const again = await deliver(signature)
  expectContract(t, ...op, again, 200)
  t.match(again.json(), { status: 'duplicate' })
  expectContract(t, ...op, await deliver('bm90IGEgc2lnbmF0dXJl'), 401)
})

t.test('GET /metrics', { skip: skipUnless('GET', '/metrics') }, async (t) => {
  const open = await buildTestApp(t, AUTH_ENV)
  const res = await open.app.inject({ method: 'GET', url: '/metrics' })
  expectContract(t, 'GET', '/metrics', res, 200)
  t.match(res.body, /staging_quota_bytes/)
  const guarded = await buildTestApp(t, { ...AUTH_ENV, STAGING_METRICS_TOKEN: 'metrics-token-0001' })
  expectContract(t, 'GET', '/metrics', await guarded.app.inject({ method: 'GET', url: '/metrics' }), 401)
})
