import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { iso } from '../../src/staging/clock.js'
import { SWEEP_CONCURRENCY, SWEEP_QUIET_MS } from '../../src/staging/sweep.js'
import { buildTestApp, FakeClock, HOUR, itemRecord, tempDir, upload, writeTreeItem } from '../helper.js'

async function setUp(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t, { STAGING_FAILED_RETENTION_HOURS: '24', STAGING_ABANDONED_AFTER_HOURS: '72' })
  const { app } = ctx
  const patch = (id: string, status: string) => app.inject({ method: 'PATCH', url: `/v1/staging/local_upload/${id}`, payload: { status } })
  await upload(app, 'OLD-FAILED', 'a')
  await patch('OLD-FAILED', 'failed')
  await upload(app, 'DONE', 'bb')
  await patch('DONE', 'success')
  await upload(app, 'STALE', 'ccc')
  ctx.clock.advance(23 * HOUR)
  await upload(app, 'NEW-FAILED', 'dddd')
  await patch('NEW-FAILED', 'failed')
  await upload(app, 'BUSY', 'eeeee')
  ctx.clock.advance(2 * HOUR) // OLD-FAILED is now 25 h failed, NEW-FAILED 2 h
  // An orphan: a directory without metadata, as a crash of an old version might leave.
  await mkdir(join(ctx.baseDir, 'http', 'ORPHAN'), { recursive: true })
  await writeFile(join(ctx.baseDir, 'http', 'ORPHAN', 'x.bin'), 'junk')
  // A temp leftover older than an hour, and a fresh one that must stay.
  await writeFile(join(ctx.baseDir, '.tmp', 'draft-old'), 'x')
  const past = new Date(Date.now() - 2 * HOUR)
  await utimes(join(ctx.baseDir, '.tmp', 'draft-old'), past, past)
  await writeFile(join(ctx.baseDir, '.tmp', 'draft-fresh'), 'x')
  return ctx
}

