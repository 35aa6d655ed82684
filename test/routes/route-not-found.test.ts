// Answers that say the truth: 404 for a path no route has, 405 with Allow for a known path and another method.
import Fastify from 'fastify'
import t from 'tap'
import { registerRouteNotFound } from '../../src/http/route-not-found.js'
import { buildTestApp, upload } from '../helper.js'

const INGEST = 'ingest-token-1234'
const OPERATOR = 'operator-token-1234'
const env = { STAGING_API_TOKENS: `ingest:${INGEST},operator:${OPERATOR}` }
const as = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('an authenticated caller mistyping a path gets 404 titled for a route', async (t) => {
  const { app } = await buildTestApp(t, env)
  for (const token of [INGEST, OPERATOR]) {
    const res = await app.inject({ method: 'GET', url: '/v1/stagin?limit=3', headers: as(token) })
    t.equal(res.statusCode, 404)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { code: 'NotFound', title: 'No such route', retryable: false, instance: '/v1/stagin' })
    t.match(res.json().detail, /no route GET \/v1\/stagin/)
  }
  const anonymous = await app.inject({ method: 'GET', url: '/v1/stagin' })
  t.equal(anonymous.statusCode, 401, 'without a token: 401, the route set is not probed for free')
  const item = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/NOPE', headers: as(INGEST) })
  t.match(item.json(), { code: 'NotFound', title: 'No such item' }, 'a missing item keeps its own title')
})

t.test('a known path with the wrong method is 405 with Allow, for ingest too (not 403)', async (t) => {
  const { app } = await buildTestApp(t, env)
  const stats = await app.inject({ method: 'PUT', url: '/v1/stats', headers: as(INGEST) })
  t.equal(stats.statusCode, 405)
  t.equal(stats.headers.allow, 'GET, HEAD')
  t.match(stats.headers['content-type'], /^application\/problem\+json/)
  t.match(stats.json(), { status: 405, code: 'MethodNotAllowed', retryable: false })

  const item = await app.inject({ method: 'POST', url: '/v1/staging/local_upload/DOC-1', headers: as(INGEST) })
  t.equal(item.statusCode, 405)
  const allow = item.headers.allow?.toString().split(', ') ?? []
  // Other methods may join as routes are added (PUT uploads); these are here today and POST is not.
  for (const m of ['GET', 'HEAD', 'PATCH', 'DELETE']) t.ok(allow.includes(m), `Allow lists ${m}`)
  t.notOk(allow.includes('POST'))

  const health = await app.inject({ method: 'DELETE', url: '/healthz', headers: as(OPERATOR) })
  t.equal(health.statusCode, 405)
  t.equal(health.headers.allow, 'GET, HEAD')
})

t.test('Allow comes from the registered routes: a route added later is listed', async (t) => {
  const app = Fastify()
  registerRouteNotFound(app)
  app.get('/things/:id', async () => ({}))
  await app.register(async (child) => {
    child.put('/things/:id', async () => ({}))
  })
  await app.ready()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/things/7' })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'GET, HEAD, PUT')
  t.equal((await app.inject({ method: 'GET', url: '/other' })).statusCode, 404)
})

t.test('identifiers of 128 characters reach the route (Fastify\'s default cap is 100)', async (t) => {
  const { app } = await buildTestApp(t)
  const id = `D${'x'.repeat(127)}`
  t.equal((await upload(app, id, 'long id')).statusCode, 201)
  const res = await app.inject({ method: 'GET', url: `/v1/staging/local_upload/${id}` })
  t.equal(res.statusCode, 200)
  t.equal(res.json().document_id, id)
})

t.test('304 carries no Content-Type or Content-Length of a body it does not send', async (t) => {
  const { app } = await buildTestApp(t)
  const record = (await upload(app, 'DOC-1', 'hello')).json()
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const res = await fetch(`http://127.0.0.1:${port}/v1/staging/local_upload/DOC-1/content`, { headers: { 'if-none-match': `"${record.sha256}"` } })
  t.equal(res.status, 304)
  t.equal(res.headers.get('content-type'), null)
  t.equal(res.headers.get('content-length'), null)
  t.equal(res.headers.get('etag'), `"${record.sha256}"`)
  t.equal(await res.text(), '')
})
