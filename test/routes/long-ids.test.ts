// The longest id the contract allows (128 characters) works on every item route; one more is a 400.
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'

const LONGEST = `L${'x'.repeat(126)}9`

t.test('a 128-character id: staged, read, downloaded, patched, completed and deleted', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal(LONGEST.length, 128)
  const base = `/v1/staging/local_upload/${LONGEST}`
  const json = { 'content-type': 'application/json' }

  const staged = await upload(app, LONGEST, 'long id bytes')
  t.equal(staged.statusCode, 201)
  t.equal(staged.headers.location, base)

  const read = await app.inject({ method: 'GET', url: base })
  t.equal(read.statusCode, 200)
  t.equal(read.json().document_id, LONGEST)

  const content = await app.inject({ method: 'GET', url: `${base}/content` })
  t.equal(content.statusCode, 200)
  t.equal(content.body, 'long id bytes')

  const patched = await app.inject({ method: 'PATCH', url: base, headers: json, payload: { status: 'failed', error: 'x' } })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().status, 'failed')

  const failed = await app.inject({ method: 'POST', url: `${base}/cleanup`, headers: json, payload: { status: 'failed' } })
  t.same(failed.json(), { source: 'local_upload', document_id: LONGEST, status: 'failed', removed: false })

  const listed = await app.inject({ method: 'GET', url: '/v1/staging?limit=1' })
  const next = await app.inject({ method: 'GET', url: `/v1/staging?limit=1&cursor=${listed.json().next_cursor ?? ''}` })
  t.equal(listed.json().items[0].document_id, LONGEST, 'listed')
  t.not(next.statusCode, 500)

  const deleted = await app.inject({ method: 'DELETE', url: base })
  t.equal(deleted.statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: base })).statusCode, 404)

  t.equal((await upload(app, LONGEST, 'again')).statusCode, 201)
  const done = await app.inject({ method: 'POST', url: `${base}/cleanup`, headers: json, payload: { status: 'success' } })
  t.same(done.json(), { source: 'local_upload', document_id: LONGEST, status: 'success', removed: true })
})

t.test('a 128-character structured data_id is read back through every route', async (t) => {
  const { app } = await buildTestApp(t)
  const staged = await app.inject({
    method: 'POST',
    url: '/v1/structured',
    headers: { 'content-type': 'application/json' },
    payload: { data_id: LONGEST, source: 'frontapp', source_location: '{"id":1}' }
  })
  t.equal(staged.statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: `/v1/staging/frontapp/${LONGEST}/content` })).json().id, 1)
})

t.test('ids past the contract are a 400 ValidationError problem on every item route, however long', async (t) => {
  const { app } = await buildTestApp(t)
  for (const id of [`${LONGEST}x`, 'y'.repeat(700)]) {
    for (const [method, suffix] of [['GET', ''], ['GET', '/content'], ['PATCH', ''], ['POST', '/cleanup'], ['DELETE', '']] as const) {
      const res = await app.inject({
        method,
        url: `/v1/staging/local_upload/${id}${suffix}`,
        ...(method === 'PATCH' || method === 'POST' ? { headers: { 'content-type': 'application/json' }, payload: { status: 'failed' } } : {})
      })
      t.equal(res.statusCode, 400, `${method} …${suffix} with ${id.length} characters`)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
      t.equal(res.json().code, 'ValidationError')
    }
  }
})
