// The SSRF guard end to end: every refused form leaves the loopback canary with zero connections.
import t from 'tap'
import { canary, fakeUpstream } from '../upstream/fake-upstream.js'
import { assertNothingLeft, pull, pullApp } from './pull-helper.js'

t.test('loopback, unspecified and mapped forms, however spelled, never reach the canary', async (t) => {
  const bird = await canary(t)
  const { app, baseDir } = await pullApp(t, {}, { 'evil.test': '127.0.0.1', 'mapped.test': '::ffff:127.0.0.1' })
  const p = bird.port
  const targets = [
    `http://127.0.0.1:${p}/doc`,
    `http://localhost:${p}/doc`,
    `http://LOCALHOST.:${p}/doc`,
    `http://app.localhost:${p}/doc`,
    `http://[::1]:${p}/doc`,
    `http://[::ffff:127.0.0.1]:${p}/doc`,
    `http://[::ffff:7f00:1]:${p}/doc`,
    `http://[64:ff9b::127.0.0.1]:${p}/doc`,
    `http://[::127.0.0.1]:${p}/doc`,
    `http://[2002:7f00:1::]:${p}/doc`,
    `http://2130706433:${p}/doc`,
    `http://0x7f000001:${p}/doc`,
    `http://0x7f.1:${p}/doc`,
    `http://0177.0.0.1:${p}/doc`,
    `http://017700000001:${p}/doc`,
    `http://127.1:${p}/doc`,
    `http://0:${p}/doc`,
    `http://0.0.0.0:${p}/doc`,
    `http://[::]:${p}/doc`,
    `http://evil.test:${p}/doc`,
    `http://mapped.test:${p}/doc`
  ]
  for (const [i, url] of targets.entries()) {
    const res = await pull(app, { document_id: `SSRF-${i}`, source: 'http', source_location: url })
    t.equal(res.statusCode, 403, url)
    t.equal(res.json().code, 'SourceNotAllowed', url)
    await assertNothingLeft(t, app, baseDir, 'http', `SSRF-${i}`)
  }
  t.equal(bird.connections, 0, 'the canary saw no connection')
  t.equal(bird.requests.length, 0, 'the canary saw no request')
})

t.test('a redirect to the canary is refused at that hop, by literal, by name and by DNS', async (t) => {
  const bird = await canary(t)
  const hops = [`http://127.0.0.1:${bird.port}/x`, `http://localhost:${bird.port}/x`, `http://evil.test:${bird.port}/x`, `http://2130706433:${bird.port}/x`]
  const front = await fakeUpstream(t, (req, res) => {
    const target = hops[Number(req.url?.slice(1))]
    res.writeHead(302, { location: target }).end()
  })
  const { app, baseDir } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: front.hostPort }, { 'evil.test': '127.0.0.1' })
  for (const i of hops.keys()) {
    const res = await pull(app, { document_id: `REDIR-${i}`, source: 'http', source_location: `${front.origin}/${i}` })
    t.equal(res.statusCode, 403, String(hops[i]))
    await assertNothingLeft(t, app, baseDir, 'http', `REDIR-${i}`)
  }
  t.equal(front.requests.length, hops.length, 'the allowed host was asked once per pull')
  t.equal(bird.connections, 0, 'the canary saw no connection')
})

t.test('the allow-list is per host and port: another port on the same host stays refused', async (t) => {
  const bird = await canary(t)
  const allowed = await fakeUpstream(t, (_req, res) => void res.end('ok'))
  const { app } = await pullApp(t, { STAGING_HTTP_ALLOW_HOSTS: `${allowed.hostPort},files.test` }, { 'files.test': '127.0.0.1' })
  const ok = await pull(app, { document_id: 'ALLOWED', source: 'http', source_location: `${allowed.origin}/a.txt` })
  t.equal(ok.statusCode, 201)
  const named = await pull(app, { document_id: 'NAMED', source: 'http', source_location: `http://files.test:${allowed.port}/b.txt` })
  t.equal(named.statusCode, 201, 'a host entry without a port allows any port')
  const res = await pull(app, { document_id: 'OTHER', source: 'http', source_location: `http://127.0.0.1:${bird.port}/` })
  t.equal(res.statusCode, 403)
  t.equal(bird.connections, 0)
})

t.test('only http(s) URLs whose scheme matches the source are pulled', async (t) => {
  const { app } = await pullApp(t)
  for (const [source, url] of [['http', 'file:///etc/passwd'], ['https', 'http://files.test/x'], ['http', 'gopher://x/'], ['http', 'not a url']] as const) {
    const res = await pull(app, { document_id: 'SCHEME', source, source_location: url })
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().code, 'ValidationError')
  }
})
