// Contract: cleanup, stats, health, readiness and the documentation routes answer what openapi.yaml documents.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'
import { AUTH_ENV, as, expectAllExercised, expectContract } from './spec.js'

t.test('operations, health and docs', async (t) => {
  const { app, baseDir } = await buildTestApp(t, AUTH_ENV)
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })
  const post = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, headers })
  await upload(app, 'DOC-1', 'for the stats', { headers: as('ingest') })

  expectContract(t, 'POST', '/v1/cleanup', await post('/v1/cleanup?dry_run=true', as('operator')), 200)
  expectContract(t, 'POST', '/v1/cleanup', await post('/v1/cleanup', as('operator')), 200)
  expectContract(t, 'POST', '/v1/cleanup', await post('/v1/cleanup?dry_run=maybe', as('operator')), 400)
  expectContract(t, 'POST', '/v1/cleanup', await post('/v1/cleanup'), 401)
  expectContract(t, 'POST', '/v1/cleanup', await post('/v1/cleanup', as('ingest')), 403)

  const stats = await get('/v1/stats', as('ingest'))
  expectContract(t, 'GET', '/v1/stats', stats, 200)
  t.not(stats.json().cleanup.last_result, null, 'the stats after a sweep carry its result, validated too')
  expectContract(t, 'GET', '/v1/stats', await get('/v1/stats'), 401)

  expectContract(t, 'GET', '/healthz', await get('/healthz'), 200)
  expectContract(t, 'GET', '/readyz', await get('/readyz'), 200)
  const spec = await get('/openapi.json')
  expectContract(t, 'GET', '/openapi.json', spec, 200)
  const docs = await get('/docs')
  expectContract(t, 'GET', '/docs', docs, 200)
  t.match(docs.body, /swagger-ui/i, 'the docs page is Swagger UI')

  await rm(join(baseDir, '.tmp'), { recursive: true, force: true })
  const notReady = await get('/readyz')
  expectContract(t, 'GET', '/readyz', notReady, 503)
  t.equal(notReady.json().checks.staging_tree_writable, false)

  expectAllExercised(t, [
    ['POST', '/v1/cleanup'],
    ['GET', '/v1/stats'],
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/openapi.json'],
    ['GET', '/docs']
  ])
})
