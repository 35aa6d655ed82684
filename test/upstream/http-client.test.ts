// The upstream client against real fake servers: retries, Retry-After, timeouts, caps, redirects, errors.
import t, { type Test } from 'tap'
import { silentObserver, type StagingObserver } from '../../src/staging/observer.js'
import { UpstreamClient, type UpstreamClientOptions } from '../../src/upstream/http-client.js'
import { readAll } from '../../src/upstream/response-body.js'
import { closedPort, fakeUpstream, rejectsWith as rejects, TEST_CA } from './fake-upstream.js'

const NOW = Date.parse('2026-01-05T10:30:00.000Z')

function client(t: Test, options: Partial<UpstreamClientOptions> = {}) {
  const delays: number[] = []
  const attempts: { upstream: string; outcome: string }[] = []
  const observer: StagingObserver = { ...silentObserver, upstreamRequest: (upstream, outcome) => attempts.push({ upstream, outcome }) }
  const c = new UpstreamClient({
    timeoutMs: 2000,
    retries: 2,
    maxResponseBytes: 1024,
    observer,
    backoff: { baseMs: 100, maxMs: 400, retryAfterMaxMs: 5000, random: () => 0.5, now: () => NOW },
    sleep: async (ms) => {
      delays.push(ms)
    },
    ca: TEST_CA,
    ...options
  })
  t.teardown(() => c.close())
  return { c, delays, attempts }
}

t.test('500 then 200: retried after backoff, body returned, each attempt observed', async (t) => {
  const up = await fakeUpstream(t, (_req, res, n) => {
    if (n === 1) return void res.writeHead(500).end('boom')
    res.end('hello')
  })
  const { c, delays, attempts } = client(t)
  const res = await c.request({ url: `${up.origin}/doc`, upstream: 'http' })
  t.equal(res.status, 200)
  t.equal((await readAll(res.body)).toString(), 'hello')
  t.equal(up.requests.length, 2)
  t.same(delays, [75], 'backoff: half of 100ms fixed plus half times jitter 0.5')
  t.same(attempts.map((a) => a.outcome), ['server_error', 'success'])
  t.equal(attempts[0]?.upstream, 'http')
})

t.test('429 with a fractional Retry-After waits what was asked; an HTTP date and a huge value are clamped', async (t) => {
  const answers = ['0.40235', new Date(NOW + 2000).toUTCString(), '86400']
  const up = await fakeUpstream(t, (_req, res, n) => {
    const ask = answers[n - 1]
    if (ask) return void res.writeHead(429, { 'retry-after': ask }).end()
    res.end('{"ok":true}')
  })
  const { c, delays, attempts } = client(t, { retries: 3 })
  const res = await c.getJson({ url: `${up.origin}/x`, upstream: 'samsara', headers: { authorization: 'Bearer t0ken' } })
  t.same(res.data, { ok: true })
  t.same(delays, [403, 2000, 5000])
  t.same(attempts.map((a) => a.outcome), ['rate_limited', 'rate_limited', 'rate_limited', 'success'])
  t.equal(up.requests[3]?.headers.authorization, 'Bearer t0ken')
})

t.test('429 on every attempt: FetchError 502 (retryable) after retries+1 attempts', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => void res.writeHead(429).end())
  const { c } = client(t)
  const err = await rejects(t, c.request({ url: up.origin, upstream: 'frontapp' }), 'FetchError', 502)
  t.equal(err.retryable, true)
  t.equal(up.requests.length, 3)
})

t.test('4xx other than 408/429 is UpstreamRejected 422 and is not retried', async (t) => {
  for (const status of [400, 401, 403, 404, 410]) {
    const up = await fakeUpstream(t, (_req, res) => void res.writeHead(status).end('{"message":"secret-ish detail"}'))
    const { c } = client(t)
    const err = await rejects(t, c.request({ url: up.origin, upstream: 'turvo' }), 'UpstreamRejected', 422)
    t.equal(up.requests.length, 1, `${status} not retried`)
    t.notMatch(err.message, /secret-ish/, 'the upstream body is not echoed')
  }
})

t.test('headers that never come: a timeout, retried, then FetchError 504', async (t) => {
  const up = await fakeUpstream(t, () => undefined)
  const { c, attempts } = client(t, { timeoutMs: 150, retries: 1 })
  await rejects(t, c.request({ url: up.origin, upstream: 'http' }), 'FetchError', 504)
  t.equal(up.requests.length, 2)
  t.same(attempts.map((a) => a.outcome), ['timeout', 'timeout'])
})

t.test('a body that stalls mid-way fails with FetchError 504', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('only a part')
  })
  const { c } = client(t, { timeoutMs: 150 })
  const res = await c.request({ url: up.origin, upstream: 'http' })
  await rejects(t, readAll(res.body), 'FetchError', 504)
})

