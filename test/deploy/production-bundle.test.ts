// The production build's entry points (scripts/bundle.mjs: dist/server.js and dist/cli.js bundled with
// their dependencies) as a process: it starts, serves the API and the docs, stages a file, and at a
// clean stop (SIGTERM) writes the index snapshot that the next start loads.
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { spawnNode } from '../child-process.js'
import { freePort, tempDir } from '../helper.js'

const root = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)

async function waitReady(port: number, exited: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (exited()) throw new Error('the bundled server exited')
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('the bundled server did not become ready')
}

t.test('the bundled server starts, serves, and snapshots its index at a clean stop', async (t) => {
  // Under the project, so that the packages left external resolve from its node_modules.
  const outdir = join(root, 'node_modules', '.cache', `apex-staging-bundle-${process.pid}`)
  mkdirSync(outdir, { recursive: true })
  t.teardown(() => rmSync(outdir, { recursive: true, force: true }))
  await run(process.execPath, [join(root, 'scripts', 'bundle.mjs'), '--outdir', outdir], { cwd: root })
  t.match((await run(process.execPath, [join(outdir, 'cli.js'), '--version'])).stdout, /^\d+\.\d+\.\d+/, 'the CLI bundle runs')

  const baseDir = await tempDir(t)
  const start = async () => {
    const port = await freePort()
    const child = spawnNode([join(outdir, 'server.js')], { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), STAGING_BASE_DIR: baseDir, LOG_LEVEL: 'warn' })
    t.teardown(() => child.kill('SIGKILL'))
    await waitReady(port, () => child.exitCode !== null)
    const stop = () =>
      new Promise<number | null>((resolve) => {
        child.once('exit', (code) => resolve(code))
        child.kill('SIGTERM')
      })
    return { url: `http://127.0.0.1:${port}`, stop }
  }

  const first = await start()
  t.equal((await fetch(`${first.url}/docs/json`)).status, 200, 'the OpenAPI document (swagger, left external)')
  t.equal((await fetch(`${first.url}/docs/`)).status, 200, 'the docs UI and its assets')
  const form = new FormData()
  form.set('document_id', 'BUNDLED')
  form.set('file', new Blob(['bundled bytes']), 'b.txt')
  const staged = await fetch(`${first.url}/v1/documents`, { method: 'POST', body: form })
  t.equal(staged.status, 201)
  t.equal(await first.stop(), 0, 'a clean stop exits 0')
  t.ok((await readdir(baseDir)).includes('.index-snapshot'), 'the snapshot is written at the stop')

  const second = await start()
  t.notOk((await readdir(baseDir)).includes('.index-snapshot'), 'and consumed by the next start')
  t.equal(await (await fetch(`${second.url}/v1/staging/local_upload/BUNDLED/content`)).text(), 'bundled bytes')
  t.equal(await second.stop(), 0)
})
