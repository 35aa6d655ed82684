// A draft is an item being built in the store's temp area: its bytes are streamed to disk with the
// sha256 and size computed on the way, then the store commits it by one rename.
import { closeSync } from 'node:fs'
import { link, lstat, mkdir, rm, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable, type Readable } from 'node:stream'
import { AppError, isAppError } from '../errors.js'
import { createBatchedFileWriter, type BatchedFileWriterOptions, type DeferredSync } from './batched-file-writer.js'
import { BodyDigest } from './body-digest.js'
import { fsyncFd, fsyncPath, openFd, writeAllSync } from './durable-fs.js'
import type { HashWorkers } from './hash-workers.js'
import { pipeThrough } from './pipe-through.js'
import type { Reservation } from './quota.js'
import { isFsError, storageError } from './storage-errors.js'

/** link() failures that mean "not on this filesystem": fall back to a copy. */
const LINK_FALLBACK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EACCES'])

export interface WrittenFile {
  filename: string
  size: number
  sha256: string
}

export interface WriteOptions {
  /** Size announced by the sender; a body that runs past it is refused. */
  declaredBytes?: number | null
  /** sha256 (hex) the sender promised (Repr-Digest); other bytes are refused with DigestMismatch. */
  expectedSha256?: string | null
}

export class Draft {
  private file: WrittenFile | null = null
  private closed = false
  /** The data file's final fsync, handed over by writeFile: seal starts it beside its own, discard drops it. */
  private dataSync: DeferredSync | null = null

  constructor(
    readonly dir: string,
    readonly reservation: Reservation,
    private readonly onClose: (draft: Draft) => void,
    /** Large bodies are hashed there, from the file (body-digest); null: all on this thread. */
    private readonly hashWorkers: HashWorkers | null = null
  ) {}

  get written(): WrittenFile {
    if (!this.file) throw new Error('draft has no file yet')
    return this.file
  }

  /** On the thread pool: a mkdir waits for the journal while fsyncs commit (see durable-fs). */
  async create(): Promise<void> {
    await mkdir(this.dir, { mode: 0o750 })
  }

  /**
   * Streams `body` into the draft as `filename`, hashing and counting. The file's final fsync is left
   * to seal (DeferredSync): a small body's starts there beside the metadata's and the directory's, so
   * that one journal commit covers all three; a large body's runs on meanwhile.
   */
  async writeFile(filename: string, body: Readable | AsyncIterable<Buffer>, options: WriteOptions = {}): Promise<WrittenFile> {
    const declared = options.declaredBytes ?? null
    const path = join(this.dir, filename)
    const digest = new BodyDigest(path, this.hashWorkers)
    const meter = new Meter(this.reservation, declared, digest)
    const deferSync = (sync: DeferredSync) => {
      this.dataSync = sync
    }
    const out = createBatchedFileWriter(path, { flags: 'wx', mode: 0o640, sync: true, deferSync, ...digestHooks(digest, meter) })
    try {
      await pipeThrough(body, out)
    } catch (err) {
      digest.abort()
      throw toWriteError(err)
    }
    if (declared !== null && meter.size < declared) {
      digest.abort()
      throw new AppError('ValidationError', `the body ended after ${meter.size} of its declared ${declared} bytes`)
    }
    const file = await meter.result(filename)
    assertDigest(file, options.expectedSha256)
    this.file = file
    return file
  }

