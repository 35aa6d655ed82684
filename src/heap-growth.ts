// How far V8's old generation may grow past its live size before the next full GC, decided again
// after every full GC. The launchers start the process at 4x (V8's ceiling), because a large
// transfer's socket buffers count against that limit until a scavenge frees them, up to ~32 MiB at a
// time: with the ~14-20 MiB a running service holds, less room meant a full GC every 50-70 ms
// (bench/RESULTS.md: Full-GC storms). But 4x of a large live heap is mostly garbage held as
// resident memory: at 100k items and more (60-150 MiB live) a burst of small uploads grew the old
// generation to 4x before a full GC ran. So the room is what the socket buffers need, or half the
// live heap, whichever is more: 4x at ~24 MiB live, 2x at 72 MiB, 1.5x from 144 MiB on.
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'

/** Room past the live heap that large transfers need (bench/RESULTS.md, Full-GC storms: 4x of ~18 MiB never stormed). */
export const HEAP_ROOM_BYTES = 72 * 1024 * 1024

/** V8's ceiling (4x), and half the live heap: the bounds of the growth. */
const MAX_PERCENT = 300
const MIN_PERCENT = 50

/** The growth past `liveBytes` (percent, in steps of 10) that leaves at least `roomBytes` of room, within 1.5x and 4x. */
export function growthPercent(liveBytes: number, roomBytes = HEAP_ROOM_BYTES): number {
  if (!(liveBytes > 0)) return MAX_PERCENT
  const percent = Math.ceil((10 * Math.max(roomBytes, liveBytes / 2)) / liveBytes) * 10
  return Math.min(MAX_PERCENT, Math.max(MIN_PERCENT, percent))
}

/** A 'gc' performance entry: its kind is in `detail` (Node 16 on). */
type GcEntry = PerformanceEntry & { detail?: { kind?: number } }

export interface HeapGrowthOptions {
  roomBytes?: number
  /** Called when the growth changes (the tests watch it). */
  onChange?: (percent: number, liveBytes: number) => void
}

/**
 * After each full GC, sets V8's `--heap-growing-percent` from the live heap (growthPercent). V8
 * reads the flag when a full GC computes the next limit, so each setting applies from the next full
 * GC on. Returns the function that stops it. GC entries are observed anyway (prom-client's
 * nodejs_gc_duration_seconds), so this adds no hook of its own to V8's GCs.
 */
export function governHeapGrowth(options: HeapGrowthOptions = {}): () => void {
  let current = MAX_PERCENT
  const observer = new PerformanceObserver((list) => {
    const major = list.getEntries().some((entry) => (entry as GcEntry).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
    if (!major) return
    const live = getHeapStatistics().used_heap_size
    const percent = growthPercent(live, options.roomBytes)
    if (percent === current) return
    current = percent
    setFlagsFromString(`--heap-growing-percent=${percent}`)
    options.onChange?.(percent, live)
  })
  observer.observe({ entryTypes: ['gc'] })
  return () => observer.disconnect()
}
