// Staging throughput with the event log on vs off: the same LocalEngine.stage() of small items (where
// the extra write + fdatasync of the log weighs most), one at a time and 32 at once, alternating
// on/off runs so the machine's load drifts over both alike; then the shared engine with its outbox on
// and off (local PostgreSQL and an s3rver bucket, as bench/shared-engine.ts).
// Usage: node --import tsx bench/events-overhead.ts [rounds]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { silentObserver } from '../src/staging/observer.js'
import { systemClock } from '../src/staging/clock.js'
import { LocalEngine } from '../src/staging/local-engine.js'
import { SharedEngine } from '../src/staging/shared/shared-engine.js'
import { loadConfig } from '../src/config.js'
import { sharedBackends } from '../test/staging/shared/backends.js'
import type { StagingEngine } from '../src/staging/engine.js'
import { median } from './median.js'

const BODY = Buffer.alloc(4096, 7)
const EVENT_LOG = { segmentBytes: 16 * 1024 * 1024, maxBytes: 1024 * 1024 * 1024, maxAgeMs: 7 * 24 * 3_600_000 }

const LIMITS = { maxTotalBytes: 10 * 1024 ** 3, maxDocumentBytes: 1024 ** 3 }

function localEngine(baseDir: string, events: boolean): LocalEngine {
  return new LocalEngine({ baseDir, clock: systemClock, limits: LIMITS, failedRetentionMs: 3_600_000, observer: silentObserver, eventLog: events ? EVENT_LOG : null })
}

/** The shared engine on fresh backends; without the outbox its mutation hook does nothing. */
async function sharedEngine(events: boolean, teardowns: (() => unknown)[]): Promise<SharedEngine> {
  const { env } = await sharedBackends({ teardown: (fn) => teardowns.push(fn) })
  const { storage } = loadConfig(env)
  return new SharedEngine({
    databaseUrl: storage.databaseUrl, s3: storage.s3, clock: systemClock, limits: LIMITS, failedRetentionMs: 3_600_000,
    observer: silentObserver, log: { warn: () => undefined }, eventMaxAgeMs: 3_600_000,
    ...(events ? {} : { mutationLog: { append: async () => undefined } })
  })
}

/** Items per second staging `count` items with `concurrency` in flight. */
async function run(engine: StagingEngine, count: number, concurrency: number): Promise<number> {
  await engine.init()
  try {
    let next = 0
    const started = performance.now()
    const worker = async () => {
      while (next < count) {
        const i = next++
        await engine.stage(
          { source: 'local_upload', documentId: `E-${i}`, kind: 'document', contentType: 'application/octet-stream', originalFilename: null, sourceLocation: null, overwrite: false, filename: 'doc.bin' },
          Readable.from([BODY])
        )
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return count / ((performance.now() - started) / 1000)
  } finally {
    await engine.close()
  }
}

async function local(events: boolean, count: number, concurrency: number): Promise<number> {
  const baseDir = await mkdtemp(join(tmpdir(), 'bench-events-'))
  try {
    return await run(localEngine(baseDir, events), count, concurrency)
  } finally {
    await rm(baseDir, { recursive: true, force: true })
  }
}

async function shared(events: boolean, count: number, concurrency: number): Promise<number> {
  const teardowns: (() => unknown)[] = []
  try {
    return await run(await sharedEngine(events, teardowns), count, concurrency)
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

/**
 * Rounds of back-to-back pairs (order alternating), reported as the median of the pairs' on/off
 * ratios: this VM's fsync latency drifts from minute to minute (the events-off rate alone moved
 * between 174 and 430 items/s in one afternoon), and a pair's two runs share the same minute.
 */
export async function eventsOverhead(rounds = Number(process.env.BENCH_ROUNDS ?? 7)): Promise<void> {
  const cases = [
    // 1000 items (~4 s a run here): with 300, one slow minute of this VM's flushes swung a pair by 40%.
    { engine: 'local', concurrency: 1, count: 1000, run: local },
    { engine: 'local', concurrency: 32, count: 2000, run: local },
    { engine: 'shared', concurrency: 8, count: 300, run: shared }
  ] as const
  for (const c of cases) {
    const on: number[] = []
    const off: number[] = []
    const ratios: number[] = []
    for (let r = 0; r < rounds; r++) {
      const pair: Record<'on' | 'off', number> = { on: 0, off: 0 }
      for (const events of r % 2 === 0 ? [false, true] : [true, false]) pair[events ? 'on' : 'off'] = await c.run(events, c.count, c.concurrency)
      off.push(pair.off)
      on.push(pair.on)
      ratios.push(pair.on / pair.off)
    }
    const ratio = median(ratios)
    const range = `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`
    console.log(
      `${c.engine} engine, ${c.concurrency} in flight, ${c.count} items of 4 KiB: events off ${median(off).toFixed(0)} items/s, on ${median(on).toFixed(0)} items/s ` +
        `(on/off ${ratio.toFixed(3)}, median of ${rounds} back-to-back pairs, range ${range}; ${ratio >= 0.9 ? 'within' : 'NOT within'} 10%)`
    )
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await eventsOverhead(process.argv[2] ? Number(process.argv[2]) : undefined)