t.test('a dry run reports and changes nothing', async (t) => {
  const { app, baseDir } = await setUp(t)
  const res = await app.inject({ method: 'POST', url: '/v1/cleanup?dry_run=true' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { dry_run: true, removed: 2, bytes_freed: 3, marked_abandoned: 0, orphans_removed: 2, errors: 0 })
  t.same(
    body.items.map((i: { document_id: string; reason: string }) => `${i.document_id}:${i.reason}`).sort(),
    ['DONE:success', 'OLD-FAILED:expired', 'ORPHAN:orphan']
  )
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.equal(stats.total_documents, 5, 'nothing removed')
  t.same((await readdir(join(baseDir, 'http'))), ['ORPHAN'])
  t.same((await readdir(join(baseDir, '.tmp'))).sort(), ['draft-fresh', 'draft-old'])
})

t.test('a sweep removes expired and success items and orphans, marks abandoned items', async (t) => {
  const { app, baseDir, clock } = await setUp(t)
  clock.advance(48 * HOUR) // STALE untouched for 73 h; BUSY for 48 h
  const body = (await app.inject({ method: 'POST', url: '/v1/cleanup' })).json()
  t.match(body, { dry_run: false, removed: 3, bytes_freed: 1 + 2 + 4, marked_abandoned: 1, orphans_removed: 2, errors: 0 })
  t.ok(body.scanned >= 7)
  t.type(body.duration_ms, 'number')
  t.same(
    body.items.map((i: { document_id: string; reason: string }) => `${i.document_id}:${i.reason}`).sort(),
    ['DONE:success', 'NEW-FAILED:expired', 'OLD-FAILED:expired', 'ORPHAN:orphan', 'STALE:abandoned']
  )
  const stale = (await app.inject({ method: 'GET', url: '/v1/staging/local_upload/STALE' })).json()
  t.equal(stale.status, 'failed')
  t.equal(stale.error, 'abandoned')
  t.equal(stale.expires_at, new Date(clock.now() + 24 * HOUR).toISOString())
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/BUSY' })).json().status, 'active')
  t.same((await readdir(join(baseDir, 'local_upload'))).sort(), ['BUSY', 'STALE'])
  t.same(await readdir(join(baseDir, 'http')), [])
  t.same(await readdir(join(baseDir, '.tmp')), ['draft-fresh'])

  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  t.same(stats.by_status, { active: 1, success: 0, failed: 1 })
  t.equal(stats.cleanup.last_run_at, new Date(clock.now()).toISOString())
  t.equal(stats.cleanup.last_result.removed, 3)

  const second = (await app.inject({ method: 'POST', url: '/v1/cleanup' })).json()
  t.match(second, { removed: 0, marked_abandoned: 0, orphans_removed: 0 }, 'a second sweep finds nothing')
})

t.test('a heartbeat keeps an active item from being abandoned', async (t) => {
  const { app, clock } = await buildTestApp(t, { STAGING_ABANDONED_AFTER_HOURS: '1' })
  await upload(app, 'WORKING', 'x')
  for (let i = 0; i < 5; i++) {
    clock.advance(HOUR / 2)
    await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/WORKING', payload: { status: 'active' } })
  }
  const body = (await app.inject({ method: 'POST', url: '/v1/cleanup' })).json()
  t.equal(body.marked_abandoned, 0)
  clock.advance(HOUR)
  t.equal((await app.inject({ method: 'POST', url: '/v1/cleanup' })).json().marked_abandoned, 1)
})

t.test('abandonment can be switched off with 0', async (t) => {
  const { app, clock } = await buildTestApp(t, { STAGING_ABANDONED_AFTER_HOURS: '0' })
  await upload(app, 'FOREVER', 'x')
  clock.advance(10_000 * HOUR)
  t.equal((await app.inject({ method: 'POST', url: '/v1/cleanup' })).json().marked_abandoned, 0)
})

t.test('concurrent sweeps never overlap', async (t) => {
  const { app, clock } = await buildTestApp(t)
  for (let i = 0; i < 20; i++) {
    await upload(app, `S-${i}`, `x${i}`)
    await app.inject({ method: 'PATCH', url: `/v1/staging/local_upload/S-${i}`, payload: { status: 'success' } })
  }
  clock.advance(1)
  const [a, b] = await Promise.all([
    app.inject({ method: 'POST', url: '/v1/cleanup' }),
    app.inject({ method: 'POST', url: '/v1/cleanup' })
  ])
  t.equal(a.json().removed + b.json().removed, 20, 'each item removed exactly once')
  t.equal(a.json().errors + b.json().errors, 0)
})

t.test('a sweep yields to writes: 64 removals in flight beside one, 256 without', async (t) => {
  // 600 failed items written into the tree before the start, as the load finds them: the first 300
  // expired a day ago, the others expire in an hour.
  const baseDir = await tempDir(t)
  const now = new FakeClock().now()
  for (let i = 0; i < 600; i++) {
    const id = `OLD-${String(i).padStart(3, '0')}`
    const failed = { status: 'failed', error: 'failed', created_at: iso(now - 49 * HOUR), updated_at: iso(now - 48 * HOUR), expires_at: iso(now + (i < 300 ? -24 : 1) * HOUR) } as const
    await writeTreeItem(baseDir, 'http', id, JSON.stringify(itemRecord('http', id, failed)))
  }
  const { app, clock } = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  const store = app.staging.store
  t.equal(store.index.size, 600)
  // The most removals in flight at once, counted around the store's own.
  let active = 0
  let most = 0
  const remove = store.remove.bind(store)
  store.remove = async (...args: Parameters<typeof remove>) => {
    most = Math.max(most, ++active)
    try {
      return await remove(...args)
    } finally {
      active--
    }
  }
  const sweep = async () => (await app.inject({ method: 'POST', url: '/v1/cleanup' })).json() as { removed: number; errors: number }

  // A write in flight (its draft open, as during an upload).
  const draft = await store.openDraft()
  t.match(await sweep(), { removed: 300, errors: 0 })
  t.equal(most, SWEEP_CONCURRENCY.writing, `${SWEEP_CONCURRENCY.writing} in flight at most beside a write`)
  await draft.discard()
  t.ok(store.writing(SWEEP_QUIET_MS), 'a write that just ended still counts')

  // Two hours on: no write for longer than the quiet time, and the other 300 have expired.
  clock.advance(2 * HOUR)
  t.notOk(store.writing(SWEEP_QUIET_MS))
  most = 0
  t.match(await sweep(), { removed: 300, errors: 0 })
  t.equal(most, SWEEP_CONCURRENCY.idle, `${SWEEP_CONCURRENCY.idle} in flight while nothing else writes`)
  t.equal(store.index.size, 0)
})
