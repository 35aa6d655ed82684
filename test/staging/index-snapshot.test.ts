// The index snapshot of a clean stop (src/staging/index-snapshot.ts): the next start loads it instead of
// every item's metadata, gets the same index, and never trusts one that may not hold (a crash after
// the start, a tree changed while stopped, a torn or edited file, a change after the stop).
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { SNAPSHOT_FILE, takeIndexSnapshot } from '../../src/staging/index-snapshot.js'
import { LoadedRecord, wholeRecord } from '../../src/staging/loaded-record.js'
import { buildTestApp, tempDir, upload, type TestApp } from '../helper.js'

const exists = (path: string) => readFile(path).then(() => true, () => false)

async function everything(app: TestApp['app']) {
  const list = (await app.inject({ method: 'GET', url: '/v1/staging?limit=1000' })).json()
  const stats = (await app.inject({ method: 'GET', url: '/v1/stats' })).json()
  return { list, stats: { total: stats.total_documents, by_status: stats.by_status, by_source: stats.by_source, disk: stats.disk_usage } }
}

/** A tree with items of every status and source kind, a unicode filename and an overwrite. */
async function stageSome(app: TestApp['app']) {
  for (let i = 0; i < 9; i++) await upload(app, `S-${i}`, `content-${i}`, { source: (['http', 'frontapp', 'local_upload'] as const)[i % 3] })
  await upload(app, 'S-0', 'replaced', { source: 'http', overwrite: true })
  await upload(app, 'UNI', 'ü', { filename: 'résumé – 履歴書.pdf' })
  await app.inject({ method: 'PATCH', url: '/v1/staging/frontapp/S-1', payload: { status: 'failed', error: 'bad "row"\nline 2' } })
  await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/S-2', payload: { status: 'success' } })
}

t.test('a clean stop writes the snapshot; the next start loads it, deletes it and has the same index', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await stageSome(first.app)
  t.equal(first.app.staging.store.lastLoad?.from, 'tree', 'an empty tree is read, not snapshotted')
  const before = await everything(first.app)
  await first.app.close()
  t.ok(await exists(join(baseDir, SNAPSHOT_FILE)), 'written at the clean stop')

  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal(second.app.staging.store.lastLoad?.from, 'snapshot')
  t.notOk(await exists(join(baseDir, SNAPSHOT_FILE)), 'consumed: a crash from here on cannot reuse it')
  t.same(await everything(second.app), before, 'the same records in the same order, the same totals')
  const uni = (await second.app.inject({ method: 'GET', url: '/v1/staging/local_upload/UNI' })).json()
  t.equal(uni.file_path, join(baseDir, 'local_upload', 'UNI', uni.filename), 'file_path follows the tree')
  t.equal((await second.app.inject({ method: 'GET', url: '/v1/staging/local_upload/UNI/content' })).body, 'ü')
  await second.app.close()

  // The same tree moved elsewhere: inodes differ, so the tree is read (and paths follow it either way).
  const moved = join(await tempDir(t), 'moved')
  await cp(baseDir, moved, { recursive: true })
  const third = await buildTestApp(t, { STAGING_BASE_DIR: moved })
  t.equal(third.app.staging.store.lastLoad?.from, 'tree', 'a copied tree is not the one the snapshot describes')
  t.equal((await third.app.inject({ method: 'GET', url: '/v1/staging/local_upload/UNI' })).json().file_path.startsWith(moved), true)
})

t.test('a crash after a start from the snapshot: the next start reads the tree and sees every change', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await stageSome(first.app)
  await first.app.close()
  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await upload(second.app, 'AFTER', 'after')
  await second.app.inject({ method: 'PATCH', url: '/v1/staging/http/S-3', payload: { status: 'failed', error: 'later' } })
  await second.app.inject({ method: 'DELETE', url: '/v1/staging/frontapp/S-4' })
  const expected = await everything(second.app)

  // kill -9 now: the tree as it is at this instant, without the close.
  const crashed = join(await tempDir(t), 'crashed')
  await cp(baseDir, crashed, { recursive: true })
  await rm(join(crashed, '.lock'), { force: true })
  const third = await buildTestApp(t, { STAGING_BASE_DIR: crashed })
  t.equal(third.app.staging.store.lastLoad?.from, 'tree')
  const got = await everything(third.app)
  t.same(got.stats, expected.stats)
  t.same(
    got.list.items.map((r: { document_id: string; status: string }) => `${r.document_id} ${r.status}`),
    expected.list.items.map((r: { document_id: string; status: string }) => `${r.document_id} ${r.status}`)
  )
})

