// Two builds of the service compared in alternating short runs: on a VM whose disk and page-cache
// speed move by 2-4x from one few-second window to the next (README: Performance), a single run of
// each build means little, while the median of many back-to-back pairs holds. Both servers run for
// the whole comparison (each on its own temp tree); every pair runs old then new, or new then old.
//
//   node --import tsx bench/alternate.ts --old ../other-checkout --new . [--case upload|pull|small]
//                                         [--pairs 8] [--mib 512] [--seconds 3] [--connections 32] [--fresh]
//                                         [--transfers 1] [--old-env NAME=VALUE …] [--new-env NAME=VALUE …]
//
// Each checkout needs `npm run build` (its dist/server.js). upload: multipart POSTs of --mib with
// curl, pull: JSON pulls of --mib from a loopback file server, each item deleted after it is
// measured (MB/s); small: 4 KiB multipart uploads from --connections keep-alive connections for
// --seconds (req/s), sent by wrk as the harness does (each pair also prints both p99 latencies), or by
// undici from this process where wrk is not installed. Prints every pair, the median ratio new/old
// and each server's peak RSS.
// --fresh: every measurement in a server process of its own, started for it and stopped after it, so
// each is the first of its process (nothing warmed, as in the harness's first round) and each peak RSS
// is that one measurement's.
// --old-env / --new-env NAME=VALUE (repeatable): a setting for that side's servers only; with --old
// and --new the same checkout, two settings compared (e.g. --new-env STAGING_DIRECT_WRITES=true).
// --transfers N (upload, pull): each measurement is N bodies in a row, its figure their median; with
// --fresh, N bodies per process, as the harness sends five rounds to one process.
// The servers run with --trace-gc: each pair also prints the full GCs (Mark-Compact) each build ran
// during its measurement, which is where a GC storm shows (bench/RESULTS.md: Full-GC storms).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { waitHealthy } from '../test/proofs/server-bundle.js'
import { freePort, multipartBody } from '../test/helper.js'
import { memoryOf } from './process-memory.js'
import { serveSource, writeSource } from './pull-source.js'
import { median } from './median.js'

const MIB = 1024 * 1024

interface Server {
  name: string
  child: ChildProcess
  port: number
  /** Mark-Compact lines the server's --trace-gc has printed so far. */
  fullGcs: number
}

const { values: opts } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: '.' },
    case: { type: 'string', default: 'upload' },
    pairs: { type: 'string', default: '8' },
    mib: { type: 'string', default: '512' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    fresh: { type: 'boolean', default: false },
    transfers: { type: 'string', default: '1' },
    'old-env': { type: 'string', multiple: true, default: [] },
    'new-env': { type: 'string', multiple: true, default: [] }
  }
})
/** --old-env / --new-env NAME=VALUE (repeatable): settings for one side only, e.g. the same checkout under two settings. */
const sideEnv = (pairs: string[]): Record<string, string> =>
  Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=')
      if (at < 1) throw new Error(`--old-env/--new-env take NAME=VALUE, not ${pair}`)
      return [pair.slice(0, at), pair.slice(at + 1)]
    })
  )
const envOf = { old: sideEnv(opts['old-env']!), new: sideEnv(opts['new-env']!) }
if (!opts.old || !['upload', 'pull', 'small'].includes(opts.case!)) {
  console.error('usage: node --import tsx bench/alternate.ts --old DIR [--new DIR] [--case upload|pull|small] [--pairs N]')
  process.exit(2)
}
const size = Number(opts.mib) * MIB
const work = await mkdtemp(join(tmpdir(), 'staging-alternate-'))
const children: ChildProcess[] = []
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')))

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('error', fail)
    child.on('exit', (code) => (code === 0 ? done(out) : fail(new Error(`${cmd} exited ${code}`))))
  })
}

async function startServer(name: string, checkout: string, env: Record<string, string>, base = join(work, name)): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--trace-gc', join(resolve(checkout), 'dist/server.js')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: String(port), STAGING_BASE_DIR: base, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  children.push(child)
  const server: Server = { name, child, port, fullGcs: 0 }
  // GC traces are counted; the server's own lines (warnings) pass through.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.includes(': Mark-Compact ')) server.fullGcs++
    else if (!/^\[\d+:0x[0-9a-f]+\]/.test(line)) console.log(line)
  })
  await waitHealthy(port, child)
  return server
}