  /**
   * Takes an already-opened file into the draft as `filename` without removing the source: a hard
   * link within a filesystem (no bytes copied), else a copy from the open descriptor. Either way the
   * bytes are hashed and counted against the quota, and the file is fsynced. The caller unlinks the
   * source only after the commit, so a refusal or a crash before it loses nothing (a rename into the
   * draft would be lost by the start-up clean-up of .tmp). The link is checked to be the opened inode.
   */
  async adoptFile(source: FileHandle, sourcePath: string, filename: string): Promise<{ file: WrittenFile; linked: boolean }> {
    const target = join(this.dir, filename)
    const opened = await source.stat()
    let linked = false
    try {
      await link(sourcePath, target)
      const made = await lstat(target)
      if (made.ino !== opened.ino || made.dev !== opened.dev) {
        await unlink(target)
        throw new AppError('SourceNotAllowed', 'the file changed while it was being moved')
      }
      linked = true
    } catch (err) {
      if (isAppError(err) || !LINK_FALLBACK.has((err as NodeJS.ErrnoException).code ?? '')) throw toWriteError(err)
    }
    const digest = new BodyDigest(target, this.hashWorkers)
    const meter = new Meter(this.reservation, null, digest)
    const input = source.createReadStream({ start: 0, autoClose: false, highWaterMark: 1024 * 1024 })
    try {
      if (linked) {
        // A linked file is already in place: the meter only counts and hashes, and every byte it has
        // counted is in the file for a hash worker to read.
        const counted = new Writable({
          write(chunk: Buffer, _enc, done) {
            try {
              meter.take(chunk)
              digest.written(meter.size)
              done()
            } catch (err) {
              done(err as Error)
            }
          }
        })
        await pipeThrough(input, counted)
        await source.sync()
      } else {
        await pipeThrough(input, createBatchedFileWriter(target, { flags: 'wx', mode: 0o640, sync: true, ...digestHooks(digest, meter) }))
      }
    } catch (err) {
      digest.abort()
      throw toWriteError(err)
    }
    this.file = await meter.result(filename)
    return { file: this.file, linked }
  }

  /**
   * Writes the item's metadata straight into the draft (private until the commit rename, so it needs
   * no temp file of its own) and makes the draft durable: the metadata file, the directory's entries
   * and the data file (its fsync handed over by writeFile) are fsynced concurrently, all started in
   * one go after every write, so that one journal commit covers them.
   */
  async seal(name: string, data: string): Promise<void> {
    const fd = await openFd(join(this.dir, name), 'wx', 0o640)
    try {
      writeAllSync(fd, Buffer.from(data), 0)
      await Promise.all([fsyncFd(fd), fsyncPath(this.dir), this.dataSync?.sync()])
    } finally {
      closeSync(fd)
    }
  }

  /** Removes the draft and gives back its reservation; safe to call more than once. */
  async discard(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.reservation.release()
    this.onClose(this)
    // A data file whose fsync seal never started is still open: closed, not synced.
    await this.dataSync?.drop()
    await rm(this.dir, { recursive: true, force: true })
  }

  /** Called by the store once the draft directory has been renamed into place. */
  markCommitted(): void {
    this.closed = true
    this.reservation.release()
    this.onClose(this)
  }
}

/** The file writer's hooks: the meter sees every chunk, the digest writes (or is told of) every batch. */
function digestHooks(digest: BodyDigest, meter: Meter): Pick<BatchedFileWriterOptions, 'take' | 'writeBatch' | 'settleBatches' | 'onWritten'> {
  return {
    take: (chunk) => meter.take(chunk),
    writeBatch: (batch) => digest.writeBatch(batch),
    settleBatches: () => digest.settleBatches(),
    onWritten: (upTo) => digest.written(upTo)
  }
}

/**
 * Counts, hashes and claims quota for every byte on its way to disk; refuses bytes past `declared`.
 * The file writer calls `take` for each chunk before taking it (createBatchedFileWriter's `take`).
 */
class Meter {
  size = 0

  constructor(
    private readonly reservation: Reservation,
    private readonly declared: number | null,
    private readonly digest: BodyDigest
  ) {}

  take(chunk: Buffer): void {
    this.size += chunk.length
    if (this.declared !== null && this.size > this.declared) {
      throw new AppError('ValidationError', `the body is longer than its declared ${this.declared} bytes`)
    }
    this.reservation.grow(chunk.length)
    this.digest.update(chunk, this.size)
  }

  async result(filename: string): Promise<WrittenFile> {
    return { filename, size: this.size, sha256: await this.digest.digest(this.size) }
  }
}

/** Disk failures become catalogue errors; a failing body stream keeps its own error for the route. */
function toWriteError(err: unknown): Error {
  return isFsError(err) ? storageError(err, 'writing the item to disk failed') : (err as Error)
}

/** A body whose sha-256 differs from the client's Repr-Digest is refused (every engine's drafts). */
export function assertDigest(file: WrittenFile, expectedSha256: string | null | undefined): void {
  if (expectedSha256 && expectedSha256 !== file.sha256) {
    throw new AppError('DigestMismatch', `the body's sha-256 is ${file.sha256}, its Repr-Digest says ${expectedSha256}`, {
      extra: { expected_sha256: expectedSha256, actual_sha256: file.sha256 }
    })
  }
}
