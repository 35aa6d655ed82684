// A draft refused after its body was written (a Conflict at commit, a Repr-Digest that does not match)
// closes its data file: the file's final fsync waits for the seal (batched-file-writer's DeferredSync),
// so a draft that never reaches the seal must drop it, or every refusal would keep a descriptor open.
import { existsSync, readdirSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'

const skip = existsSync('/proc/self/fd') ? false : 'needs /proc/self/fd'
const openFiles = () => readdirSync('/proc/self/fd').length

t.test('uploads refused after their body leave no file open and nothing in .tmp', { skip }, async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  t.equal((await upload(app, 'DOC-1', 'the first bytes')).statusCode, 201)
  // Warm: the first refusals of a process may open files of its own (lazy modules, the log).
  await upload(app, 'DOC-1', 'other bytes')
  const before = openFiles()
  for (let i = 0; i < 20; i++) {
    const conflict = await upload(app, 'DOC-1', `other bytes ${i}`)
    t.equal(conflict.statusCode, 409, `conflict ${i}`)
    const mismatch = await upload(app, `DOC-M${i}`, `some bytes ${i}`, { headers: { 'repr-digest': `sha-256=:${Buffer.alloc(32).toString('base64')}:` } })
    t.equal(mismatch.statusCode, 400, `digest mismatch ${i}`)
    t.equal(mismatch.json().code, 'DigestMismatch')
  }
  t.equal(openFiles(), before, 'as many files open as before the 40 refusals')
  t.same(await readdir(join(baseDir, '.tmp')), [], 'no draft left')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'no quota held')
})
