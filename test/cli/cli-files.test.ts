// The apex-staging CLI's downloads and changes: get, cleanup and rm against a real server.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { freePort, HOUR, tempDir, upload } from '../helper.js'
import { cli, CLI_ENTRY, INGEST, OPERATOR, server } from './run-cli.js'

// Each case starts the CLI as a process (about a second of start-up each, more on a loaded machine).
t.setTimeout(240_000)

t.test('get streams the bytes to a file (checked against the sha256) or to stdout', async (t) => {
  const { app, as } = await server(t)
  const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))
  t.equal((await upload(app, 'BIN-1', body, { headers: { authorization: `Bearer ${INGEST}` } })).statusCode, 201)
  const dir = await tempDir(t)
  const file = join(dir, 'out.bin')
  const got = await cli(['get', 'local_upload', 'BIN-1', '-o', file], as(INGEST))
  t.equal(got.code, 0, got.stderr)
  t.match(got.stderr, /wrote 300000 bytes/)
  const written = await readFile(file)
  t.equal(createHash('sha256').update(written).digest('hex'), createHash('sha256').update(body).digest('hex'))
  t.same(await readdir(dir), ['out.bin'], 'no partial file left')

  const small = await cli(['get', 'local_upload', 'BIN-1'], as(INGEST))
  t.equal(small.code, 0)
  t.equal(Buffer.byteLength(small.stdout, 'latin1') > 0, true)

  await writeFile(join(dir, 'keep.bin'), 'old')
  const missing = await cli(['get', 'local_upload', 'NOPE', '-o', join(dir, 'keep.bin')], as(INGEST))
  t.equal(missing.code, 4)
  t.equal(await readFile(join(dir, 'keep.bin'), 'utf8'), 'old', 'a failed download leaves the file as it was')
  t.same((await readdir(dir)).sort(), ['keep.bin', 'out.bin'])
})

t.test('cleanup --dry-run changes nothing, cleanup removes; rm deletes (operator)', async (t) => {
  const { app, as, clock } = await server(t)
  const op = { authorization: `Bearer ${OPERATOR}` }
  await upload(app, 'OLD-1', 'x', { headers: op })
  await upload(app, 'KEEP-1', 'y', { headers: op })
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/OLD-1', headers: op, payload: { status: 'failed' } })).statusCode, 200)
  clock.advance(2 * HOUR)

  const dry = await cli(['cleanup', '--dry-run'], as(OPERATOR))
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /^dry run: would remove 1 items/)
  t.match(dry.stdout, /local_upload\s+OLD-1\s+expired/)
  t.ok(app.staging.store.get('local_upload', 'OLD-1'), 'a dry run changes nothing')

  const real = JSON.parse((await cli(['cleanup', '--json'], as(OPERATOR))).stdout)
  t.match(real, { dry_run: false, removed: 1 })
  t.notOk(app.staging.store.get('local_upload', 'OLD-1'))

  const rm = await cli(['rm', 'local_upload', 'KEEP-1'], as(OPERATOR))
  t.equal(rm.code, 0, rm.stderr)
  t.equal(rm.stdout, 'removed local_upload/KEEP-1\n')
  t.notOk(app.staging.store.get('local_upload', 'KEEP-1'))
  t.equal((await cli(['rm', 'local_upload', 'KEEP-1'], as(OPERATOR))).code, 4)
})

t.test('with no command it serves (what npm start runs), and exits 0 on SIGTERM', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY], {
    env: { PATH: process.env.PATH ?? '', STAGING_BASE_DIR: dir, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  for (let i = 0; i < 300 && !out.includes('apex-staging started'); i++) await new Promise((r) => setTimeout(r, 100))
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})
