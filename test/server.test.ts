// The process entry: bad configuration exits non-zero with one message; SIGTERM closes and exits 0.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import t from 'tap'
import { TreeLock } from '../src/staging/tree-lock.js'
import { PACKAGE_VERSION } from '../src/version.js'
import { freePort, tempDir } from './helper.js'

const entry = new URL('../src/server.ts', import.meta.url).pathname

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return { child, out: () => stdout, err: () => stderr }
}

t.test('bad configuration: one message naming every bad variable, exit 2, and the tree is not left taken', async (t) => {
  // The head start takes the tree from STAGING_BASE_DIR alone, before the other settings are read.
  const dir = await tempDir(t)
  const p = run({ PORT: 'x', STAGING_MAX_DOCUMENT_MB: 'lots', HOST: '0.0.0.0', STAGING_BASE_DIR: dir })
  const [code] = await once(p.child, 'exit')
  t.equal(code, 2)
  t.match(p.err(), /invalid configuration/)
  t.match(p.err(), /PORT/)
  t.match(p.err(), /STAGING_MAX_DOCUMENT_MB/)
  t.notOk(existsSync(join(dir, '.lock')), 'the lock the head start took is given back')
  const lock = await TreeLock.acquire(dir)
  await lock.release()
})

t.test('no tokens on a public address: refuses to start and says why', async (t) => {
  const p = run({ HOST: '0.0.0.0', PORT: '0' })
  const [code] = await once(p.child, 'exit')
  t.not(code, 0)
  t.match(p.err(), /STAGING_AUTH_DISABLED/)
})

t.test('serves, then SIGTERM lets an in-flight request finish and exits 0', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const p = run({ STAGING_BASE_DIR: dir, PORT: String(port) })
  t.teardown(() => p.child.kill('SIGKILL'))
  for (let i = 0; i < 300 && !p.out().includes('apex-staging started'); i++) await new Promise((r) => setTimeout(r, 100))
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.same(await health.json(), { status: 'ok', version: PACKAGE_VERSION })

  // A slow upload in flight when the signal arrives.
  const { request } = await import('node:http')
  const boundary = 'b0undary'
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nLATE\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="l.txt"\r\n\r\n`
  const tail = `\r\n--${boundary}--\r\n`
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/documents',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': Buffer.byteLength(head + 'late' + tail) }
  })
  req.write(head)
  await new Promise((r) => setTimeout(r, 200))
  p.child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 200))
  req.end('late' + tail)
  const [res] = await once(req, 'response')
  t.equal(res.statusCode, 201, 'the in-flight upload completed')
  const [code] = await once(p.child, 'exit')
  t.equal(code, 0)
  t.match(p.out(), /shutting down/)
})
