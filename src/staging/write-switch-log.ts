// The app's log line for each switch of a hash worker's 'auto' writes (hash-worker-program.ts): to the
// page cache when O_DIRECT was slow, back to O_DIRECT when the page cache was slow too.
import type { WriteSwitch } from './hash-workers.js'

export const SLOW_DISK_MESSAGE = 'O_DIRECT writes are slow (MB/s while the disk was busy with them): writing large bodies through the page cache for a while'
export const SLOW_PAGE_CACHE_MESSAGE = "buffered writes are slow (the hash worker's system time per MiB): writing large bodies with O_DIRECT again"

const twoPlaces = (n: number) => Math.round(n * 100) / 100

export function logWriteSwitch(log: { info(fields: object, message: string): void } | undefined, notice: WriteSwitch): void {
  if (notice.to === 'page cache') {
    log?.info({ mb_per_s: twoPlaces(notice.mbPerS), window_bytes: notice.windowBytes, buffered_bytes: notice.bufferedBytes }, SLOW_DISK_MESSAGE)
  } else {
    log?.info({ ms_per_mib: twoPlaces(notice.msPerMiB), window_bytes: notice.windowBytes }, SLOW_PAGE_CACHE_MESSAGE)
  }
}
