import t from 'tap'
import { createLogger } from '../../src/app.js'
import { Writable } from 'node:stream'
import { buildTestApp, upload } from '../helper.js'

const INGEST = 'ingest-token-0123456789'
const OPERATOR = 'operator-token-9876543210'
const env = { STAGING_API_TOKENS: `ingest:${INGEST},operator:${OPERATOR}` }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('tokens and roles', async (t) => {
  const { app } = await buildTestApp(t, env)
  const none = await app.inject({ method: 'GET', url: '/v1/stats' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer')
  t.match(none.json(), { code: 'Unauthorized', retryable: false })
  t.equal((await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('wrong-token-000000') })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: `Basic ${INGEST}` } })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer(`${INGEST}x`) })).statusCode, 401)

  t.equal((await upload(app, 'DOC-1', 'x', { headers: bearer(INGEST) })).statusCode, 201, 'ingest stages')
  t.equal((await upload(app, 'DOC-2', 'x')).statusCode, 401, 'an upload without a token is refused')
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/DOC-1', headers: bearer(INGEST) })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer(INGEST) })).statusCode, 200)
  const patch = await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/DOC-1', headers: bearer(INGEST), payload: { status: 'active' } })
  t.equal(patch.statusCode, 200, 'ingest updates status')

  const del = await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/DOC-1', headers: bearer(INGEST) })
  t.equal(del.statusCode, 403)
  t.match(del.json(), { code: 'Forbidden' })
  const sweep = await app.inject({ method: 'POST', url: '/v1/cleanup', headers: bearer(INGEST) })
  t.equal(sweep.statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/v1/cleanup', headers: bearer(OPERATOR) })).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/DOC-1', headers: bearer(OPERATOR) })).statusCode, 204)

  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health is open')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'readiness is open')
})

t.test('request ids are echoed, and no token reaches the log', async (t) => {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    }
  })
  const { app } = await buildTestApp(t, env, { logger: createLogger({ logLevel: 'trace' }, sink) })
  const res = await app.inject({ method: 'GET', url: '/v1/stats', headers: { ...bearer(INGEST), 'x-request-id': 'req-abc.123' } })
  t.equal(res.headers['x-request-id'], 'req-abc.123')
  const bad = await app.inject({ method: 'GET', url: '/v1/stats', headers: { 'x-request-id': 'bad id with spaces\n' } })
  t.match(bad.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an unsafe incoming id is replaced')
  await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer(OPERATOR + 'wrong') })
  await upload(app, 'DOC-LOG', 'secret body content', { headers: bearer(INGEST) })
  const log = lines.join('')
  const requestLines = lines.filter((l) => JSON.parse(l).msg === 'request')
  t.equal(requestLines.length, 4, 'one line per request')
  t.match(log, '"reqId":"req-abc.123"')
  t.match(log, '"code":"Unauthorized"')
  t.notMatch(log, INGEST)
  t.notMatch(log, OPERATOR)
  t.notMatch(log, 'secret body content')
})

t.test('readiness fails when the staging tree is not writable', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const { chmod } = await import('node:fs/promises')
  if (process.getuid?.() === 0) {
    // root ignores permission bits: remove the temp area instead.
    const { rm } = await import('node:fs/promises')
    await rm(`${baseDir}/.tmp`, { recursive: true })
  } else {
    await chmod(`${baseDir}/.tmp`, 0o500)
    t.teardown(() => chmod(`${baseDir}/.tmp`, 0o700))
  }
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { status: 'unavailable', checks: { staging_tree_loaded: true, staging_tree_writable: false } })
})