t.test('a body shorter than its Content-Length is refused', async (t) => {
  const up = await fakeUpstream(t, (req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('ten bytes!')
    setImmediate(() => req.socket.destroy())
  })
  const { c } = client(t)
  const res = await c.request({ url: up.origin, upstream: 'http' })
  await rejects(t, readAll(res.body), 'FetchError', 502)
})

t.test('size cap: refused up front from Content-Length, and while streaming a chunked body', async (t) => {
  const up = await fakeUpstream(t, (req, res) => {
    if (req.url === '/declared') return void res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000))
    res.writeHead(200)
    for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500))
    res.end()
  })
  const { c } = client(t)
  await rejects(t, c.request({ url: `${up.origin}/declared`, upstream: 'http' }), 'PayloadTooLarge', 413)
  const res = await c.request({ url: `${up.origin}/chunked`, upstream: 'http' })
  t.equal(res.contentLength, null)
  await rejects(t, readAll(res.body), 'PayloadTooLarge', 413)
  const small = await c.request({ url: `${up.origin}/chunked`, upstream: 'http', maxBytes: 10_000 })
  t.equal((await readAll(small.body)).length, 5000, 'a per-request cap overrides the default')
})

t.test('connection refused: retried, then FetchError 502', async (t) => {
  const port = await closedPort()
  const { c, attempts } = client(t, { retries: 1 })
  await rejects(t, c.request({ url: `http://127.0.0.1:${port}/`, upstream: 'http' }), 'FetchError', 502)
  t.same(attempts.map((a) => a.outcome), ['network_error', 'network_error'])
})

t.test('redirects: a chain is followed, credentials stay on the first origin, more than 5 hops is refused', async (t) => {
  const other = await fakeUpstream(t, (_req, res) => void res.end('moved here'))
  const up = await fakeUpstream(t, (req, res) => {
    const hop = Number(req.url?.slice(1))
    if (req.url === '/away') return void res.writeHead(302, { location: `${other.origin}/final` }).end()
    res.writeHead(301, { location: `/${hop + 1}` }).end()
  })
  const { c } = client(t)
  const res = await c.request({ url: `${up.origin}/away`, upstream: 'frontapp', followRedirects: true, headers: { authorization: 'Bearer s3cret' } })
  t.equal((await readAll(res.body)).toString(), 'moved here')
  t.equal(res.url.href, `${other.origin}/final`)
  t.equal(up.requests[0]?.headers.authorization, 'Bearer s3cret')
  t.equal(other.requests[0]?.headers.authorization, undefined, 'the token never leaves its origin')

  await rejects(t, c.request({ url: `${up.origin}/0`, upstream: 'http', followRedirects: true }), 'UpstreamRejected', 422)
  t.equal(up.requests.filter((r) => r.url !== '/away').length, 6, 'the first request and 5 hops')
  await rejects(t, c.request({ url: `${up.origin}/0`, upstream: 'http' }), 'UpstreamRejected', 422)
})

t.test('a redirect from https to http is refused without touching the http target', async (t) => {
  const plain = await fakeUpstream(t, (_req, res) => void res.end('downgraded'))
  const secure = await fakeUpstream(t, (_req, res) => void res.writeHead(302, { location: `${plain.origin}/x` }).end(), { tls: true })
  const { c } = client(t)
  await rejects(t, c.request({ url: `${secure.origin}/`, upstream: 'http', followRedirects: true }), 'SourceNotAllowed', 403)
  t.equal(secure.requests.length, 1)
  t.equal(plain.connections, 0)
})

t.test('getJson: a body that is not JSON is InvalidJSON 422', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => void res.end('<html>'))
  const { c } = client(t)
  await rejects(t, c.getJson({ url: up.origin, upstream: 'samsara' }), 'InvalidJSON', 422)
})

t.test('a cancelled request stops waiting and is not retried', async (t) => {
  const up = await fakeUpstream(t, () => undefined)
  const { c } = client(t)
  const controller = new AbortController()
  const pending = c.request({ url: up.origin, upstream: 'http', signal: controller.signal })
  setTimeout(() => controller.abort(), 50)
  await rejects(t, pending, 'FetchError', 502)
  t.equal(up.requests.length, 1)
})

t.test('undici is loaded once: by the first request or by warm, whichever comes first', async (t) => {
  const up = await fakeUpstream(t, (_req, res) => res.end('hello'))
  const { c } = client(t)
  // A request on a client nobody warmed loads the stack itself.
  const res = await c.request({ url: `${up.origin}/first`, upstream: 'http' })
  t.equal((await readAll(res.body)).toString(), 'hello')
  const loaded = c.warm()
  t.equal(c.warm(), loaded, 'the same load every time')
  t.type((await loaded).Agent, 'function', 'with the agent the requests use')
  const { c: warmed } = client(t)
  const early = warmed.warm()
  const second = await warmed.request({ url: `${up.origin}/second`, upstream: 'http' })
  t.equal((await readAll(second.body)).toString(), 'hello')
  t.equal(warmed.warm(), early, 'a request after warm uses the load warm began')
})
