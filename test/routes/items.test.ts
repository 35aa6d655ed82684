import t from 'tap'
import { buildTestApp, HOUR, upload } from '../helper.js'

t.test('list filters and pages with a cursor', async (t) => {
  const { app } = await buildTestApp(t)
  for (let i = 0; i < 7; i++) await upload(app, `D-${i}`, `content ${i}`)
  for (let i = 0; i < 3; i++) await upload(app, `F-${i}`, `front ${i}`, { source: 'frontapp' })
  await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/D-2', payload: { status: 'failed', error: 'boom' } })

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/v1/staging?limit=3${cursor ? `&cursor=${cursor}` : ''}`
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.ok(body.items.length <= 3)
    seen.push(...body.items.map((r: { source: string; document_id: string }) => `${r.source}/${r.document_id}`))
    cursor = body.next_cursor
    pages++
  } while (cursor && pages < 10)
  t.equal(seen.length, 10, 'every item once')
  t.equal(new Set(seen).size, 10)
  t.equal(pages, 4)

  const failed = (await app.inject({ method: 'GET', url: '/v1/staging?status=failed' })).json()
  t.same(failed.items.map((r: { document_id: string }) => r.document_id), ['D-2'])
  t.equal(failed.next_cursor, null)
  const front = (await app.inject({ method: 'GET', url: '/v1/staging?source=frontapp&kind=document' })).json()
  t.equal(front.items.length, 3)
  const structured = (await app.inject({ method: 'GET', url: '/v1/staging?kind=structured' })).json()
  t.same(structured.items, [])

  for (const q of ['limit=0', 'limit=1001', 'status=done', 'source=ftp', 'cursor=not-a-cursor', 'kind=x']) {
    const res = await app.inject({ method: 'GET', url: `/v1/staging?${q}` })
    t.equal(res.statusCode, 400, q)
    t.match(res.json(), { code: 'ValidationError', detail: /query\./ }, `${q} names the query field`)
  }
})

t.test('a record, or 404 as problem+json', async (t) => {
  const { app } = await buildTestApp(t)
  await upload(app, 'DOC-1', 'x')
  const res = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/DOC-1' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().document_id, 'DOC-1')
  const missing = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/NOPE' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(missing.json(), { type: /NotFound/, title: String, status: 404, detail: String, code: 'NotFound', retryable: false })
  const badSource = await app.inject({ method: 'GET', url: '/v1/staging/ftp/DOC-1' })
  t.match(badSource.json(), { status: 400, code: 'ValidationError', detail: /params\.source/ })
  const badId = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/..%2Fetc' })
  t.match(badId.json(), { status: 400, code: 'ValidationError' })
  const noRoute = await app.inject({ method: 'GET', url: '/v2/nothing' })
  t.match(noRoute.json(), { status: 404, code: 'NotFound' })
})

t.test('content with ETag, If-None-Match and Range', async (t) => {
  const { app } = await buildTestApp(t)
  const record = (await upload(app, 'DOC-1', '0123456789', { contentType: 'text/plain', filename: 'digits.txt' })).json()
  const url = '/v1/staging/local_upload/DOC-1/content'
  const full = await app.inject({ method: 'GET', url })
  t.equal(full.statusCode, 200)
  t.equal(full.body, '0123456789')
  t.equal(full.headers['content-type'], 'text/plain')
  t.equal(full.headers['content-length'], '10')
  t.equal(full.headers.etag, `"${record.sha256}"`)
  t.equal(full.headers['accept-ranges'], 'bytes')
  t.match(full.headers['content-disposition'], 'filename="digits.txt"')

  const notModified = await app.inject({ method: 'GET', url, headers: { 'if-none-match': `"${record.sha256}"` } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  const otherTag = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"abc"' } })
  t.equal(otherTag.statusCode, 200)

  const ranges: [string, string, string][] = [
    ['bytes=2-5', '2345', 'bytes 2-5/10'],
    ['bytes=7-', '789', 'bytes 7-9/10'],
    ['bytes=-3', '789', 'bytes 7-9/10'],
    ['bytes=8-100', '89', 'bytes 8-9/10']
  ]
  for (const [range, body, contentRange] of ranges) {
    const res = await app.inject({ method: 'GET', url, headers: { range } })
    t.equal(res.statusCode, 206, range)
    t.equal(res.body, body)
    t.equal(res.headers['content-range'], contentRange)
    t.equal(res.headers['content-length'], String(body.length))
  }
  const outside = await app.inject({ method: 'GET', url, headers: { range: 'bytes=10-' } })
  t.equal(outside.statusCode, 416)
  t.equal(outside.headers['content-range'], 'bytes */10')
  t.match(outside.json(), { code: 'ValidationError', status: 416 })
  const multi = await app.inject({ method: 'GET', url, headers: { range: 'bytes=0-1,4-5' } })
  t.equal(multi.statusCode, 200, 'several ranges are served whole')
  const missing = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/NOPE/content' })
  t.equal(missing.statusCode, 404)
})

t.test('PATCH follows the transition table', async (t) => {
  const { app, clock, config } = await buildTestApp(t)
  const patch = (id: string, payload: object) => app.inject({ method: 'PATCH', url: `/v1/staging/local_upload/${id}`, payload })
  const fresh = async (id: string, status: 'active' | 'success' | 'failed') => {
    await upload(app, id, id)
    if (status !== 'active') t.equal((await patch(id, { status })).statusCode, 200)
  }
  const table: [string, string, number][] = [
    ['active', 'active', 200],
    ['active', 'success', 200],
    ['active', 'failed', 200],
    ['failed', 'active', 200],
    ['failed', 'failed', 200],
    ['failed', 'success', 409],
    ['success', 'success', 200],
    ['success', 'active', 409],
    ['success', 'failed', 409]
  ]
  let n = 0
  for (const [from, to, code] of table) {
    const id = `T-${n++}`
    await fresh(id, from as 'active')
    clock.advance(1000)
    const res = await patch(id, { status: to })
    t.equal(res.statusCode, code, `${from} → ${to}`)
    if (code === 409) t.match(res.json(), { code: 'InvalidTransition', retryable: false })
    else t.equal(res.json().updated_at, new Date(clock.now()).toISOString(), 'updated_at refreshed')
  }

  await upload(app, 'F-1', 'x')
  const failed = (await patch('F-1', { status: 'failed', error: 'parser crashed' })).json()
  t.equal(failed.error, 'parser crashed')
  t.equal(failed.expires_at, new Date(clock.now() + config.failedRetentionMs).toISOString())
  clock.advance(HOUR)
  const back = (await patch('F-1', { status: 'active' })).json()
  t.equal(back.expires_at, null)
  t.equal(back.error, null)

  t.equal((await patch('NOPE', { status: 'failed' })).statusCode, 404)
  const bad = await patch('F-1', { status: 'done' })
  t.match(bad.json(), { status: 400, errors: [{ field: 'body.status' }] })
})

t.test('cleanup: success removes now, failed keeps until expiry, repeats are harmless', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const { stat } = await import('node:fs/promises')
  const done = (id: string, payload: object) => app.inject({ method: 'POST', url: `/v1/staging/local_upload/${id}/cleanup`, payload })
  await upload(app, 'S-1', 'x')
  const res = await done('S-1', { status: 'success' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { source: 'local_upload', document_id: 'S-1', status: 'success', removed: true })
  await t.rejects(stat(`${baseDir}/local_upload/S-1`), 'directory gone')
  t.same((await done('S-1', { status: 'success' })).json().removed, false, 'repeat says removed: false')

  await upload(app, 'F-1', 'y')
  const failed = await done('F-1', { status: 'failed', error: 'bad rows' })
  t.same(failed.json(), { source: 'local_upload', document_id: 'F-1', status: 'failed', removed: false })
  const record = (await app.inject({ method: 'GET', url: '/v1/staging/local_upload/F-1' })).json()
  t.equal(record.status, 'failed')
  t.equal(record.error, 'bad rows')
  t.type(record.expires_at, 'string')
  t.equal((await done('F-1', { status: 'failed' })).statusCode, 200, 'repeat is harmless')
  t.equal((await done('GONE', { status: 'failed' })).json().removed, false)
  const bad = await done('F-1', { status: 'active' })
  t.equal(bad.statusCode, 400)
})

t.test('DELETE removes an item (204) or says 404', async (t) => {
  const { app } = await buildTestApp(t)
  await upload(app, 'DOC-1', 'x')
  const res = await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/DOC-1' })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/DOC-1' })).statusCode, 404)
  const again = await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/DOC-1' })
  t.equal(again.statusCode, 404)
  t.match(again.json(), { code: 'NotFound' })
})

t.test('stats come from the index and list every status', async (t) => {
  const { app } = await buildTestApp(t, { STAGING_MAX_SIZE_GB: '1' })
  const empty = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.same(empty.by_status, { active: 0, success: 0, failed: 0 })
  t.equal(empty.total_documents, 0)
  t.equal(empty.cleanup.last_run_at, null)
  await upload(app, 'A', 'aaaa', { source: 'frontapp' })
  await upload(app, 'B', 'bb', { source: 'frontapp' })
  await upload(app, 'C', 'c', { source: 'samsara' })
  await app.inject({ method: 'PATCH', url: '/v1/staging/frontapp/B', payload: { status: 'success' } })
  await app.inject({ method: 'PATCH', url: '/v1/staging/samsara/C', payload: { status: 'failed' } })
  await app.inject({ method: 'POST', url: '/v1/cleanup?dry_run=true' })
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.match(stats, {
    total_documents: 3,
    by_status: { active: 1, success: 1, failed: 1 },
    by_source: { frontapp: 2, samsara: 1 },
    disk_usage: { total_bytes: 7, document_count: 3, by_source: { frontapp: 6, samsara: 1 } },
    quota: { max_bytes: 1024 ** 3 },
    cleanup: { last_run_at: String, last_result: { dry_run: true } }
  })
  t.equal(stats.quota.used_ratio, Math.round((7 / 1024 ** 3) * 1e6) / 1e6)
})
