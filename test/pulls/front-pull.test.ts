// Front attachment pulls: id or URL on the configured origin only, bearer token, 429 handling, no token leaks.
import t from 'tap'
import { canary, fakeUpstream } from '../upstream/fake-upstream.js'
import { assertNothingLeft, pull, pullApp } from './pull-helper.js'

const TOKEN = 'front-token-1234'

t.test('an attachment id is fetched from {base}/download/{id} with the bearer token', async (t) => {
  const front = await fakeUpstream(t, (req, res, n) => {
    if (n === 1) return void res.writeHead(429, { 'retry-after': '0.01' }).end('{"_error":{"status":429}}')
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': '4' }).end('\x89PNG')
  })
  const { app, delays } = await pullApp(t, { FRONTAPP_BASE_URL: front.origin, FRONTAPP_API_TOKEN: TOKEN })
  const res = await pull(app, { document_id: 'ATT-1', source: 'frontapp', source_location: 'fil_3q8a7mby', filename: 'scan.png' })
  t.equal(res.statusCode, 201)
  t.match(res.json(), { source: 'frontapp', content_type: 'image/png', file_size_bytes: 4, filename: 'scan.png', source_location: `${front.origin}/download/fil_3q8a7mby` })
  t.same(front.requests.map((r) => r.url), ['/download/fil_3q8a7mby', '/download/fil_3q8a7mby'])
  t.equal(front.requests[1]?.headers.authorization, `Bearer ${TOKEN}`)
  t.same(delays, [10], "Front's Retry-After was honoured")
  t.notMatch(res.body, TOKEN)
})

t.test('a URL on the Front origin is fetched; any other origin is SourceNotAllowed and never contacted', async (t) => {
  const front = await fakeUpstream(t, (_req, res) => void res.end('attachment'))
  const elsewhere = await canary(t)
  const { app, baseDir } = await pullApp(t, { FRONTAPP_BASE_URL: front.origin, FRONTAPP_API_TOKEN: TOKEN })
  t.equal((await pull(app, { document_id: 'ATT-2', source: 'frontapp', source_location: `${front.origin}/download/fil_x` })).statusCode, 201)
  for (const location of [`${elsewhere.origin}/download/fil_x`, `http://user@${front.hostPort}/download/fil_x`, 'fil_../../x']) {
    const res = await pull(app, { document_id: 'ATT-3', source: 'frontapp', source_location: location })
    t.ok([400, 403].includes(res.statusCode), `${location} refused (${res.statusCode})`)
    await assertNothingLeft(t, app, baseDir, 'frontapp', 'ATT-3')
  }
  t.equal(elsewhere.connections, 0, 'the token never went elsewhere')
})

t.test('a redirect off the Front origin is guarded and loses the token', async (t) => {
  const bird = await canary(t)
  const front = await fakeUpstream(t, (req, res) => {
    if (req.url === '/download/fil_away') return void res.writeHead(302, { location: `${bird.origin}/steal` }).end()
    if (req.url === '/download/fil_moved') return void res.writeHead(307, { location: '/files/real' }).end()
    res.end('real bytes')
  })
  const { app } = await pullApp(t, { FRONTAPP_BASE_URL: front.origin, FRONTAPP_API_TOKEN: TOKEN })
  t.equal((await pull(app, { document_id: 'MOVED', source: 'frontapp', source_location: 'fil_moved' })).statusCode, 201)
  t.equal(front.requests[1]?.headers.authorization, `Bearer ${TOKEN}`, 'same-origin hops keep the token')
  t.equal((await pull(app, { document_id: 'AWAY', source: 'frontapp', source_location: 'fil_away' })).statusCode, 403)
  t.equal(bird.connections, 0)
})

t.test('no FRONTAPP_API_TOKEN: MissingAuthentication 422, nothing fetched', async (t) => {
  const front = await fakeUpstream(t, (_req, res) => void res.end('x'))
  const { app } = await pullApp(t, { FRONTAPP_BASE_URL: front.origin })
  const res = await pull(app, { document_id: 'NOAUTH', source: 'frontapp', source_location: 'fil_abc' })
  t.equal(res.statusCode, 422)
  t.equal(res.json().code, 'MissingAuthentication')
  t.equal(front.requests.length, 0)
})

t.test('Front answering 401 is UpstreamRejected', async (t) => {
  const front = await fakeUpstream(t, (_req, res) => void res.writeHead(401).end('{"_error":{"status":401,"title":"Unauthenticated"}}'))
  const { app } = await pullApp(t, { FRONTAPP_BASE_URL: front.origin, FRONTAPP_API_TOKEN: TOKEN })
  const res = await pull(app, { document_id: 'DENIED', source: 'frontapp', source_location: 'fil_abc' })
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'UpstreamRejected', upstream_status: 401 })
})
