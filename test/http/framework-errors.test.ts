// Answers the framework and Node's parser produce are problem+json with a catalogue code, never a 5xx.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp } from '../helper.js'
import { rawExchange } from './raw-socket.js'

const PROBLEM = /^application\/problem\+json/

function parseRaw(text: string): { status: number; type: string; body: Record<string, unknown> } {
  const [head = '', body = ''] = text.split('\r\n\r\n')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
  const type = /content-type: ([^\r]+)/i.exec(head)?.[1] ?? ''
  return { status, type, body: JSON.parse(body) as Record<string, unknown> }
}

t.test('bad percent-encoding and invalid UTF-8 in the path', async (t) => {
  const { app } = await buildTestApp(t)
  for (const url of ['/v1/staging/local_upload/%E0%A4%A', '/v1/staging/local_upload/%FF', '/v1/staging/local_upload/%C0%AF/content', '/v1/staging/%ZZ/x']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 400, url)
    t.match(res.headers['content-type'], PROBLEM)
    t.match(res.json(), { code: 'ValidationError', retryable: false, status: 400 })
  }
})

t.test('malformed multipart bodies are 400 ValidationError and leave nothing behind', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const b = 'bnd'
  const head = `--${b}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nMP-1\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`
  const cases: [string, string, string][] = [
    ['no boundary', 'multipart/form-data', head],
    ['empty boundary', 'multipart/form-data; boundary=', head],
    ['over-long boundary', `multipart/form-data; boundary=${'x'.repeat(300)}`, `--${'x'.repeat(300)}\r\n`],
    ['truncated in the file', `multipart/form-data; boundary=${b}`, `${head}abcdef`],
    ['truncated in a field', `multipart/form-data; boundary=${b}`, `--${b}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nMP`],
    ['no parts at all', `multipart/form-data; boundary=${b}`, 'garbage'],
    ['part header without a blank line', `multipart/form-data; boundary=${b}`, `--${b}\r\nContent-Disposition: form-data; name="file"; filename="x"`]
  ]
  for (const [name, type, payload] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': type }, payload })
    t.equal(res.statusCode, 400, name)
    t.match(res.headers['content-type'], PROBLEM, name)
    t.equal(res.json().code, 'ValidationError', name)
  }
  t.same(await readdir(join(baseDir, '.tmp')), [], 'no draft left')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'no quota held')
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging' })).json().items.length, 0)
})

t.test('body parser and content-type errors', async (t) => {
  const { app } = await buildTestApp(t)
  const cases: [string, Record<string, string>, string, number, string][] = [
    ['/v1/documents', { 'content-type': 'application/json' }, '{not json', 400, 'ValidationError'],
    ['/v1/documents', { 'content-type': 'application/json' }, '', 400, 'ValidationError'],
    ['/v1/documents', { 'content-type': 'text/plain' }, 'x', 415, 'UnsupportedMediaType'],
    ['/v1/documents', { 'content-type': 'application/json', 'content-length': '100' }, '{}', 400, 'ValidationError'],
    ['/v1/structured', { 'content-type': 'application/xml' }, '<x/>', 415, 'UnsupportedMediaType'],
    ['/v1/cleanup', { 'content-type': 'application/json' }, '{', 400, 'ValidationError']
  ]
  for (const [url, headers, payload, status, code] of cases) {
    const res = await app.inject({ method: 'POST', url, headers, payload })
    t.equal(res.statusCode, status, `${url} ${JSON.stringify(headers)}`)
    t.match(res.headers['content-type'], PROBLEM)
    t.equal(res.json().code, code)
  }
})

t.test('what Node\'s parser refuses is answered as problem+json on the socket', async (t) => {
  const { app } = await buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port

  const longUrl = parseRaw(await rawExchange(port, `GET /v1/staging?cursor=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`))
  t.equal(longUrl.status, 431, 'over-long URL')
  t.match(longUrl.type, PROBLEM)
  t.equal(longUrl.body.code, 'ValidationError')

  const bigHeader = parseRaw(await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`))
  t.equal(bigHeader.status, 431, 'over-long header')
  t.equal(bigHeader.body.code, 'ValidationError')

  const garbage = parseRaw(await rawExchange(port, 'THIS IS NOT HTTP\r\n\r\n'))
  t.equal(garbage.status, 400, 'garbage request line')
  t.match(garbage.type, PROBLEM)
  t.equal(garbage.body.code, 'ValidationError')

  const badLength = parseRaw(await rawExchange(port, 'POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'))
  t.equal(badLength.status, 400, 'bad Content-Length')
  t.equal(badLength.body.code, 'ValidationError')

  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200, 'the server still serves')
})
