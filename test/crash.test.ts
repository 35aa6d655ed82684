// kill -9 in the middle of commits and of a large upload: after a restart every item is whole.
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, tempDir } from './helper.js'
import { postMultipart, startServerProcess } from './server-process.js'

t.test('kill -9 during uploads leaves only whole items, and start-up clears the rest', async (t) => {
  const dir = await tempDir(t)
  const { child, port } = await startServerProcess(t, dir)
  // A large upload left half sent, and a stream of small ones committing concurrently.
  const big = postMultipart(port, 'HALF', null, 64 * 1024 * 1024)
  big.write(Buffer.alloc(4 * 1024 * 1024, 1))
  let n = 0
  const deadline = Date.now() + 1500
  // At least three batches however slow the machine is, so that some items commit.
  while (Date.now() < deadline || n < 24) {
    const batch = Array.from({ length: 8 }, () => postMultipart(port, `S-${n++}`, Buffer.alloc(20_000 + n, n % 251)))
    await Promise.all(batch.map((r) => once(r, 'response').then(([res]) => (res as IncomingMessage).resume(), () => undefined)))
  }
  // And a few in flight at the moment of the kill.
  for (let i = 0; i < 8; i++) postMultipart(port, `S-${n++}`, Buffer.alloc(50_000, 7))
  child.kill('SIGKILL')
  await once(child, 'exit')

  const { app } = await buildTestApp(t, { STAGING_BASE_DIR: dir })
  t.equal(await app.staging.store.checkFilesNow(), true, 'every data file checked against its record')
  t.same(app.staging.store.lastLoad?.orphans, [], 'no half item in the tree')
  t.same(await readdir(join(dir, '.tmp')), [], 'temp leftovers removed')
  const items = (await app.inject({ method: 'GET', url: '/v1/staging?limit=1000' })).json().items as {
    document_id: string
    file_path: string
    sha256: string
    file_size_bytes: number
  }[]
  t.ok(items.length > 8, `${items.length} items committed before the kill`)
  t.notOk(items.some((i) => i.document_id === 'HALF'), 'the half-sent upload is not an item')
  let whole = 0
  for (const item of items) {
    const bytes = await readFile(item.file_path)
    if (bytes.length === item.file_size_bytes && createHash('sha256').update(bytes).digest('hex') === item.sha256) whole++
  }
  t.equal(whole, items.length, 'every item matches its size and sha256')
})
