// Logs that explain: each request line names the caller's role (and token name); a failed upstream
// attempt names the host, the cause and the attempt number.
import t from 'tap'
import { buildTestApp } from '../helper.js'
import { closedPort, fakeUpstream } from '../upstream/fake-upstream.js'
import { captureLog } from './log-capture.js'

const INGEST = 'ingest-secret-aaaa'
const OPERATOR = 'operator-secret-bbbb'

t.test('request lines carry the caller role and, for named tokens, the token name; never the token', async (t) => {
  const log = captureLog()
  const { app } = await buildTestApp(t, { STAGING_API_TOKENS: `ingest:pipeline-a:${INGEST},operator:${OPERATOR}`, LOG_LEVEL: 'info' }, { logger: log.logger })
  await app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: `Bearer ${INGEST}` } })
  await app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: `Bearer ${OPERATOR}` } })
  await app.inject({ method: 'GET', url: '/healthz' })
  await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/X', headers: { authorization: `Bearer ${INGEST}` } })
  const requests = log.lines.filter((l) => l.msg === 'request')
  t.match(requests, [
    { path: '/v1/stats', status: 200, role: 'ingest', token_name: 'pipeline-a' },
    { path: '/v1/stats', status: 200, role: 'operator' },
    { path: '/healthz', role: 'anonymous' },
    { status: 403, role: 'ingest', token_name: 'pipeline-a', code: 'Forbidden' }
  ])
  t.notOk('token_name' in (requests[1] ?? {}), 'an unnamed token has no name')
  t.notMatch(log.text(), INGEST)
  t.notMatch(log.text(), OPERATOR)
})

t.test('a failed upstream attempt logs the host, the cause and the attempt number', async (t) => {
  const up = await fakeUpstream(t, (_req, res, n) => {
    if (n < 3) return void res.writeHead(503).end()
    res.end('finally')
  })
  const dead = await closedPort()
  const log = captureLog()
  const { app } = await buildTestApp(t, { STAGING_HTTP_ALLOW_HOSTS: `${up.hostPort},127.0.0.1:${dead}`, STAGING_UPSTREAM_RETRIES: '2', LOG_LEVEL: 'info' }, {
    logger: log.logger,
    upstream: { sleep: async () => undefined }
  })
  const pull = (id: string, url: string) =>
    app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/json' }, payload: { document_id: id, source: 'http', source_location: url } })
  t.equal((await pull('FLAKY', `${up.origin}/file.txt?sig=secret-query`)).statusCode, 201)
  t.equal((await pull('DEAD', `http://127.0.0.1:${dead}/file.txt`)).statusCode, 502)

  const failures = log.lines.filter((l) => l.msg === 'upstream request failed')
  t.match(failures.slice(0, 2), [
    { level: 40, upstream: 'http', host: up.hostPort, attempt: 1, max_attempts: 3, cause: 'status 503', status: 503, will_retry: true },
    { host: up.hostPort, attempt: 2, cause: 'status 503', will_retry: true }
  ])
  t.match(failures.slice(2), [
    { host: `127.0.0.1:${dead}`, attempt: 1, cause: 'ECONNREFUSED', will_retry: true },
    { host: `127.0.0.1:${dead}`, attempt: 2, cause: 'ECONNREFUSED', will_retry: true },
    { host: `127.0.0.1:${dead}`, attempt: 3, cause: 'ECONNREFUSED', will_retry: false }
  ])
  t.equal(failures.length, 5)
  t.notMatch(log.text(), 'secret-query', 'the path and query of the URL stay out of the log')
})
