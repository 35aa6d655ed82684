// Frees the chunks of large bodies sooner than V8 would. Every socket read is a fresh 64 KiB malloc,
// garbage once its bytes are copied into a hash worker's batch, and freed only when a scavenge
// collects its Buffer. V8 starts one when external memory has grown by 64 MiB since the last, so over
// a large transfer glibc's heap grew by ~40 MiB and kept it: peak RSS 150-159 MiB for 512 MiB pulls.
// A minor collection every 8 MiB handed over held it at 130-134 MiB, at the same throughput: a
// scavenge of a young generation of dead stream objects takes ~1 ms (bench/RESULTS.md, "The tenth machine").
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const SCAVENGE_EVERY_BYTES = 8 * 1024 * 1024

export class ScavengePacer {
  private since = 0
  private collect: (() => void) | null

  /** `collect`: tests count the collections; by default V8's minor collection (minorGc). */
  constructor(
    collect?: () => void,
    private readonly everyBytes = SCAVENGE_EVERY_BYTES
  ) {
    this.collect = collect ?? null
  }

  /** `bytes` of body chunks have just become garbage. */
  dropped(bytes: number): void {
    this.since += bytes
    if (this.since < this.everyBytes) return
    this.since = 0
    this.collect ??= minorGc()
    this.collect()
  }
}

/**
 * V8's gc() as a minor collection. --expose-gc, set at run time, gives gc() to the contexts made
 * after it (not to this one), so one is made for it. Should that fail, V8 keeps its own pace.
 */
function minorGc(): () => void {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    if (typeof gc === 'function') return () => (gc as (options: { type: 'minor' }) => void)({ type: 'minor' })
  } catch {
    // Below.
  }
  return () => undefined
}
