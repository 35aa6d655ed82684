// The shared engine against the local one: small uploads (throughput and latency, 8 at a time) and
// one large upload (MiB/s, server peak RSS), each through the built server (dist/server.js).
// The shared rows run on the local PostgreSQL (a throw-away database) and an s3rver bucket on
// loopback, so they measure this engine plus s3rver's own speed, not S3's or MinIO's.
// Usage: npm run build && node --import tsx bench/shared-engine.ts [small-count] [large-MiB]
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request, type IncomingMessage } from 'node:http'
import { sharedBackends } from '../test/staging/shared/backends.js'
import { freePort, multipartBody, tempDir } from '../test/helper.js'
import { memoryOf } from './process-memory.js'

const MIB = 1024 * 1024

export interface EngineBenchRow {
  engine: 'local' | 'shared'
  smallCount: number
  smallPerSecond: number
  smallP50Ms: number
  smallP99Ms: number
  largeMib: number
  largeMibPerSecond: number
  peakRssMb: number
}

async function smallUploads(port: number, count: number): Promise<number[]> {
  const latencies: number[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const { payload, headers } = multipartBody({ document_id: `SMALL-${i}` }, { filename: 's.bin', content: randomBytes(10 * 1024) })
      const started = performance.now()
      const res = await fetch(`http://127.0.0.1:${port}/v1/documents`, { method: 'POST', body: payload, headers })
      await res.arrayBuffer()
      if (res.status !== 201) throw new Error(`small upload answered ${res.status}`)
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return latencies.sort((a, b) => a - b)
}

async function largeUpload(port: number, mib: number): Promise<number> {
  const boundary = 'bench-shared'
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nLARGE\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="large.bin"\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const chunk = randomBytes(MIB)
  const started = performance.now()
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/documents', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + mib * MIB + tail.length } })
  const response = once(req, 'response')
  req.write(head)
  for (let i = 0; i < mib; i++) if (!req.write(chunk)) await once(req, 'drain')
  req.end(tail)
  const [res] = (await response) as [IncomingMessage]
  let body = ''
  for await (const part of res) body += part
  if (res.statusCode !== 201) throw new Error(`large upload answered ${res.statusCode}: ${body}`)
  return (performance.now() - started) / 1000
}

export async function engineBench(engine: 'local' | 'shared', smallCount = 300, largeMib = 256): Promise<EngineBenchRow> {
  const teardowns: (() => unknown)[] = []
  const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
  try {
    const backends = engine === 'shared' ? await sharedBackends(t) : null
    const port = await freePort()
    const child = spawn(process.execPath, ['dist/server.js'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...(backends ? { ...backends.env, ...backends.awsEnv } : {}),
        STAGING_BASE_DIR: await tempDir(t, 'bench-engine-'),
        PORT: String(port),
        LOG_LEVEL: 'warn',
        STAGING_MAX_DOCUMENT_MB: String(largeMib + 16),
        STAGING_MAX_SIZE_GB: String(largeMib / 1024 + 1)
      },
      stdio: ['ignore', 'inherit', 'inherit']
    })
    teardowns.push(async () => {
      child.kill('SIGTERM')
      await once(child, 'exit')
    })
    for (let i = 0; i < 200; i++) {
      if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const smallStarted = performance.now()
    const latencies = await smallUploads(port, smallCount)
    const smallSeconds = (performance.now() - smallStarted) / 1000
    const largeSeconds = await largeUpload(port, largeMib)
    return {
      engine,
      smallCount,
      smallPerSecond: smallCount / smallSeconds,
      smallP50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
      smallP99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      largeMib,
      largeMibPerSecond: largeMib / largeSeconds,
      peakRssMb: memoryOf(child.pid as number).hwm / MIB
    }
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

export function formatEngineRow(r: EngineBenchRow): string {
  return (
    `${r.engine.padEnd(6)} ${r.smallCount} × 10 KiB (8 at a time): ${r.smallPerSecond.toFixed(0)} uploads/s, p50 ${r.smallP50Ms.toFixed(1)} ms, p99 ${r.smallP99Ms.toFixed(1)} ms; ` +
    `${r.largeMib} MiB: ${r.largeMibPerSecond.toFixed(0)} MiB/s; server peak RSS ${r.peakRssMb.toFixed(0)} MB`
  )
}

export async function sharedEngineReport(): Promise<void> {
  for (const engine of ['local', 'shared'] as const) console.log(formatEngineRow(await engineBench(engine)))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [count, mib] = [Number(process.argv[2] ?? 300), Number(process.argv[3] ?? 256)]
  for (const engine of ['local', 'shared'] as const) console.log(formatEngineRow(await engineBench(engine, count, mib)))
}