t.test('a tree changed while stopped is read again, not taken from the snapshot', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await stageSome(first.app)
  const record = (await first.app.inject({ method: 'GET', url: '/v1/staging/http/S-3' })).json()
  await first.app.close()

  // An item copied in by hand.
  const added = join(baseDir, 'http', 'BY-HAND')
  await mkdir(added)
  await writeFile(join(added, record.filename), 'content-3')
  await writeFile(join(added, '.metadata.json'), JSON.stringify({ ...record, document_id: 'BY-HAND', file_path: join(added, record.filename) }))
  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal(second.app.staging.store.lastLoad?.from, 'tree')
  t.equal((await second.app.inject({ method: 'GET', url: '/v1/staging/http/BY-HAND' })).statusCode, 200, 'the new item is there')
  await second.app.close()

  // An item removed by hand.
  await rm(join(baseDir, 'frontapp', 'S-4'), { recursive: true })
  const third = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal(third.app.staging.store.lastLoad?.from, 'tree')
  t.equal((await third.app.inject({ method: 'GET', url: '/v1/staging/frontapp/S-4' })).statusCode, 404, 'the removed item is gone')
})

t.test('a torn, edited or foreign snapshot is ignored and deleted', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await stageSome(first.app)
  const before = await everything(first.app)
  await first.app.close()
  const path = join(baseDir, SNAPSHOT_FILE)
  const good = await readFile(path, 'utf8')
  const edited = good.replace('"failed"', '"active"')
  t.not(edited, good)
  const variants = {
    torn: good.slice(0, Math.floor(good.length * 0.6)),
    edited,
    'not JSON': `${good.split('\n')[0]}\n{{{\n`,
    'another format': good.replace('apex-staging-index/2', 'apex-staging-index/9'),
    empty: ''
  }
  for (const [name, text] of Object.entries(variants)) {
    await writeFile(path, text)
    const app = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
    t.equal(app.app.staging.store.lastLoad?.from, 'tree', `${name}: the tree is read`)
    t.same(await everything(app.app), before, `${name}: the index is whole`)
    t.notOk(await exists(path) && (await readFile(path, 'utf8')) === text, `${name}: not left to be read again`)
    await app.app.close()
  }
})

t.test('a change after the stop deletes the snapshot before it touches the tree', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await stageSome(first.app)
  const store = first.app.staging.store
  await store.close()
  t.ok(await exists(join(baseDir, SNAPSHOT_FILE)))
  // A late change (a job that outlived the close, say) reaches the store after its snapshot.
  await store.setStatus('http', 'S-3', 'failed', 'late')
  t.notOk(await exists(join(baseDir, SNAPSHOT_FILE)), 'gone before the change')
  await first.app.close()

  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal(second.app.staging.store.lastLoad?.from, 'tree')
  t.equal((await second.app.inject({ method: 'GET', url: '/v1/staging/http/S-3' })).json().status, 'failed', 'the late change is there')
})

t.test('a snapshot is read as rows kept until first use, each the record it was written from', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await stageSome(first.app)
  const before = [...first.app.staging.store.index.inKeyOrder()]
  await first.app.close()
  const entries: unknown[] = []
  t.equal(await takeIndexSnapshot(baseDir, (e) => entries.push(e)), before.length)
  t.ok(entries.every((e) => e instanceof LoadedRecord), 'kept as rows, not parsed into records')
  t.same((entries as LoadedRecord[]).map(wholeRecord), before, 'each row gives back its record, file_path following the tree')
  t.same((entries as LoadedRecord[]).map((e) => [e.status, e.updated_at, e.expires_at]), before.map((r) => [r.status, r.updated_at, r.expires_at]))
})
