// A full disk is a clean, retryable 507 on every write path, and the service recovers once space is freed.
// Runs on a small tmpfs the test mounts (root needed); skipped, saying why, where mounting is impossible.
import { execFileSync } from 'node:child_process'
import { mkdtemp, open, readdir, readFile, rm, statfs, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'

async function mountTmpfs(): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'staging-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' })
    return dir
  } catch {
    await rm(dir, { recursive: true, force: true })
    return null
  }
}

const probe = await mountTmpfs()
if (probe) execFileSync('umount', [probe])
const skip = probe ? false : 'cannot mount a tmpfs here (needs root and mount permission)'

/** Fills the filesystem, then frees `pages` pages of it again. */
async function fill(dir: string, pages = 0): Promise<string> {
  const filler = join(dir, 'filler')
  const handle = await open(filler, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) await handle.write(chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    await handle.close()
  }
  if (pages > 0) {
    const { size } = await (await import('node:fs/promises')).stat(filler)
    await truncate(filler, Math.max(0, size - pages * 4096))
  }
  return filler
}

t.test('ENOSPC on every write path answers 507 InsufficientStorage and leaves nothing', { skip }, async (t) => {
  const mount = (await mountTmpfs()) as string
  t.teardown(() => {
    execFileSync('umount', ['-l', mount])
    return rm(mount, { recursive: true, force: true })
  })
  const { app } = await buildTestApp(t, { STAGING_BASE_DIR: mount })
  const tmp = join(mount, '.tmp')
  const expect507 = (res: { statusCode: number; headers: Record<string, unknown>; json: () => Record<string, unknown> }, what: string) => {
    t.equal(res.statusCode, 507, what)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { code: 'InsufficientStorage', retryable: true }, what)
  }
  const clean = async (what: string) => {
    t.same(await readdir(tmp), [], `${what}: .tmp is clean`)
    t.equal(app.staging.store.quota.reservedBytes, 0, `${what}: no quota held`)
  }

  t.equal((await upload(app, 'KEPT', 'kept bytes')).statusCode, 201, 'an item staged while there is room')

  // The data file: bigger than the filesystem.
  expect507(await upload(app, 'HUGE', Buffer.alloc(2 * 1024 * 1024, 7)), 'data file')
  await clean('data file')

  // .metadata.json: room for the data file's page, none for the metadata.
  const filler = await fill(mount, 1)
  expect507(await upload(app, 'META', 'x'.repeat(100)), 'metadata')
  await clean('metadata')
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/META' })).statusCode, 404, 'no partial item')

  // Completely full: status changes and cleanup {failed}.
  await rm(filler)
  await fill(mount)
  const before = await readFile(join(mount, 'local_upload', 'KEPT', '.metadata.json'), 'utf8')
  const json = { 'content-type': 'application/json' }
  expect507(await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/KEPT', headers: json, payload: { status: 'failed' } }), 'status change')
  expect507(await app.inject({ method: 'POST', url: '/v1/staging/local_upload/KEPT/cleanup', headers: json, payload: { status: 'failed' } }), 'cleanup failed')
  t.equal(await readFile(join(mount, 'local_upload', 'KEPT', '.metadata.json'), 'utf8'), before, 'the record on disk is unchanged')
  t.equal(app.staging.store.get('local_upload', 'KEPT')?.status, 'active', 'and in the index')
  expect507(await app.inject({ method: 'POST', url: '/v1/structured', headers: json, payload: { data_id: 'S1', source: 'frontapp', source_location: '{"a":1}' } }), 'structured')
  await clean('full')

  const notReady = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(notReady.statusCode, 503, '/readyz: not ready while the tree cannot take a write')
  t.equal(notReady.json().checks.staging_tree_writable, false)

  // Space freed: everything works again without a restart.
  await rm(join(mount, 'filler'))
  t.ok((await statfs(mount)).bavail > 0)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready again')
  t.equal((await upload(app, 'AFTER', 'after bytes')).statusCode, 201, 'uploads work again')
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/KEPT', headers: json, payload: { status: 'failed' } })).statusCode, 200, 'status changes work again')
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/AFTER/content' })).body, 'after bytes')
})
