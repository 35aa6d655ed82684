// kill -9 in the middle of commits and of a large upload: after a restart every item is whole.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFile, readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, freePort, tempDir } from './helper.js'

const entry = new URL('../src/server.ts', import.meta.url).pathname

function post(port: number, id: string, body: Buffer | null, declared?: number) {
  const boundary = 'crashtest'
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\n${id}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${id}.bin"\r\n\r\n`
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/documents',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': declared ?? head.length + (body?.length ?? 0) + tail.length
    }
  })
  req.on('error', () => undefined)
  req.on('response', (res) => res.resume())
  req.write(head)
  if (body) req.end(Buffer.concat([body, tail]))
  return req
}

t.test('kill -9 during uploads leaves only whole items, and start-up clears the rest', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', STAGING_BASE_DIR: dir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  t.teardown(() => child.kill('SIGKILL'))
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  // A large upload left half sent, and a stream of small ones committing concurrently.
  const big = post(port, 'HALF', null, 64 * 1024 * 1024)
  big.write(Buffer.alloc(4 * 1024 * 1024, 1))
  let n = 0
  const deadline = Date.now() + 1500
  while (Date.now() < deadline) {
    const batch = Array.from({ length: 8 }, () => post(port, `S-${n++}`, Buffer.alloc(20_000 + n, n % 251)))
    await Promise.all(batch.map((r) => once(r, 'response').catch(() => undefined)))
  }
  // And a few in flight at the moment of the kill.
  for (let i = 0; i < 8; i++) post(port, `S-${n++}`, Buffer.alloc(50_000, 7))
  child.kill('SIGKILL')
  await once(child, 'exit')

  const { app } = await buildTestApp(t, { STAGING_BASE_DIR: dir })
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
