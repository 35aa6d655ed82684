// The production build's entry points (scripts/bundle.mjs: dist/server.js and dist/cli.js bundled with
// their dependencies) as a process: it starts, serves the API and the docs, stages a file, and at a
// clean stop (SIGTERM) writes the index snapshot that the next start loads; pulls a URL through undici
// under the launcher's V8 flags (WebAssembly on the baseline compiler only, a fixed heap growth
// factor, which V8 must honour when set at run time); and the shared engine, a
// chunk of its own loaded only when STAGING_STORAGE=shared, runs from it on PostgreSQL and s3rver.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { spawnNode } from '../child-process.js'
import { freePort, tempDir, type TapLike } from '../helper.js'
import { waitHealthy } from '../proofs/server-bundle.js'
import { sharedBackends } from '../staging/shared/backends.js'
import { fakeUpstream } from '../upstream/fake-upstream.js'

const root = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)

/** Bundles once for this file, under the project so that the external packages resolve from its node_modules. */
let bundled: Promise<string> | null = null
function bundle(): Promise<string> {
  bundled ??= (async () => {
    const outdir = join(root, 'node_modules', '.cache', `apex-staging-bundle-${process.pid}`)
    mkdirSync(outdir, { recursive: true })
    // Removed when the whole file is done (both tests use it).
    t.teardown(() => rmSync(outdir, { recursive: true, force: true }))
    await run(process.execPath, [join(root, 'scripts', 'bundle.mjs'), '--outdir', outdir], { cwd: root })
    return outdir
  })()
  return bundled
}

async function startBundled(t: TapLike, outdir: string, env: Record<string, string>) {
  const port = await freePort()
  const child = spawnNode([join(outdir, 'server.js')], { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env })
  t.teardown(() => child.kill('SIGKILL'))
  await waitHealthy(port, child)
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code))
      child.kill('SIGTERM')
    })
  return { url: `http://127.0.0.1:${port}`, stop }
}

async function stageOne(url: string, id: string, bytes: string): Promise<number> {
  const form = new FormData()
  form.set('document_id', id)
  form.set('file', new Blob([bytes]), 'b.txt')
  return (await fetch(`${url}/v1/documents`, { method: 'POST', body: form })).status
}

t.test('the bundled server starts, serves, and snapshots its index at a clean stop', async (t) => {
  const outdir = await bundle()
  t.match((await run(process.execPath, [join(outdir, 'cli.js'), '--version'])).stdout, /^\d+\.\d+\.\d+/, 'the CLI bundle runs')

  const baseDir = await tempDir(t)
  const first = await startBundled(t, outdir, { STAGING_BASE_DIR: baseDir })
  t.equal((await fetch(`${first.url}/docs/json`)).status, 200, 'the OpenAPI document (swagger, left external)')
  t.equal((await fetch(`${first.url}/docs/`)).status, 200, 'the docs UI and its assets')
  t.equal(await stageOne(first.url, 'BUNDLED', 'bundled bytes'), 201)
  t.equal(await first.stop(), 0, 'a clean stop exits 0')
  t.ok((await readdir(baseDir)).includes('.index-snapshot'), 'the snapshot is written at the stop')

  const second = await startBundled(t, outdir, { STAGING_BASE_DIR: baseDir })
  t.notOk((await readdir(baseDir)).includes('.index-snapshot'), 'and consumed by the next start')
  t.equal(await (await fetch(`${second.url}/v1/staging/local_upload/BUNDLED/content`)).text(), 'bundled bytes')
  t.equal(await second.stop(), 0)
})

t.test('the bundled server pulls a URL under the launcher WebAssembly settings (undici parses HTTP in WebAssembly)', async (t) => {
  const outdir = await bundle()
  // 24 MiB in 1 MiB writes: thousands of socket reads through the parser, past the 8 MiB hash-worker threshold.
  const block = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i)
  const hash = createHash('sha256')
  for (let i = 0; i < 24; i++) hash.update(block)
  const upstream = await fakeUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(24 * block.length) })
    let sent = 0
    const more = () => {
      while (sent < 24) {
        sent++
        if (!res.write(block)) return void res.once('drain', more)
      }
      res.end()
    }
    more()
  })
  const server = await startBundled(t, outdir, { STAGING_BASE_DIR: await tempDir(t), STAGING_HTTP_ALLOW_HOSTS: upstream.hostPort })
  const res = await fetch(`${server.url}/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ source: 'http', document_id: 'PULLED', source_location: `${upstream.origin}/big.bin` })
  })
  const record = (await res.json()) as { file_size_bytes: number; sha256: string }
  t.equal(res.status, 201)
  t.equal(record.file_size_bytes, 24 * block.length)
  t.equal(record.sha256, hash.digest('hex'), 'every byte arrived, in order')
  t.equal(await server.stop(), 0)

  // V8 answers a flag it does not know on stdout ("unrecognized flag"), which the service keeps for JSON logs.
  const launcher = await readFile(join(outdir, 'server.js'), 'utf8')
  const flags = /setFlagsFromString\('([^']+)'\)/.exec(launcher)?.[1]
  t.ok(flags?.includes('--no-wasm-tier-up'), 'the launcher sets the WebAssembly flags')
  const probe = await run(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flags)})`])
  t.equal(probe.stdout + probe.stderr, '', 'and this Node knows every one of them')

  // The heap flag works only if V8 reads it at each full GC, after the launcher set it at run time
  // (bench/RESULTS.md: Full-GC storms). 4x is also what V8 itself picks in an allocating loop, so
  // the probe sets another value at run time: a child that keeps allocating until full GCs run must
  // print every new old-generation limit with that factor (2.5), where V8 left alone prints 4.0.
  t.ok(flags?.includes('--heap-growing-percent=300'), 'the launcher fixes the old generation growth factor at 4x')
  const allocate = `require('node:v8').setFlagsFromString('--heap-growing-percent=150'); const kept = []; for (let i = 0; i < 2e6; i++) kept.push({ i, s: 'item-' + i })`
  const traced = await run(process.execPath, ['--trace-gc-verbose', '-e', allocate], { maxBuffer: 64 * 1024 * 1024 })
  const factors = [...traced.stdout.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d+)\)/g)].map((m) => m[1])
  t.ok(factors.length > 0, 'full GCs ran and set new limits')
  t.same([...new Set(factors)], ['2.5'], 'V8 honours the growth factor set at run time')
})

