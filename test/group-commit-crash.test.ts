// Group commit must never answer before the fsync that covers an item: many small uploads at once,
// kill -9 mid-stream, and every item acknowledged (2xx) before the kill is whole after a restart.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { buildTestApp, tempDir } from './helper.js'
import { postMultipart, startServerProcess } from './server-process.js'

const CLIENTS = 48

t.test('every upload acknowledged before kill -9 is whole after restart', async (t) => {
  const dir = await tempDir(t)
  const { child, port } = await startServerProcess(t, dir)
  const acked = new Map<string, string>()
  let next = 0
  let killed = false

  async function client(): Promise<void> {
    while (!killed) {
      const id = `G-${next++}`
      const body = randomBytes(1024 + (next % 7) * 1000)
      const res = await once(postMultipart(port, id, body), 'response').then(([r]) => r as IncomingMessage, () => null)
      if (!res) return
      res.resume()
      // Recorded only if the answer arrived before the kill was sent.
      if (!killed && res.statusCode === 201) acked.set(id, createHash('sha256').update(body).digest('hex'))
    }
  }
  const clients = Array.from({ length: CLIENTS }, () => client())
  // Kill while uploads are in flight, once a good number have been answered.
  const deadline = Date.now() + 30_000
  while (acked.size < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  killed = true
  child.kill('SIGKILL')
  await once(child, 'exit')
  await Promise.all(clients)
  t.ok(acked.size >= 300, `${acked.size} uploads acknowledged before the kill`)

  const { app } = await buildTestApp(t, { STAGING_BASE_DIR: dir })
  let whole = 0
  const broken: string[] = []
  for (const [id, sha] of acked) {
    const res = await app.inject({ method: 'GET', url: `/v1/staging/local_upload/${id}` })
    if (res.statusCode !== 200) {
      broken.push(`${id}: ${res.statusCode}`)
      continue
    }
    const record = res.json() as { file_path: string; sha256: string }
    const bytes = await readFile(record.file_path)
    if (record.sha256 === sha && createHash('sha256').update(bytes).digest('hex') === sha) whole++
    else broken.push(`${id}: content differs`)
  }
  t.same(broken, [], 'no acknowledged item is missing or torn')
  t.equal(whole, acked.size, 'every acknowledged item is present with its sha256')
  t.equal(await app.staging.store.checkFilesNow(), true, 'every data file checked against its record')
  t.same(app.staging.store.lastLoad?.orphans, [], 'no half item in the tree')
})
