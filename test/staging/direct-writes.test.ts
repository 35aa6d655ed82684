// STAGING_DIRECT_WRITES: with true, auto and by default (auto writes with O_DIRECT unless a window of
// AUTO_WINDOW_BYTES of it ran slowly, more than this upload holds) a large upload's whole blocks go
// to the disk with O_DIRECT, so the stored file is not left in the page cache; with false, through
// the page cache. Seen from outside with util-linux's fincore (resident pages of a file), before
// anything reads it back.
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { AUTO_WINDOW_BYTES } from '../../src/staging/large-body-constants.js'
import { buildTestApp, takesDirectWrites, tempDir } from '../helper.js'

const MiB = 1024 * 1024

/** Bytes of the file in the page cache (fincore --bytes --raw --noheadings -o RES). */
function residentBytes(path: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--raw', '--noheadings', '-o', 'RES', path], { encoding: 'utf8' }).trim())
}

const hasFincore = (() => {
  try {
    execFileSync('fincore', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

t.test('a large upload is written past the page cache with STAGING_DIRECT_WRITES=true, auto and by default, through it with false', { skip: !hasFincore && 'no fincore (util-linux)' }, async (t) => {
  const probeDir = await tempDir(t)
  if (!takesDirectWrites(probeDir)) {
    t.comment(`${probeDir} is on a filesystem this test does not know to take O_DIRECT`)
    return
  }
  const content = randomBytes(24 * MiB + 777)
  t.ok(content.length < AUTO_WINDOW_BYTES, 'auto: the upload ends before its first window is timed')
  for (const [setting, direct] of [[undefined, true], ['auto', true], ['true', true], ['false', false]] as const) {
    const { app, baseDir } = await buildTestApp(t, setting === undefined ? {} : { STAGING_DIRECT_WRITES: setting })
    const res = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/BIG?filename=big.bin', payload: content, headers: { 'content-type': 'application/octet-stream' } })
    t.equal(res.statusCode, 201)
    t.equal(res.json().sha256, createHash('sha256').update(content).digest('hex'))
    const resident = residentBytes(join(baseDir, 'local_upload', 'BIG', 'big.bin'))
    const name = `STAGING_DIRECT_WRITES=${setting ?? '(default)'}`
    if (direct) t.ok(resident < 2 * MiB, `${name}: ${resident} bytes in the page cache`)
    else t.ok(resident > 20 * MiB, `${name}: ${resident} bytes in the page cache`)
    t.same((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/BIG/content' })).rawPayload, content, 'the stored bytes')
  }
})
