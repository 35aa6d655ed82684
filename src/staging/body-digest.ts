// A draft file's sha-256, computed on the way to disk: inline for small bodies, and past
// INLINE_HASH_BYTES by a hash worker that reads the file back as it is written (hash-workers.ts).
import { createHash, type Hash } from 'node:crypto'
import { HashWorkerGone, hashFileHere, type HashJob, type HashWorkers } from './hash-workers.js'

/**
 * Bodies up to this size are hashed on this thread as they pass: a worker job costs a few messages
 * and a thread hop, nothing next to the fsync of a small item. Past it the worker hashes the file
 * from its first byte (the inline hash of these first bytes is dropped: ~5 ms of work).
 */
export const INLINE_HASH_BYTES = 8 * 1024 * 1024

export class BodyDigest {
  private inline: Hash | null = createHash('sha256')
  private job: HashJob | null = null

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

  /** The file holds its first `upTo` bytes (called after each write lands). */
  written(upTo: number): void {
    if (this.inline || !this.workers) return
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
    try {
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
  }
}
