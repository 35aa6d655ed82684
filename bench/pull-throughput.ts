// Pulling a 512 MiB file from a loopback server through the service (stream, sha256, fsync, commit)
// against `curl -o` to the same disk followed by `sync` of that file; alternating rounds.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serveSource, writeSource } from './pull-source.js'
import { median } from './median.js'

const MIB = 1024 * 1024
const SIZE = Number(process.env.BENCH_PULL_MIB ?? 512) * MIB
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))))
  })
}

const mibps = (seconds: number) => SIZE / MIB / seconds

export async function pullThroughput(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-pull-'))
  const source = join(work, 'source.bin')
  const baseDir = join(work, 'staging')
  const curlOut = join(work, 'curl.bin')
  await writeSource(source, SIZE)

  const { child: server, port } = await serveSource(source, SIZE)
  const url = `http://127.0.0.1:${port}/source.bin`

  const config = loadConfig({
    STAGING_BASE_DIR: baseDir,
    STAGING_HTTP_ALLOW_HOSTS: `127.0.0.1:${port}`,
    STAGING_MAX_DOCUMENT_MB: '1024',
    LOG_LEVEL: 'silent'
  })
  const app = await buildApp(config, { logger: pino({ level: 'silent' }), schedule: false })
  await app.ready()

  const service: number[] = []
  const curl: number[] = []
  try {
    // A warm-up of each puts the source in the page cache for both contestants alike.
    for (let round = -1; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['service', 'curl'] : ['curl', 'service']
      for (const who of order) {
        const started = performance.now()
        if (who === 'service') {
          const res = await app.inject({ method: 'POST', url: '/v1/documents', payload: { document_id: `BENCH-${round}`, source: 'http', source_location: url } })
          if (res.statusCode !== 201) throw new Error(`pull failed: ${res.statusCode} ${res.body}`)
          const seconds = (performance.now() - started) / 1000
          if (round >= 0) service.push(seconds)
          await app.staging.store.remove('http', `BENCH-${round}`, 'deleted')
        } else {
          await run('curl', ['-sS', '-o', curlOut, url])
          await run('sync', [curlOut])
          const seconds = (performance.now() - started) / 1000
          if (round >= 0) curl.push(seconds)
          await rm(curlOut, { force: true })
        }
      }
    }
  } finally {
    await app.close()
    server.kill()
    await rm(work, { recursive: true, force: true })
  }

  const fmt = (xs: number[]) => xs.map((s) => `${mibps(s).toFixed(0)}`).join(', ')
  console.log(`file: ${SIZE / MIB} MiB from 127.0.0.1, ${ROUNDS} alternating rounds (after one warm-up each), disk: ${tmpdir()}`)
  console.log(`service pull (stream + sha256 + fsync + commit), MiB/s: ${fmt(service)}`)
  console.log(`curl -o + sync of the file,                  MiB/s: ${fmt(curl)}`)
  const ratio = mibps(median(service)) / mibps(median(curl))
  console.log(`median: service ${mibps(median(service)).toFixed(0)} MiB/s, curl+sync ${mibps(median(curl)).toFixed(0)} MiB/s, ratio ${(ratio * 100).toFixed(1)}% (target >= 90%)`)
}