let serial = 0

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGINT')
  await exited
  children.splice(children.indexOf(server.child), 1)
}

/** One large body through `server` (MB/s), deleted afterwards so the next starts from the same tree. */
async function oneLarge(server: Server, source: string, pullUrl: string): Promise<number> {
  const id = `alt-${serial++}`
  await exec('sync', [])
  const started = performance.now()
  const args =
    opts.case === 'upload'
      ? ['-F', 'source=local_upload', '-F', `document_id=${id}`, '-F', `file=@${source}`]
      : ['-H', 'content-type: application/json', '--data-binary', JSON.stringify({ source: 'http', document_id: id, source_location: pullUrl })]
  const status = await exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args, `http://127.0.0.1:${server.port}/v1/documents`])
  const seconds = (performance.now() - started) / 1000
  if (status !== '201') throw new Error(`${server.name}: HTTP ${status}`)
  await exec('curl', ['-s', '-o', '/dev/null', '-X', 'DELETE', `http://127.0.0.1:${server.port}/v1/staging/${opts.case === 'upload' ? 'local_upload' : 'http'}/${id}`])
  return size / 1e6 / seconds
}

/**
 * The small case's client: wrk, as the harness measures it (its own process, so the client's CPU is
 * not this script's), with this Lua script: 4 KiB multipart uploads, a new id each. Prints one
 * WRKJSON line: requests, duration, responses that were not 2xx or 3xx, p99 latency.
 */
const WRK_SCRIPT = `
local payload, prefix
local n = 0
local boundary = "alternateBoundary7Q3vZ"
function init(args)
  local f = assert(io.open(args[1], "rb"))
  payload = f:read("*a")
  f:close()
  prefix = args[2]
end
function request()
  n = n + 1
  local body = "--" .. boundary .. "\\r\\n" ..
    'Content-Disposition: form-data; name="document_id"\\r\\n\\r\\n' .. prefix .. "-" .. n .. "\\r\\n" ..
    "--" .. boundary .. "\\r\\n" ..
    'Content-Disposition: form-data; name="file"; filename="small.bin"\\r\\n' ..
    "Content-Type: application/octet-stream\\r\\n\\r\\n" .. payload .. "\\r\\n" ..
    "--" .. boundary .. "--\\r\\n"
  return wrk.format("POST", "/v1/documents", { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }, body)
end
function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"failed":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, summary.errors.status, latency:percentile(99)))
end
`
const useWrk = opts.case === 'small' && spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0
/** The p99 latency (ms) of each side's last small-case measurement, where wrk measured it. */
const p99s = new Map<string, number>()

/** 4 KiB multipart uploads from `connections` keep-alive connections for `seconds` (req/s of 2xx answers). */
async function smallUploads(server: Server): Promise<number> {
  return useWrk ? wrkUploads(server) : undiciUploads(server)
}

async function wrkUploads(server: Server): Promise<number> {
  const script = join(work, 'small.lua')
  const payload = join(work, 'small.bin')
  if (!existsSync(script)) {
    await writeFile(script, WRK_SCRIPT)
    await writeFile(payload, Buffer.alloc(4096, 'x'))
  }
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--timeout', '10s', '-s', script, `http://127.0.0.1:${server.port}/`]
  const out = await exec('wrk', [...args, '--', payload, `w${serial++}`])
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '))
  if (!line) throw new Error(`wrk printed no result: ${out.slice(0, 500)}`)
  const r = JSON.parse(line.slice('WRKJSON '.length)) as { requests: number; duration_us: number; failed: number; p99_us: number }
  p99s.set(server.name, r.p99_us / 1000)
  return (r.requests - r.failed) / (r.duration_us / 1e6)
}

/** Without wrk: the same uploads from this process, through undici. */
async function undiciUploads(server: Server): Promise<number> {
  const agent = new Agent({ connections: Number(opts.connections), pipelining: 1 })
  const content = Buffer.alloc(4096, 'x')
  const end = performance.now() + Number(opts.seconds) * 1000
  let ok = 0
  const loop = async () => {
    while (performance.now() < end) {
      const form = multipartBody({ document_id: `s-${serial++}` }, { filename: 'small.bin', content })
      const res = await request(`http://127.0.0.1:${server.port}/v1/documents`, { method: 'POST', body: form.payload, headers: form.headers, dispatcher: agent })
      await res.body.dump()
      if (res.statusCode === 201) ok++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Number(opts.connections) }, loop))
  const rate = ok / ((performance.now() - started) / 1000)
  await agent.close()
  return rate
}

