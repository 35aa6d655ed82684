// Staging throughput with the event log on vs off: the same LocalEngine.stage() of small items (where
// the extra write + fdatasync of the log weighs most), one at a time and 32 at once, alternating
// on/off runs so the machine's load drifts over both alike. Usage: node --import tsx bench/events-overhead.ts
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { silentObserver } from '../src/staging/observer.js'
import { systemClock } from '../src/staging/clock.js'
import { LocalEngine } from '../src/staging/local-engine.js'

const BODY = Buffer.alloc(4096, 7)
const EVENT_LOG = { segmentBytes: 16 * 1024 * 1024, maxBytes: 1024 * 1024 * 1024, maxAgeMs: 7 * 24 * 3_600_000 }

/** Items per second staging `count` items with `concurrency` in flight. */
async function run(events: boolean, count: number, concurrency: number): Promise<number> {
  const baseDir = await mkdtemp(join(tmpdir(), 'bench-events-'))
  const engine = new LocalEngine({
    baseDir,
    clock: systemClock,
    limits: { maxTotalBytes: 10 * 1024 ** 3, maxDocumentBytes: 1024 ** 3 },
    failedRetentionMs: 3_600_000,
    observer: silentObserver,
    eventLog: events ? EVENT_LOG : null
  })
  try {
    await engine.init()
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
    await rm(baseDir, { recursive: true, force: true })
  }
}

export async function eventsOverhead(rounds = 3): Promise<void> {
  for (const [concurrency, count] of [[1, 300], [32, 2000]] as const) {
    const on: number[] = []
    const off: number[] = []
    for (let r = 0; r < rounds; r++) {
      off.push(await run(false, count, concurrency))
      on.push(await run(true, count, concurrency))
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const ratio = median(on) / median(off)
    console.log(
      `concurrency ${concurrency}, ${count} items of 4 KiB: events off ${median(off).toFixed(0)} items/s, on ${median(on).toFixed(0)} items/s ` +
        `(on/off ${ratio.toFixed(3)}, ${ratio >= 0.9 ? 'within' : 'NOT within'} 10%; medians of ${rounds} alternating runs)`
    )
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await eventsOverhead(Number(process.argv[2] ?? 3))
