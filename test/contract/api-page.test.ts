// The API page: operations grouped by tag, request examples that work when tried, no additionalProp noise.
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { TAGS } from '../../src/http/openapi-examples.js'
import { buildTestApp } from '../helper.js'
import { pull, pullApp } from '../pulls/pull-helper.js'
import { fakeUpstream } from '../upstream/fake-upstream.js'
import { spec } from './spec.js'

type Json = Record<string, unknown>
const doc = spec as unknown as { tags: { name: string }[]; paths: Record<string, Record<string, Json>> }
const METHODS = ['get', 'put', 'post', 'patch', 'delete']

t.test('every operation has one of the six tags, listed in the issue\'s order', async (t) => {
  const names = ['documents', 'items', 'operations', 'webhooks', 'structured', 'system']
  t.same(doc.tags.map((x) => x.name), names)
  t.same(TAGS.map((x) => x.name), names)
  const tagOf = (method: string, path: string) => (doc.paths[path]?.[method]?.tags as string[] | undefined) ?? []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item).filter((m) => METHODS.includes(m))) {
      const tags = tagOf(method, path)
      t.equal(tags.length, 1, `${method} ${path} has one tag`)
      t.ok(names.includes(tags[0] as string), `${method} ${path}: ${tags[0]}`)
    }
  }
  t.same(tagOf('post', '/v1/documents'), ['documents'])
  t.same(tagOf('get', '/v1/staging/{source}/{document_id}/content'), ['items'])
  t.same(tagOf('post', '/v1/cleanup'), ['operations'])
  t.same(tagOf('post', '/v1/webhooks/frontapp'), ['webhooks'])
  t.same(tagOf('post', '/v1/structured'), ['structured'])
  t.same(tagOf('get', '/metrics'), ['system'])
})

t.test('no schema leaves additionalProperties open for Swagger UI to fill with additionalProp1', async (t) => {
  const open: string[] = []
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`))
    if (node === null || typeof node !== 'object') return
    const extra = (node as Json).additionalProperties
    if (extra === true || (typeof extra === 'object' && extra !== null && Object.keys(extra).length === 0)) open.push(where)
    for (const [k, v] of Object.entries(node)) walk(v, `${where}.${k}`)
  }
  walk(spec, '')
  t.same(open, [])
})

function examplesOf(method: string, path: string, type = 'application/json'): Record<string, { value: Json }> {
  const body = doc.paths[path]?.[method]?.requestBody as { content: Record<string, { examples?: Record<string, { value: Json }> }> }
  return body.content[type]?.examples ?? {}
}

t.test('pull examples agree with their own source: the Front ones are on the Front origin', async (t) => {
  const examples = examplesOf('post', '/v1/documents')
  t.ok(Object.keys(examples).length >= 3)
  const front = loadConfig({}).frontapp.baseUrl
  for (const [name, { value }] of Object.entries(examples)) {
    const location = String(value.source_location)
    if (value.source === 'frontapp') t.ok(location.startsWith('fil_') || new URL(location).origin === front, `${name}: Front id or URL on ${front}`)
    if (value.source === 'http' || value.source === 'https') t.equal(new URL(location).protocol, `${value.source}:`, `${name}: the scheme is the source`)
  }
})

t.test('the Front pull examples work when tried (against a fake Front at FRONTAPP_BASE_URL)', async (t) => {
  const front = await fakeUpstream(t, (_req, res) => void res.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF'))
  const { app } = await pullApp(t, { FRONTAPP_BASE_URL: front.origin, FRONTAPP_API_TOKEN: 'front-token-1234' })
  const defaultOrigin = loadConfig({}).frontapp.baseUrl
  for (const [name, { value }] of Object.entries(examplesOf('post', '/v1/documents')).filter(([, e]) => e.value.source === 'frontapp')) {
    // The example names the real Front origin; the test's Front listens elsewhere, so the origin is swapped.
    const location = String(value.source_location).replace(defaultOrigin, front.origin)
    const res = await pull(app, { ...value, source_location: location })
    t.equal(res.statusCode, 201, `${name}: ${res.body}`)
  }
  t.ok(front.requests.every((r) => r.url === '/download/fil_3q8a7mby'))
})

t.test('the structured Front example works when tried; every structured example names its own source', async (t) => {
  const { app } = await buildTestApp(t)
  const examples = examplesOf('post', '/v1/structured')
  t.same(Object.values(examples).map((e) => e.value.source).sort(), ['frontapp', 'samsara', 'turvo'])
  const frontapp = Object.values(examples).find((e) => e.value.source === 'frontapp')
  const res = await app.inject({ method: 'POST', url: '/v1/structured', payload: frontapp?.value ?? {} })
  t.equal(res.statusCode, 201, res.body)
})

t.test('/docs serves the page', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
})

t.test('the page, its assets and the document, answered by the docs app as before', async (t) => {
  const { app } = await buildTestApp(t)
  const spec = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(spec.statusCode, 200)
  const served = spec.json() as { paths: Record<string, unknown> }
  t.same(served, await app.openapiDocument(), '/openapi.json is the document the docs app built')
  t.ok(served.paths['/docs'], 'which documents the page (GET /docs)')
  t.notOk(Object.keys(served.paths).some((p) => p.startsWith('/docs/')), 'and none of its assets')

  const page = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /swagger-ui/i)
  const head = await app.inject({ method: 'HEAD', url: '/docs' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '', 'HEAD: no body')
  t.equal(head.headers['content-length'], String(Buffer.byteLength(page.body)), 'but the length of the page')

  const css = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /text\/css/)
  t.ok(css.headers.etag, 'assets carry their ETag')
  const again = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css', headers: { 'if-none-match': String(css.headers.etag) } })
  t.equal(again.statusCode, 304, 'and a conditional request is answered 304')
  t.equal(again.body, '')

  const redirect = await app.inject({ method: 'GET', url: '/docs/static/index.html' })
  t.equal(redirect.statusCode, 302)
  t.equal(redirect.headers.location, '/docs/')
  t.equal(redirect.headers['content-type'], undefined, 'an empty answer gets no Content-Type')

  for (const url of ['/docs/nope', '/docs/static/nope.js']) {
    const missing = await app.inject({ method: 'GET', url })
    t.equal(missing.statusCode, 404, `${url}: not found`)
    t.match(missing.headers['content-type'], /application\/problem\+json/)
    t.equal(missing.json().code, 'NotFound')
  }
  const post = await app.inject({ method: 'POST', url: '/docs/json' })
  t.equal(post.statusCode, 405, 'another method is still 405')
  t.equal(post.headers.allow, 'GET, HEAD')
})