try {
  const source = join(work, 'source.bin')
  let pullUrl = ''
  if (opts.case !== 'small') await writeSource(source, size)
  if (opts.case === 'pull') {
    const files = await serveSource(source, size)
    children.push(files.child)
    pullUrl = `http://127.0.0.1:${files.port}/source.bin`
  }
  const env: Record<string, string> = pullUrl ? { STAGING_HTTP_ALLOW_HOSTS: new URL(pullUrl).host } : {}
  const envs = { old: { ...env, ...envOf.old }, new: { ...env, ...envOf.new } }
  const once = (s: Server) => (opts.case === 'small' ? smallUploads(s) : oneLarge(s, source, pullUrl))
  const transfers = opts.case === 'small' ? 1 : Math.max(1, Number(opts.transfers))
  const measure = async (s: Server) => {
    const rates: number[] = []
    for (let i = 0; i < transfers; i++) rates.push(await once(s))
    return median(rates)
  }
  const unit = opts.case === 'small' ? 'req/s' : 'MB/s'
  const hwmMiB = (s: Server) => memoryOf(s.child.pid!).hwm / MIB
  const checkouts = { old: opts.old, new: opts.new! }
  /** One measurement of `name`'s build: in its long-running server, or (--fresh) in a process of its own. */
  let run: (name: 'old' | 'new') => Promise<{ value: number; hwm: number | null; fullGcs: number }>
  let servers: Record<'old' | 'new', Server> | null = null
  if (opts.fresh) {
    run = async (name) => {
      const server = await startServer(name, checkouts[name], envs[name], join(work, `${name}-${serial}`))
      try {
        const value = await measure(server)
        return { value, hwm: hwmMiB(server), fullGcs: server.fullGcs }
      } finally {
        await stopServer(server)
      }
    }
  } else {
    servers = { old: await startServer('old', opts.old, envs.old), new: await startServer('new', opts.new!, envs.new) }
    // Warm both (JIT, the first pages of the heap and of the hash worker), unmeasured.
    await once(servers.old)
    await once(servers.new)
    run = async (name) => {
      const server = servers![name]
      const before = server.fullGcs
      return { value: await measure(server), hwm: null, fullGcs: server.fullGcs - before }
    }
  }
  const ratios: number[] = []
  const peaks: Record<'old' | 'new', number[]> = { old: [], new: [] }
  for (let i = 0; i < Number(opts.pairs); i++) {
    const order: ('old' | 'new')[] = i % 2 === 0 ? ['old', 'new'] : ['new', 'old']
    const got: Record<string, number> = {}
    const gcs: Record<string, number> = {}
    for (const name of order) {
      const { value, hwm, fullGcs } = await run(name)
      got[name] = value
      gcs[name] = fullGcs
      if (hwm !== null) peaks[name].push(hwm)
    }
    const ratio = got.new! / got.old!
    ratios.push(ratio)
    const rss = opts.fresh ? `; peak RSS old ${peaks.old.at(-1)!.toFixed(1)} new ${peaks.new.at(-1)!.toFixed(1)} MiB` : ''
    const p99 = p99s.size === 2 ? `; p99 old ${p99s.get('old')!.toFixed(1)} new ${p99s.get('new')!.toFixed(1)} ms` : ''
    console.log(`pair ${i + 1}: old ${got.old!.toFixed(0)} new ${got.new!.toFixed(0)} ${unit}, new/old ${ratio.toFixed(3)}${p99}; full GCs old ${gcs.old} new ${gcs.new}${rss}`)
  }
  ratios.sort((a, b) => a - b)
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`
  const rss = servers ? `old ${hwmMiB(servers.old).toFixed(1)} MiB, new ${hwmMiB(servers.new).toFixed(1)} MiB` : `old ${range(peaks.old)} MiB, new ${range(peaks.new)} MiB`
  console.log(`${opts.case}${opts.fresh ? ' (fresh processes)' : ''}: median new/old ${median(ratios).toFixed(3)} over ${ratios.length} pairs (range ${ratios[0]!.toFixed(3)}-${ratios.at(-1)!.toFixed(3)}); peak RSS ${rss}`)
} finally {
  for (const c of children) c.kill('SIGINT')
  await new Promise((r) => setTimeout(r, 500))
  await rm(work, { recursive: true, force: true })
}
