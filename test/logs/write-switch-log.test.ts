// The hash workers' switches of the way they write (STAGING_DIRECT_WRITES=auto,
// src/staging/hash-worker-program.ts) in the app's log: each window of O_DIRECT writes that ran too
// slowly is told as one info line with its figures, and so is each spell of buffered writes cut short
// by a slow page cache. The thresholds are pushed out of reach here, so every window is slow (or none).
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { SLOW_DISK_MESSAGE, SLOW_PAGE_CACHE_MESSAGE } from '../../src/staging/write-switch-log.js'
import { buildTestApp, pieces, takesDirectWrites } from '../helper.js'
import { captureLog } from './log-capture.js'

const MiB = 1024 * 1024

t.test('a slow window of O_DIRECT writes and a slow window of buffered ones are logged with their figures', async (t) => {
  const log = captureLog()
  const autoCheck = { slowDirectMBps: 1e12, slowMsPerMiB: 0, windowBytes: MiB, spellBytes: 2 * MiB }
  const { app, baseDir } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logger: log.logger, autoCheck })
  if (!takesDirectWrites(baseDir)) {
    t.comment(`${baseDir} is on a filesystem this test does not know to take O_DIRECT`)
    return
  }
  const content = randomBytes(6 * MiB + 5)
  // In 64 KiB pieces, as from a socket: the file writer makes ~1 MiB batches of them (one 6 MiB piece
  // would be one batch, and one window).
  const res = await app.inject({
    method: 'PUT',
    url: '/v1/staging/local_upload/SLOW?filename=slow.bin',
    payload: pieces(content),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(content.length) }
  })
  t.equal(res.statusCode, 201)
  t.equal(res.json().sha256, createHash('sha256').update(content).digest('hex'), 'the stored bytes are the body')
  const toPageCache = log.lines.filter((l) => l.msg === SLOW_DISK_MESSAGE)
  t.ok(toPageCache.length >= 1, `the switch to the page cache is logged (${toPageCache.length} lines)`)
  for (const line of toPageCache) {
    t.equal(line.level, 30, 'at info')
    t.ok(typeof line.mb_per_s === 'number' && line.mb_per_s > 0, `mb_per_s: ${String(line.mb_per_s)}`)
    t.ok(typeof line.window_bytes === 'number' && line.window_bytes >= MiB, `window_bytes: ${String(line.window_bytes)}`)
    t.equal(line.buffered_bytes, 2 * MiB, 'buffered_bytes: the spell')
  }
  const backToDirect = log.lines.filter((l) => l.msg === SLOW_PAGE_CACHE_MESSAGE)
  t.ok(backToDirect.length >= 1, `the switch back to O_DIRECT is logged (${backToDirect.length} lines)`)
  for (const line of backToDirect) {
    t.equal(line.level, 30, 'at info')
    t.ok(typeof line.ms_per_mib === 'number' && line.ms_per_mib >= 0, `ms_per_mib: ${String(line.ms_per_mib)}`)
    t.ok(typeof line.window_bytes === 'number' && line.window_bytes >= MiB, `window_bytes: ${String(line.window_bytes)}`)
  }
})

t.test('a quick disk logs nothing of the kind', async (t) => {
  const log = captureLog()
  const autoCheck = { slowDirectMBps: 0, windowBytes: MiB, spellBytes: 2 * MiB }
  const { app } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logger: log.logger, autoCheck })
  const res = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/QUICK?filename=quick.bin', payload: randomBytes(6 * MiB), headers: { 'content-type': 'application/octet-stream' } })
  t.equal(res.statusCode, 201)
  t.equal(log.lines.filter((l) => l.msg === SLOW_DISK_MESSAGE || l.msg === SLOW_PAGE_CACHE_MESSAGE).length, 0)
})