/** The bundle's files a module loads by static import, itself included (dynamic import() calls are not followed). */
async function staticClosure(dir: string, roots: string[]): Promise<Set<string>> {
  const seen = new Set<string>()
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file)) return
    seen.add(file)
    const text = await readFile(file, 'utf8')
    for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from\s*"(\.[^"]+)"|^import\s*"(\.[^"]+)"/gm)) {
      await visit(join(file, '..', m[1] ?? m[2]!))
    }
  }
  for (const root of roots) await visit(join(dir, root))
  return seen
}

t.test('a start evaluates neither undici nor the docs stack: each is loaded on first use (undici also 2 s after ready)', async (t) => {
  const outdir = await bundle()
  const chunks = await readdir(join(outdir, 'chunks'))
  const serve = chunks.filter((f) => /^serve-.*\.mjs$/.test(f)).map((f) => join('chunks', f))
  t.equal(serve.length, 1, 'the service chunk, which the launcher imports once the tree is prepared')
  const started = await staticClosure(outdir, ['server.mjs', ...serve])
  /** The files among `files` that hold undici (its HTTP parser, llhttp). */
  const holdingUndici = async (files: Iterable<string>) => {
    const holding: string[] = []
    for (const file of files) if ((await readFile(file, 'utf8')).includes('llhttp')) holding.push(file)
    return holding
  }
  t.same(await holdingUndici(started), [], 'no module a start loads holds undici')
  const stack = chunks.find((f) => /^undici-stack-.*\.mjs$/.test(f))
  t.ok(stack, 'undici-stack has a chunk of its own')
  t.not((await holdingUndici(await staticClosure(outdir, [join('chunks', stack!)]))).length, 0, 'which brings undici with it')
  const serviceChunk = await readFile(join(outdir, serve[0]!), 'utf8')
  t.match(serviceChunk, `import("./${stack}")`, 'and the service imports it dynamically')

  // The docs stack (left external) likewise: imported on the first request for /docs or /openapi.json.
  for (const pkg of ['@fastify/swagger', '@fastify/swagger-ui']) {
    for (const file of started) t.notMatch(await readFile(file, 'utf8'), `from "${pkg}"`, `${file.slice(outdir.length)} does not import ${pkg} statically`)
    t.match(serviceChunk, `import("${pkg}")`, `${pkg} is imported dynamically`)
  }
})

t.test('the head start loads no zod and no node-cron: the tree is taken and its readers started before they compile', async (t) => {
  const outdir = await bundle()
  const early = await staticClosure(outdir, ['server.mjs'])
  const holding: string[] = []
  for (const file of early) if (/^\/\/ node_modules\/(zod|node-cron)\//m.test(await readFile(file, 'utf8'))) holding.push(file.slice(outdir.length))
  t.same(holding, [], 'no module the launcher imports before the service holds zod or node-cron')
  const all = await staticClosure(outdir, ['cli.mjs'])
  let seen = false
  for (const file of all) if (/^\/\/ node_modules\/zod\//m.test(await readFile(file, 'utf8'))) seen = true
  t.ok(seen, 'the check can see zod where it is (the CLI bundle imports it statically)')
})

t.test('the bundled server runs the shared engine (its lazily loaded chunk)', async (t) => {
  const outdir = await bundle()
  const backends = await sharedBackends(t)
  const server = await startBundled(t, outdir, { ...backends.env, ...backends.awsEnv, STAGING_BASE_DIR: await tempDir(t) })
  t.equal(await stageOne(server.url, 'SHARED', 'shared bytes'), 201)
  t.equal(await (await fetch(`${server.url}/v1/staging/local_upload/SHARED/content`)).text(), 'shared bytes', 'the bytes came back from the object store')
  t.equal(((await (await fetch(`${server.url}/v1/stats`)).json()) as { total_documents: number }).total_documents, 1)
  t.equal(await server.stop(), 0)
})
