// A file sink that gathers small chunks into ~1 MiB batches: socket bodies arrive in 16-64 KiB pieces,
// and one thread-pool round trip per piece (fs.WriteStream) halves pull throughput. A batch goes to
// `writeBatch` (a hash worker) when there is one, else to one writev on the thread pool.
import { closeSync, writevSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { fsyncFd, openFd } from './durable-fs.js'
import { BLOCK_BYTES } from './large-body-constants.js'

const BATCH_BYTES = 1024 * 1024
/**
 * With `sync`, an fdatasync starts after every this many bytes (at most one at a time) so that the
 * disk takes the file while the rest still arrives. Otherwise the page cache holds all of it dirty and
 * the final fsync pays for the whole flush at once (~0.2-0.3 s of a 1.5 s pull of 512 MiB on the
 * benchmark VM). 8 MiB rather than 32 since the hash worker writes the batches: uploads ~0.81x of
 * `curl -o` against ~0.75x, pulls ~0.9x against ~0.8x (bench/RESULTS.md, the ninth machine); 4 MiB
 * was no better, 16 MiB in between. Since the worker writes whole blocks with O_DIRECT little is left
 * dirty and an early sync mostly commits the journal; 64 MiB measured the same (bench/RESULTS.md, the
 * tenth machine).
 */
const EARLY_SYNC_BYTES = 8 * 1024 * 1024
/**
 * A body that has fully arrived by the end and is at most this big is written inline (writev and
 * close are page-cache calls of microseconds); only its creating open and its fsync go to the thread
 * pool. Small items then cost two pool round trips instead of four.
 */
const INLINE_WRITE_BYTES = 256 * 1024

export interface BatchedFileWriterOptions {
  flags?: string
  mode?: number
  /** fsync the file before the stream finishes. */
  sync?: boolean
  /** With `sync`: bytes between early fdatasyncs (tests shrink it). */
  earlySyncBytes?: number
  /**
   * Called after each batch has landed, or has been taken by writeBatch, with the file's length so far
   * (a hash worker reading the file back reads up to it; the digest ignores it while it takes the batches).
   */
  onWritten?: (bytes: number) => void
  /**
   * With `sync`: the stream finishes once every byte is written, and the final fsync (then the
   * close) is handed over here instead of being awaited. The caller must `sync()` it (and await that)
   * before it relies on the file being durable, or `drop()` it (see DeferredSync).
   */
  deferSync?: (sync: DeferredSync) => void
  /**
   * Sees every chunk before it is taken (the draft's meter: counting, quota, hash); a throw refuses
   * the chunk and fails the stream. In the sink itself rather than a Transform before it: one stream
   * less per body is a few percent of a small upload's main-thread time.
   */
  take?: (chunk: Buffer) => void
  /**
   * Takes a batch instead of the thread pool (body-digest's writeBatch: a hash worker writes and
   * hashes it), resolving with the batches the writer must write itself after all, in order.
   */
  writeBatch?: (batch: Batch) => Promise<readonly Batch[]>
  /** With writeBatch: resolves once every batch it took is in the file, with those the writer must write itself. */
  settleBatches?: () => Promise<readonly Batch[]>
}

/**
 * A file's final fsync and close, handed over by deferSync. A body written inline (a small one) has
 * not started it yet: the caller starts it beside its own fsyncs, so that all of them land in one
 * journal transaction (on ext4 or XFS an fsync commits the running transaction and a later one must
 * wait for the next: started alone at the body's end, the data file's fsync committed without the
 * metadata, whose fsync then waited a second commit; 4 KiB uploads ran ~1.07-1.09x faster with it
 * started beside them, bench/RESULTS.md, the fourteenth machine). A large body's has started already
 * (its tail overlaps the digest and the metadata); `sync` then returns it.
 */
export interface DeferredSync {
  /** Starts the fsync (once: later calls return the same promise), then closes the file. */
  sync(): Promise<void>
  /** A draft given up: closes the file without an fsync, or waits for the one under way; never rejects. */
  drop(): Promise<void>
}

/** A DeferredSync of `start` (the fsync) and `close`, not yet started. */
function notStarted(start: () => Promise<void>, close: () => void): DeferredSync {
  let done: Promise<void> | null = null
  return {
    sync: () => (done ??= start().finally(close)),
    drop: async () => {
      if (done) return done.catch(() => undefined)
      done = Promise.reject(new Error('the file was dropped before its fsync'))
      done.catch(() => undefined)
      close()
    }
  }
}

/** A DeferredSync already under way. */
function underWay(synced: Promise<void>): DeferredSync {
  synced.catch(() => undefined)
  return { sync: () => synced, drop: () => synced.catch(() => undefined) }
}

/** Some bytes of the file: `parts`, `bytes` in all, to go at `position`. */
export interface Batch {
  parts: Buffer[]
  bytes: number
  position: number
}

export function createBatchedFileWriter(path: string, options: BatchedFileWriterOptions = {}): Writable {
  const earlySyncBytes = options.earlySyncBytes ?? EARLY_SYNC_BYTES
  let handle: FileHandle | null = null
  let pending: Buffer[] = []
  let pendingBytes = 0
  let unsyncedBytes = 0
  let writtenBytes = 0
  // At most one early sync in flight, so they never queue up behind the writes on the thread pool.
  let earlySync: Promise<void> | null = null
  // Kept, not just logged: the kernel reports a writeback error to a descriptor only once, so the
  // final fsync could succeed after an early one failed.
  let syncError: unknown = null

  async function flush(last: boolean): Promise<void> {
    if (syncError) throw syncError
    if (pendingBytes === 0) return
    // Opened on the first batch, so that small bodies never open a FileHandle (see finish).
    handle ??= await open(path, options.flags ?? 'w', options.mode ?? 0o640)
    const h = handle
    const batch = takeBatch(last)
    unsyncedBytes += batch.bytes
    writtenBytes += batch.bytes
    await writeAt(h, options.writeBatch ? await options.writeBatch(batch) : [batch])
    options.onWritten?.(writtenBytes)
    if (options.sync && unsyncedBytes >= earlySyncBytes && !earlySync) startEarlySync(h)
  }

  /**
   * The pending chunks as a batch; but for the last, it ends on a BLOCK_BYTES boundary of the file
   * and the bytes past it stay pending, so that a hash worker can write every batch but the last
   * with O_DIRECT.
   */
  function takeBatch(last: boolean): Batch {
    const end = writtenBytes + pendingBytes
    const keep = last ? 0 : end % BLOCK_BYTES
    const bytes = pendingBytes - keep
    const parts = pending
    pending = []
    for (let over = keep; over > 0; ) {
      const part = parts[parts.length - 1]!
      if (part.length <= over) {
        pending.unshift(parts.pop()!)
        over -= part.length
      } else {
        parts[parts.length - 1] = part.subarray(0, part.length - over)
        pending.unshift(part.subarray(part.length - over))
        over = 0
      }
    }
    pendingBytes = keep
    return { parts, bytes, position: writtenBytes }
  }

  function startEarlySync(h: FileHandle): void {
    unsyncedBytes = 0
    earlySync = h
      .datasync()
      .catch((err: unknown) => {
        syncError ??= err
      })
      .finally(() => {
        earlySync = null
      })
  }

  async function writeInline(): Promise<void> {
    // The open creates the file: on the pool (durable-fs); the writes stay inline.
    const fd = await openFd(path, options.flags ?? 'w', options.mode ?? 0o640)
    let open = true
    try {
      const parts = pending
      while (parts.length > 0) dropWritten(parts, writevSync(fd, parts))
      writtenBytes += pendingBytes
      pending = []
      pendingBytes = 0
      options.onWritten?.(writtenBytes)
      if (options.sync) {
        open = false
        await handOver(notStarted(() => fsyncFd(fd), () => closeSync(fd)))
      }
    } finally {
      if (open) closeSync(fd)
    }
  }

  /** The final fsync (then the close): handed to deferSync, or awaited here. */
  async function handOver(sync: DeferredSync): Promise<void> {
    if (options.deferSync) options.deferSync(sync)
    else await sync.sync()
  }

  async function finish(): Promise<void> {
    if (!handle && pendingBytes <= INLINE_WRITE_BYTES) return writeInline()
    await flush(true)
    if (handle && options.settleBatches) await writeAt(handle, await options.settleBatches())
    await earlySync
    if (syncError) throw syncError
    if (options.sync && handle) {
      // The descriptor is the sync's to close now, not destroy's.
      const h = handle
      handle = null
      await handOver(underWay(h.sync().finally(() => h.close())))
    }
  }

  return new Writable({
    highWaterMark: BATCH_BYTES,
    write(chunk: Buffer, _enc, done) {
      if (options.take) {
        try {
          options.take(chunk)
        } catch (err) {
          return done(err as Error)
        }
      }
      pending.push(chunk)
      pendingBytes += chunk.length
      if (pendingBytes < BATCH_BYTES) return done()
      flush(false).then(() => done(), done)
    },
    final(done) {
      finish().then(() => done(), done)
    },
    destroy(err, done) {
      const h = handle
      handle = null
      if (!h) return done(err)
      // An early sync may still be running on the descriptor: close after it.
      Promise.resolve(earlySync)
        .then(() => h.close())
        .then(() => done(err), () => done(err))
    }
  })
}

/**
 * Writes batches on the thread pool, each at its own offset (a worker's writes do not move the
 * descriptor's). writev may write less than asked (a signal, a nearly full disk): the rest goes in
 * another call.
 */
async function writeAt(handle: FileHandle, batches: readonly Batch[]): Promise<void> {
  for (const { parts, position } of batches) {
    let at = position
    while (parts.length > 0) {
      const { bytesWritten } = await handle.writev(parts, at)
      at += bytesWritten
      dropWritten(parts, bytesWritten)
    }
  }
}

/** Takes the first `n` bytes, which a writev wrote, off the front of `parts`. */
function dropWritten(parts: Buffer[], n: number): void {
  if (n === 0) throw Object.assign(new Error('the file took no bytes'), { code: 'EIO' })
  while (parts.length > 0 && n >= parts[0]!.length) n -= parts.shift()!.length
  if (n > 0) parts[0] = parts[0]!.subarray(n)
}
