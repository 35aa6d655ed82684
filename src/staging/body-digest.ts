// A draft file's sha-256, computed on the way to disk. Bodies the file writer writes in one go at
// their end are hashed inline as they pass; the batches of longer ones go to a hash worker that
// writes them into the file and hashes them (writeBatch); a file written by other means (an adopted
// one) is hashed past INLINE_HASH_BYTES by a worker reading it back as it grows (hash-workers.ts).
import { createHash, type Hash } from 'node:crypto'
import type { Batch } from './batched-file-writer.js'
import { WRITES_IN_FLIGHT } from './large-body-constants.js'
import { HashWorkerGone, hashFileHere, type HashJob, type HashWorkers } from './hash-workers.js'

/**
 * Bodies up to this size are hashed on this thread as they pass: a worker job costs a few messages
 * and a thread hop, nothing next to the fsync of a small item. Past it the worker hashes the file
 * from its first byte (the inline hash of these first bytes is dropped: ~5 ms of work).
 */
export const INLINE_HASH_BYTES = 8 * 1024 * 1024


export class BodyDigest {
  private inline: Hash | null = createHash('sha256')
  /** Reads the file back (`written`). */
  private job: HashJob | null = null
  /** Writes the file's batches (`writeBatch`), in order, with their answers still to come. */
  private writer: HashJob | null = null
  private inFlight: { batch: Batch; written: Promise<void> }[] = []
  /** A worker failed under writeBatch: the writer wrote the rest, and the digest reads the file. */
  private fromFile = false

  /** `workers` null: always inline (no file to read back, or no workers). */
  constructor(
    private readonly path: string,
    private readonly workers: HashWorkers | null
  ) {}

  /** Every chunk, in order, as it passes; `sizeAfter` counts the bytes so far, this chunk included. */
  update(chunk: Buffer, sizeAfter: number): void {
    if (!this.inline) return
    if (!this.workers || sizeAfter <= INLINE_HASH_BYTES) {
      this.inline.update(chunk)
      return
    }
    this.inline = null
  }

  /**
   * The file writer's batch (createBatchedFileWriter's `writeBatch`): a hash worker writes it and
   * hashes it, from the first batch on. Resolves with the batches the writer must write itself: none,
   * or, once a worker has failed, every batch it had not answered for, then each later one.
   */
  async writeBatch(batch: Batch): Promise<readonly Batch[]> {
    if (!this.workers || this.fromFile) return [batch]
    if (!this.writer) {
      if (batch.position !== 0) return [batch]
      try {
        this.writer = this.workers.startWriting(this.path)
      } catch (err) {
        return this.giveUp(err, [batch])
      }
      // The worker hashes every byte it writes; the inline hash of the first batch is dropped.
      this.inline = null
    }
    const { copy, written } = this.writer.write(batch.parts, batch.bytes, batch.position)
    // Awaited in settle, perhaps only after a later batch's failure.
    written.catch(() => undefined)
    // The batch's own chunks are let go: should the worker fail, the writer writes the copy it had.
    this.inFlight.push({ batch: { parts: [copy], bytes: batch.bytes, position: batch.position }, written })
    return this.settle(WRITES_IN_FLIGHT - 1)
  }

  /** Resolves once every batch given to writeBatch is in the file, with those the writer must write itself. */
  settleBatches(): Promise<readonly Batch[]> {
    return this.settle(0)
  }

  /** The file holds its first `upTo` bytes (called after each write lands). */
  written(upTo: number): void {
    if (this.inline || !this.workers || this.writer || this.fromFile) return
    try {
      this.job ??= this.workers.start(this.path)
    } catch {
      // Closed workers: digest() hashes the file here.
      return
    }
    this.job.written(upTo)
  }

  /** The sha-256 (hex) of the `size` bytes the file holds once written. */
  async digest(size: number): Promise<string> {
    if (this.inline) return this.inline.digest('hex')
    if (this.fromFile) return hashFileHere(this.path)
    try {
      if (this.writer) return await this.writer.finish(size)
      this.job ??= this.workers!.start(this.path)
      return await this.job.finish(size)
    } catch (err) {
      if (!(err instanceof HashWorkerGone)) throw err
      return hashFileHere(this.path)
    }
  }

  /** The write failed: the worker drops its job. */
  abort(): void {
    this.job?.abort()
    this.writer?.abort()
  }

  /** Waits until at most `keep` batches are in flight; after a failure, hands back every batch not answered for. */
  private async settle(keep: number): Promise<readonly Batch[]> {
    while (this.inFlight.length > keep) {
      try {
        await this.inFlight[0]!.written
        this.inFlight.shift()
      } catch (err) {
        return this.giveUp(err, this.inFlight.map((f) => f.batch))
      }
    }
    return []
  }

  /** A worker failed: the writer writes `left` and every later batch, and the digest reads the file at the end. */
  private giveUp(err: unknown, left: Batch[]): Batch[] {
    if (!(err instanceof HashWorkerGone)) throw err
    this.writer?.abort()
    this.writer = null
    this.inFlight = []
    this.fromFile = true
    return left
  }
}
