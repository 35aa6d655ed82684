// The hash workers' switch to O_DIRECT (STAGING_DIRECT_WRITES=auto, src/staging/hash-worker-program.ts)
// in the app's log: each window of buffered writes that cost too much system time is told as one info
// line with its figures. The threshold is shrunk to nothing here, so every window is slow.
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { buildTestApp, takesDirectWrites } from '../helper.js'
import { captureLog } from './log-capture.js'

const MiB = 1024 * 1024
const SLOW = "buffered writes are slow (the hash worker's system time per MiB): writing large bodies with O_DIRECT for a while"

t.test('a slow window of buffered writes is logged with its system time per MiB, its size and the O_DIRECT spell', async (t) => {
  const log = captureLog()
  const pageCacheCheck = { slowMsPerMiB: 0, windowBytes: MiB, spellBytes: 2 * MiB }
  const { app, baseDir } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logger: log.logger, pageCacheCheck })
  if (!takesDirectWrites(baseDir)) {
    t.comment(`${baseDir} is on a filesystem this test does not know to take O_DIRECT`)
    return
  }
  const content = randomBytes(6 * MiB + 5)
  const res = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/SLOW?filename=slow.bin', payload: content, headers: { 'content-type': 'application/octet-stream' } })
  t.equal(res.statusCode, 201)
  t.equal(res.json().sha256, createHash('sha256').update(content).digest('hex'), 'the stored bytes are the body')
  const told = log.lines.filter((l) => l.msg === SLOW)
  t.ok(told.length >= 1, `the switch is logged (${told.length} lines)`)
  for (const line of told) {
    t.equal(line.level, 30, 'at info')
    t.ok(typeof line.ms_per_mib === 'number' && line.ms_per_mib >= 0, `ms_per_mib: ${String(line.ms_per_mib)}`)
    t.ok(typeof line.window_bytes === 'number' && line.window_bytes >= MiB, `window_bytes: ${String(line.window_bytes)}`)
    t.equal(line.direct_bytes, 2 * MiB, 'direct_bytes: the spell')
  }
})

t.test('a quick page cache logs nothing of the kind', async (t) => {
  const log = captureLog()
  const pageCacheCheck = { slowMsPerMiB: 1e9, windowBytes: MiB, spellBytes: 2 * MiB }
  const { app } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logger: log.logger, pageCacheCheck })
  const res = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/QUICK?filename=quick.bin', payload: randomBytes(6 * MiB), headers: { 'content-type': 'application/octet-stream' } })
  t.equal(res.statusCode, 201)
  t.equal(log.lines.filter((l) => l.msg === SLOW).length, 0)
})
