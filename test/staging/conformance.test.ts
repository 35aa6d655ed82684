// The store's contract, run against every engine through HTTP (tus-node-server's stores.ts is the
// model): the same requests must give the same answers, records, quota and sweep results.
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { HOUR, upload } from '../helper.js'
import { engineApp, ENGINES } from './engine-fixture.js'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

for (const engine of ENGINES) {
  t.test(`${engine} engine`, async (t) => {
    t.test('stage, read back, range, repeat, conflict, overwrite', async (t) => {
      const { app } = await engineApp(t, engine)
      const first = await upload(app, 'DOC-1', 'hello staging', { source: 'frontapp', filename: 'a.pdf' })
      t.equal(first.statusCode, 201)
      t.equal(first.headers.location, '/v1/staging/frontapp/DOC-1')
      const record = first.json()
      t.match(record, { document_id: 'DOC-1', source: 'frontapp', kind: 'document', status: 'active', filename: 'a.pdf', file_size_bytes: 13, sha256: sha('hello staging'), error: null, expires_at: null })

      t.same((await app.inject({ url: '/v1/staging/frontapp/DOC-1' })).json(), record, 'GET returns the committed record')
      const content = await app.inject({ url: '/v1/staging/frontapp/DOC-1/content' })
      t.equal(content.statusCode, 200)
      t.equal(content.body, 'hello staging')
      t.equal(content.headers.etag, `"${record.sha256}"`)
      t.equal(content.headers['content-type'], 'application/pdf')
      const range = await app.inject({ url: '/v1/staging/frontapp/DOC-1/content', headers: { range: 'bytes=6-12' } })
      t.equal(range.statusCode, 206)
      t.equal(range.body, 'staging')
      t.equal(range.headers['content-range'], 'bytes 6-12/13')
      const outside = await app.inject({ url: '/v1/staging/frontapp/DOC-1/content', headers: { range: 'bytes=50-60' } })
      t.equal(outside.statusCode, 416)
      const cached = await app.inject({ url: '/v1/staging/frontapp/DOC-1/content', headers: { 'if-none-match': `"${record.sha256}"` } })
      t.equal(cached.statusCode, 304)

      const repeat = await upload(app, 'DOC-1', 'hello staging', { source: 'frontapp', filename: 'a.pdf' })
      t.equal(repeat.statusCode, 200, 'same bytes again: the existing record')
      t.same(repeat.json(), record)
      const conflict = await upload(app, 'DOC-1', 'other bytes', { source: 'frontapp' })
      t.equal(conflict.statusCode, 409)
      t.equal(conflict.json().code, 'Conflict')
      const replaced = await upload(app, 'DOC-1', 'other bytes', { source: 'frontapp', overwrite: true })
      t.equal(replaced.statusCode, 201)
      t.equal(replaced.json().sha256, sha('other bytes'))
      t.equal((await app.inject({ url: '/v1/staging/frontapp/DOC-1/content' })).body, 'other bytes')

      const stats = (await app.inject({ url: '/v1/stats' })).json()
      t.match(stats, { total_documents: 1, by_status: { active: 1, success: 0, failed: 0 }, by_source: { frontapp: 1 }, disk_usage: { total_bytes: 11 } })
      t.equal(stats.quota.reserved_bytes, 0, 'no reservation left behind')
    })

    t.test('a large body streams both ways with its sha256', async (t) => {
      const { app } = await engineApp(t, engine)
      const big = randomBytes(20 * 1024 * 1024 + 123)
      const res = await upload(app, 'BIG', big)
      t.equal(res.statusCode, 201)
      t.match(res.json(), { file_size_bytes: big.length, sha256: sha(big) })
      const whole = await app.inject({ url: '/v1/staging/local_upload/BIG/content' })
      t.equal(sha(whole.rawPayload), sha(big))
      const start = 9 * 1024 * 1024 - 7
      const part = await app.inject({ url: '/v1/staging/local_upload/BIG/content', headers: { range: `bytes=${start}-${start + 99}` } })
      t.equal(part.statusCode, 206)
      t.ok(part.rawPayload.equals(big.subarray(start, start + 100)), 'a range across a part boundary')
      const empty = await upload(app, 'EMPTY', '')
      t.equal(empty.statusCode, 201)
      t.match(empty.json(), { file_size_bytes: 0, sha256: sha('') })
      const emptyContent = await app.inject({ url: '/v1/staging/local_upload/EMPTY/content' })
      t.equal(emptyContent.statusCode, 200)
      t.equal(emptyContent.body, '')
    })

    t.test('status changes, completion and delete', async (t) => {
      const { app } = await engineApp(t, engine, { STAGING_FAILED_RETENTION_HOURS: '24' })
      await upload(app, 'S-1', 'one')
      await upload(app, 'S-2', 'two')
      const patch = (id: string, status: string, error?: string) => app.inject({ method: 'PATCH', url: `/v1/staging/local_upload/${id}`, payload: { status, ...(error ? { error } : {}) } })
      const failed = await patch('S-1', 'failed', 'parser broke')
      t.equal(failed.statusCode, 200)
      t.match(failed.json(), { status: 'failed', error: 'parser broke', expires_at: '2026-01-06T10:30:00.000Z' })
      const bad = await patch('S-1', 'success')
      t.equal(bad.statusCode, 409)
      t.equal(bad.json().code, 'InvalidTransition')
      t.match((await patch('S-1', 'active')).json(), { status: 'active', error: null, expires_at: null })
      t.equal((await patch('MISSING', 'failed')).statusCode, 404)

      const done = await app.inject({ method: 'POST', url: '/v1/staging/local_upload/S-1/cleanup', payload: { status: 'success' } })
      t.same(done.json(), { source: 'local_upload', document_id: 'S-1', status: 'success', removed: true })
      const again = await app.inject({ method: 'POST', url: '/v1/staging/local_upload/S-1/cleanup', payload: { status: 'success' } })
      t.equal(again.json().removed, false, 'repeating is harmless')
      t.equal((await app.inject({ url: '/v1/staging/local_upload/S-1' })).statusCode, 404)
      t.equal((await app.inject({ url: '/v1/staging/local_upload/S-1/content' })).statusCode, 404)
      const kept = await app.inject({ method: 'POST', url: '/v1/staging/local_upload/S-2/cleanup', payload: { status: 'failed', error: 'no' } })
      t.equal(kept.json().removed, false)
      t.equal((await app.inject({ url: '/v1/staging/local_upload/S-2' })).json().status, 'failed')

      t.equal((await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/S-2' })).statusCode, 204)
      t.equal((await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/S-2' })).statusCode, 404)
      t.match((await app.inject({ url: '/v1/stats' })).json(), { total_documents: 0, by_status: { active: 0, success: 0, failed: 0 }, disk_usage: { total_bytes: 0 } })
    })

    t.test('list pages in key order with filters', async (t) => {
      const { app } = await engineApp(t, engine)
      for (const [source, id] of [['https', 'B'], ['http', 'Z'], ['frontapp', 'b-2'], ['frontapp', 'B.1'], ['frontapp', 'a'], ['turvo', '0']]) {
        t.equal((await upload(app, id as string, `${source}:${id}`, { source: source as string })).statusCode, 201)
      }
      await app.inject({ method: 'PATCH', url: '/v1/staging/frontapp/a', payload: { status: 'failed' } })
      const keys: string[] = []
      let cursor: string | null = null
      do {
        const page: { items: { source: string; document_id: string }[]; next_cursor: string | null } = (await app.inject({ url: `/v1/staging?limit=2${cursor ? `&cursor=${cursor}` : ''}` })).json()
        t.ok(page.items.length <= 2)
        keys.push(...page.items.map((r: { source: string; document_id: string }) => `${r.source}/${r.document_id}`))
        cursor = page.next_cursor
      } while (cursor)
      t.same(keys, ['frontapp/B.1', 'frontapp/a', 'frontapp/b-2', 'http/Z', 'https/B', 'turvo/0'], 'byte order of source/document_id')
      const frontActive = (await app.inject({ url: '/v1/staging?source=frontapp&status=active' })).json()
      t.same(frontActive.items.map((r: { document_id: string }) => r.document_id), ['B.1', 'b-2'])
      t.equal(frontActive.next_cursor, null)
      const structured = (await app.inject({ url: '/v1/staging?kind=structured' })).json()
      t.same(structured.items, [])
    })

    t.test('quota and the size cap hold; a refusal holds nothing', async (t) => {
      const { app } = await engineApp(t, engine, { STAGING_MAX_SIZE_GB: String(3000 / 1024 ** 3), STAGING_MAX_DOCUMENT_MB: String(2500 / 1024 ** 2) })
      t.equal((await upload(app, 'Q-1', Buffer.alloc(2000, 1))).statusCode, 201)
      const over = await upload(app, 'Q-2', Buffer.alloc(1500, 2))
      t.equal(over.statusCode, 507)
      t.match(over.json(), { code: 'QuotaExceeded', retryable: true })
      const tooBig = await upload(app, 'Q-3', Buffer.alloc(2600, 3))
      t.equal(tooBig.statusCode, 413)
      t.equal(tooBig.json().code, 'PayloadTooLarge')
      const fits = await upload(app, 'Q-4', Buffer.alloc(1000, 4))
      t.equal(fits.statusCode, 201, 'exactly up to the quota')
      const stats = (await app.inject({ url: '/v1/stats' })).json()
      t.match(stats, { total_documents: 2, disk_usage: { total_bytes: 3000 }, quota: { max_bytes: 3000, used_ratio: 1, reserved_bytes: 0 } })
      t.equal((await app.inject({ url: '/v1/staging/local_upload/Q-2' })).statusCode, 404, 'no partial item')
    })

    t.test('the sweep removes success and expired items once, marks abandoned ones; a dry run changes nothing', async (t) => {
      const { app, clock } = await engineApp(t, engine, { STAGING_FAILED_RETENTION_HOURS: '24', STAGING_ABANDONED_AFTER_HOURS: '72' })
      const patch = (id: string, status: string) => app.inject({ method: 'PATCH', url: `/v1/staging/local_upload/${id}`, payload: { status } })
      await upload(app, 'OLD-FAILED', 'a')
      await patch('OLD-FAILED', 'failed')
      await upload(app, 'DONE', 'bb')
      await patch('DONE', 'success')
      await upload(app, 'STALE', 'ccc')
      clock.advance(23 * HOUR)
      await upload(app, 'NEW-FAILED', 'dddd')
      await patch('NEW-FAILED', 'failed')
      await upload(app, 'BUSY', 'eeeee')
      clock.advance(50 * HOUR) // OLD-FAILED expired, NEW-FAILED expired, STALE untouched 73 h, BUSY 50 h
      const dry = (await app.inject({ method: 'POST', url: '/v1/cleanup?dry_run=true' })).json()
      t.match(dry, { dry_run: true, removed: 3, bytes_freed: 1 + 2 + 4, marked_abandoned: 1, orphans_removed: 0, errors: 0 })
      t.equal((await app.inject({ url: '/v1/stats' })).json().total_documents, 5, 'the dry run changed nothing')
      const swept = (await app.inject({ method: 'POST', url: '/v1/cleanup' })).json()
      t.match(swept, { dry_run: false, removed: 3, bytes_freed: 7, marked_abandoned: 1, orphans_removed: 0, errors: 0 })
      const reasons = (r: { items: { document_id: string; reason: string }[] }) => r.items.map((i) => `${i.document_id}:${i.reason}`).sort()
      t.same(reasons(swept), ['DONE:success', 'NEW-FAILED:expired', 'OLD-FAILED:expired', 'STALE:abandoned'])
      t.same(reasons(dry), reasons(swept), 'the dry run listed what the sweep did')
      t.match((await app.inject({ url: '/v1/staging/local_upload/STALE' })).json(), { status: 'failed', error: 'abandoned' })
      const second = (await app.inject({ method: 'POST', url: '/v1/cleanup' })).json()
      t.match(second, { removed: 0, marked_abandoned: 0, items: [] }, 'nothing is removed twice')
      const stats = (await app.inject({ url: '/v1/stats' })).json()
      t.match(stats, { total_documents: 2, by_status: { active: 1, success: 0, failed: 1 }, disk_usage: { total_bytes: 3 + 5 } })
      t.ok(stats.cleanup.last_run_at, 'the last run is reported')
    })

    t.test('metrics gauges read the same numbers as /v1/stats', async (t) => {
      const { app } = await engineApp(t, engine)
      await upload(app, 'M-1', 'xx', { source: 'samsara' })
      await upload(app, 'M-2', 'yyy', { source: 'frontapp' })
      await app.inject({ method: 'PATCH', url: '/v1/staging/frontapp/M-2', payload: { status: 'failed' } })
      const text = (await app.inject({ url: '/metrics' })).body
      t.match(text, /staging_disk_usage_bytes\{source="samsara"\} 2\n/)
      t.match(text, /staging_disk_usage_bytes\{source="frontapp"\} 3\n/)
      t.match(text, /staging_documents_by_status\{status="failed"\} 1\n/)
      t.match(text, /staging_documents_by_status\{status="active"\} 1\n/)
      t.match(text, /staging_reserved_bytes 0\n/)
      t.match((await app.inject({ url: '/readyz' })).json(), { status: 'ok', checks: { staging_tree_loaded: true, staging_tree_writable: true } })
    })

    t.test('structured JSON and webhook deliveries stage once', async (t) => {
      const { app } = await engineApp(t, engine, { STAGING_AUTH_DISABLED: 'true' })
      const payload = JSON.stringify({ id: 'evt_conf_1', type: 'x' })
      const posted = await app.inject({ method: 'POST', url: '/v1/structured', payload: { data_id: 'evt_conf_1', source: 'frontapp', source_location: payload } })
      t.equal(posted.statusCode, 201)
      t.match(posted.json(), { kind: 'structured', filename: 'data.json', content_type: 'application/json' })
      t.equal((await app.inject({ url: '/v1/staging/frontapp/evt_conf_1/content' })).body, payload)
    })
  })
}
