// Group commit: callers of one tick share an fsync; a caller arriving mid-fsync waits for the next one.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DirSyncBatcher } from '../../src/staging/dir-sync-batcher.js'
import { fsyncPath } from '../../src/staging/durable-fs.js'

t.test('callers in one tick share one fsync, and a later caller gets a later one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dir-sync-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const started: number[] = []
  let finished = 0
  const batcher = new DirSyncBatcher(async (d) => {
    started.push(finished)
    await fsyncPath(d)
    finished++
  })
  const first = Array.from({ length: 20 }, () => batcher.sync(dir))
  await new Promise((r) => setImmediate(r))
  t.equal(started.length, 1, 'twenty callers, one fsync started')
  // Arrives while that fsync runs: it must not be answered by it.
  let lateDoneAfter = -1
  const late = batcher.sync(dir).then(() => {
    lateDoneAfter = finished
  })
  await Promise.all(first)
  await late
  t.equal(started.length, 2, 'the late caller caused a second fsync')
  t.equal(started[1], 1, 'which started only after the first finished')
  t.equal(lateDoneAfter, 2, 'and the late caller was answered after it')
})

t.test('a failed fsync fails every caller it covered', async (t) => {
  const batcher = new DirSyncBatcher(() => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })))
  const results = await Promise.allSettled([batcher.sync('/x'), batcher.sync('/x')])
  t.same(results.map((r) => r.status), ['rejected', 'rejected'])
  await t.rejects(batcher.sync('/nonexistent-dir-for-test'), 'a later caller gets a fresh attempt')
})
