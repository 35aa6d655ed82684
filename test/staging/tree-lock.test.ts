// One process per staging tree: a second start refuses, names the holder and touches nothing.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { hostname } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { TreeLockedError } from '../../src/staging/tree-lock.js'
import { pino } from 'pino'
import { buildTestApp, freePort, tempDir, upload } from '../helper.js'

const entry = new URL('../../src/server.ts', import.meta.url).pathname

function start(dir: string, port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', STAGING_BASE_DIR: dir, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  return { child, out: () => out }
}

async function waitHealthy(port: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the service did not start')
}

t.test('a second process on a tree in use refuses to start, naming the holder, and the first keeps its upload', async (t) => {
  const dir = await tempDir(t)
  const [port1, port2] = [await freePort(), await freePort()]
  const first = start(dir, port1)
  t.teardown(() => first.child.kill('SIGKILL'))
  await waitHealthy(port1)

  // An upload in flight on the first instance: its draft sits in .tmp.
  const boundary = 'lockb'
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nINFLIGHT\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`
  const tail = `\r\n--${boundary}--\r\n`
  const body = Buffer.alloc(256 * 1024, 3)
  const req = request({
    host: '127.0.0.1',
    port: port1,
    method: 'POST',
    path: '/v1/documents',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + body.length + tail.length }
  })
  req.write(head)
  req.write(body.subarray(0, 1000))
  for (let i = 0; i < 50 && (await readdir(join(dir, '.tmp'))).length === 0; i++) await new Promise((r) => setTimeout(r, 50))
  const drafts = await readdir(join(dir, '.tmp'))
  t.equal(drafts.length, 1, 'the upload has a draft')

  const second = start(dir, port2)
  const [code] = await once(second.child, 'exit')
  t.equal(code, 3, 'refused with its own exit code')
  t.match(second.out(), /refusing to start/)
  t.match(second.out(), new RegExp(`pid ${first.child.pid}\\b`), 'names the holder')
  t.same(await readdir(join(dir, '.tmp')), drafts, 'the running instance\'s draft was not touched')
  t.notOk(await fetch(`http://127.0.0.1:${port2}/healthz`).then(() => true, () => false), 'the second never listened')

  req.end(Buffer.concat([body.subarray(1000), Buffer.from(tail)]))
  const [res] = await once(req, 'response')
  t.equal(res.statusCode, 201, 'the in-flight upload completed')
  res.resume()

  // After the holder stops, the tree can be taken again.
  first.child.kill('SIGTERM')
  await once(first.child, 'exit')
  const third = start(dir, port2)
  t.teardown(() => third.child.kill('SIGKILL'))
  await waitHealthy(port2)
  const item = await fetch(`http://127.0.0.1:${port2}/v1/staging/local_upload/INFLIGHT`)
  t.equal(item.status, 200, 'the item staged by the first instance is there')
})

t.test('two apps in one process on one tree: the second is refused until the first closes', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  t.equal((await upload(app, 'KEEP', 'x')).statusCode, 201)
  const config = loadConfig({ LOG_LEVEL: 'silent', STAGING_BASE_DIR: baseDir })
  const second = await buildApp(config, { logger: pino({ level: 'silent' }), schedule: false })
  await t.rejects(async () => second.ready(), TreeLockedError)
  await second.close().catch(() => undefined)
  const lock = JSON.parse(await readFile(join(baseDir, '.lock'), 'utf8')) as { pid: number; host: string }
  t.match(lock, { pid: process.pid, host: hostname() }, 'the lock names the holder')
  await app.close()
  const third = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal((await third.app.inject({ method: 'GET', url: '/v1/staging/local_upload/KEEP' })).statusCode, 200)
})

t.test('a lock left by a dead process, or by a pid now reused, is taken over', async (t) => {
  const dir = await tempDir(t)
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  await writeFile(join(dir, '.lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), proc_start: '1', started_at: '2026-01-01T00:00:00.000Z' }))
  const { app } = await buildTestApp(t, { STAGING_BASE_DIR: dir })
  t.ok(app.staging.store.loaded, 'started over a dead holder\'s lock')
  await app.close()

  // Our own pid, but a different process start: a pid reused after a crash (pid 1 in a container).
  await writeFile(join(dir, '.lock'), JSON.stringify({ pid: process.pid, host: hostname(), proc_start: '1', started_at: '2026-01-01T00:00:00.000Z' }))
  const again = await buildTestApp(t, { STAGING_BASE_DIR: dir })
  t.ok(again.app.staging.store.loaded, 'started over a reused pid\'s lock')
})

t.test('a lock held by another host is never taken over', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, '.lock'), JSON.stringify({ pid: 1, host: 'other-host.example', proc_start: null, started_at: '2026-01-01T00:00:00.000Z' }))
  const config = loadConfig({ LOG_LEVEL: 'silent', STAGING_BASE_DIR: dir })
  const app = await buildApp(config, { logger: pino({ level: 'silent' }), schedule: false })
  const err = await app.ready().then(() => null, (e: unknown) => e)
  t.ok(err instanceof TreeLockedError)
  t.match((err as Error).message, /pid 1 on other-host\.example/)
  t.same((await readdir(dir)).sort(), ['.lock'], 'nothing else was created')
  await app.close().catch(() => undefined)
})
