import { createHash } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { silentObserver } from '../../src/staging/observer.js'
import { applicationEvent } from '../fakes/front-signer.js'
import { buildTestApp } from '../helper.js'

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')
const post = (payload: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/v1/structured',
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload)
})

t.test('a frontapp payload is parsed, not fetched, and staged byte for byte as data.json', async (t) => {
  const fetched: string[] = []
  const { app, baseDir } = await buildTestApp(t, {}, { observer: { ...silentObserver, structuredFetched: (s) => fetched.push(s) } })
  const payload = applicationEvent('evt_posted')
  const res = await app.inject(post({ data_id: 'evt_posted', source: 'frontapp', source_location: payload }))
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/v1/staging/frontapp/evt_posted')
  t.match(res.json(), {
    document_id: 'evt_posted',
    source: 'frontapp',
    kind: 'structured',
    filename: 'data.json',
    content_type: 'application/json',
    source_location: null,
    sha256: sha(payload),
    file_size_bytes: Buffer.byteLength(payload)
  })
  t.equal(await readFile(join(baseDir, 'frontapp', 'evt_posted', 'data.json'), 'utf8'), payload)
  t.same(fetched, ['frontapp'])
})

t.test('a frontapp payload that is not JSON is 422 InvalidJSON and leaves nothing', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const res = await app.inject(post({ data_id: 'evt_bad', source: 'frontapp', source_location: '{"id": "evt_bad",' }))
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'InvalidJSON', retryable: false })
  t.same((await readdir(baseDir)).filter((n) => n !== '.lock' && n !== '.events'), ['.tmp'])
})

t.test('repeat, conflict and overwrite follow the document rules', async (t) => {
  const { app } = await buildTestApp(t)
  const one = JSON.stringify({ id: 'evt_r', n: 1 })
  const two = JSON.stringify({ id: 'evt_r', n: 2 })
  t.equal((await app.inject(post({ data_id: 'evt_r', source: 'frontapp', source_location: one }))).statusCode, 201)
  t.equal((await app.inject(post({ data_id: 'evt_r', source: 'frontapp', source_location: one }))).statusCode, 200)
  const conflict = await app.inject(post({ data_id: 'evt_r', source: 'frontapp', source_location: two }))
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().code, 'Conflict')
  const replaced = await app.inject(post({ data_id: 'evt_r', source: 'frontapp', source_location: two, overwrite: true }))
  t.equal(replaced.statusCode, 201)
  t.equal(replaced.json().sha256, sha(two))
})

t.test('bad bodies are 400 ValidationError; other content types 415', async (t) => {
  const { app } = await buildTestApp(t)
  const bad = [
    { data_id: 'x1', source: 'http', source_location: '{}' },
    { data_id: 'x1', source: 'local_upload', source_location: '{}' },
    { data_id: '../x', source: 'frontapp', source_location: '{}' },
    { data_id: 'x1', source: 'frontapp' },
    { data_id: 'x1', source: 'frontapp', source_location: '' }
  ]
  for (const body of bad) {
    const res = await app.inject(post(body))
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().code, 'ValidationError')
  }
  const text = await app.inject(post('data_id=x1', { 'content-type': 'text/plain' }))
  t.equal(text.statusCode, 415)
  t.equal(text.json().code, 'UnsupportedMediaType')
})

t.test('the route needs an ingest token when tokens are configured', async (t) => {
  const { app } = await buildTestApp(t, { STAGING_API_TOKENS: 'ingest:ingest-token-123' })
  const body = { data_id: 'evt_a', source: 'frontapp', source_location: '{}' }
  t.equal((await app.inject(post(body))).statusCode, 401)
  t.equal((await app.inject(post(body, { authorization: 'Bearer ingest-token-123' }))).statusCode, 201)
})
