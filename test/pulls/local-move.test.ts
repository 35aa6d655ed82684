// local_upload moves: inside STAGING_LOCAL_IMPORT_DIR only, no symlinks, regular files, source gone after commit.
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { tempDir } from '../helper.js'
import { assertNothingLeft, pull, pullApp } from './pull-helper.js'

const sha = (b: string) => createHash('sha256').update(b).digest('hex')
const exists = (p: string) => stat(p).then(() => true, () => false)

async function setup(t: Test, env: Record<string, string> = {}) {
  const importDir = await tempDir(t, 'import-')
  const outside = await tempDir(t, 'outside-')
  await writeFile(join(outside, 'secret.txt'), 'outside secret')
  const built = await pullApp(t, { STAGING_LOCAL_IMPORT_DIR: importDir, ...env })
  return { ...built, importDir, outside }
}

t.test('a file is moved in (relative and absolute paths); the source disappears once committed', async (t) => {
  const { app, importDir } = await setup(t)
  await mkdir(join(importDir, 'batch'))
  await writeFile(join(importDir, 'batch', 'a.pdf'), 'pdf bytes')
  await writeFile(join(importDir, 'b.txt'), 'text bytes')
  const a = await pull(app, { document_id: 'MOVE-A', source: 'local_upload', source_location: 'batch/a.pdf' })
  t.equal(a.statusCode, 201)
  t.match(a.json(), { source: 'local_upload', filename: 'a.pdf', content_type: 'application/pdf', sha256: sha('pdf bytes'), source_location: join(importDir, 'batch', 'a.pdf') })
  t.equal(await readFile(a.json().file_path, 'utf8'), 'pdf bytes')
  t.notOk(await exists(join(importDir, 'batch', 'a.pdf')), 'the source is gone')
  const b = await pull(app, { document_id: 'MOVE-B', source: 'local_upload', source_location: join(importDir, 'b.txt'), filename: 'renamed.txt' })
  t.equal(b.statusCode, 201)
  t.equal(b.json().filename, 'renamed.txt')
  t.equal((await stat(b.json().file_path)).nlink, 1, 'the staged file has no other name left')
})

t.test('escapes are SourceNotAllowed and touch nothing: ../, absolute outside, symlinks, non-regular files', async (t) => {
  const { app, baseDir, importDir, outside } = await setup(t)
  await symlink(join(outside, 'secret.txt'), join(importDir, 'link.txt'))
  await symlink(outside, join(importDir, 'linkdir'))
  await mkdir(join(importDir, 'sub'))
  const cases = ['../' + outside.split('/').pop() + '/secret.txt', join(outside, 'secret.txt'), 'link.txt', 'linkdir/secret.txt', 'sub', 'sub/../../x', '/etc/passwd', '.']
  for (const location of cases) {
    const res = await pull(app, { document_id: 'ESCAPE', source: 'local_upload', source_location: location })
    t.equal(res.statusCode, 403, location)
    t.equal(res.json().code, 'SourceNotAllowed', location)
    await assertNothingLeft(t, app, baseDir, 'local_upload', 'ESCAPE')
  }
  t.equal(await readFile(join(outside, 'secret.txt'), 'utf8'), 'outside secret', 'the outside file is untouched')
})

t.test('a missing file is 400; moves are disabled without STAGING_LOCAL_IMPORT_DIR', async (t) => {
  const { app } = await setup(t)
  t.equal((await pull(app, { document_id: 'MISSING', source: 'local_upload', source_location: 'nope.pdf' })).statusCode, 400)
  const { app: off } = await pullApp(t)
  const res = await pull(off, { document_id: 'OFF', source: 'local_upload', source_location: 'x.pdf' })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'SourceNotAllowed')
})

t.test('a refused move (conflict, cap) keeps the source file where it was', async (t) => {
  const { app, baseDir, importDir } = await setup(t, { STAGING_MAX_DOCUMENT_MB: '0.001' })
  await writeFile(join(importDir, 'one.txt'), 'first')
  await writeFile(join(importDir, 'two.txt'), 'second')
  await writeFile(join(importDir, 'big.bin'), Buffer.alloc(5000))
  t.equal((await pull(app, { document_id: 'KEEP', source: 'local_upload', source_location: 'one.txt' })).statusCode, 201)
  const conflict = await pull(app, { document_id: 'KEEP', source: 'local_upload', source_location: 'two.txt' })
  t.equal(conflict.statusCode, 409)
  t.equal(await readFile(join(importDir, 'two.txt'), 'utf8'), 'second', 'the conflicting source stays')
  const big = await pull(app, { document_id: 'BIG', source: 'local_upload', source_location: 'big.bin' })
  t.equal(big.statusCode, 413)
  t.ok(await exists(join(importDir, 'big.bin')))
  await assertNothingLeft(t, app, baseDir, 'local_upload', 'BIG')
})

t.test('the same bytes again are a 200 repeat, and the repeated source is consumed', async (t) => {
  const { app, importDir } = await setup(t)
  await writeFile(join(importDir, 'r1.txt'), 'same')
  await writeFile(join(importDir, 'r2.txt'), 'same')
  t.equal((await pull(app, { document_id: 'REP', source: 'local_upload', source_location: 'r1.txt' })).statusCode, 201)
  t.equal((await pull(app, { document_id: 'REP', source: 'local_upload', source_location: 'r2.txt' })).statusCode, 200)
  t.notOk(await exists(join(importDir, 'r2.txt')))
})

t.test('across filesystems the file is copied and fsynced, then the source unlinked', async (t) => {
  const shm = '/dev/shm'
  const onOtherFs = await stat(shm).then((s) => s.isDirectory(), () => false)
  if (!onOtherFs) return t.pass('skipped: no /dev/shm to act as a second filesystem')
  const importDir = await mkdtemp(join(shm, 'import-'))
  t.teardown(() => rm(importDir, { recursive: true, force: true }))
  const { app, baseDir } = await pullApp(t, { STAGING_LOCAL_IMPORT_DIR: importDir })
  if ((await stat(importDir)).dev === (await stat(baseDir)).dev) return t.pass('skipped: /dev/shm is on the staging filesystem here')
  await writeFile(join(importDir, 'far.txt'), 'far bytes')
  const res = await pull(app, { document_id: 'FAR', source: 'local_upload', source_location: 'far.txt' })
  t.equal(res.statusCode, 201)
  t.equal(await readFile(res.json().file_path, 'utf8'), 'far bytes')
  t.equal(res.json().sha256, sha('far bytes'))
  t.notOk(await exists(join(importDir, 'far.txt')))
})
