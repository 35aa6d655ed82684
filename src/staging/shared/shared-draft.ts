// A draft of the shared engine: bytes stream to a fresh object key with the sha256 and size computed
// on the way and the fleet quota claimed ahead of them; the engine commits it in PostgreSQL.
import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AppError } from '../../errors.js'
import { assertDigest, type WriteOptions, type WrittenFile } from '../draft.js'
import type { StagingDraft } from '../engine.js'
import type { FleetReservation } from './fleet-reservation.js'
import type { ObjectStore } from './object-store.js'

export class SharedDraft implements StagingDraft {
  private file: WrittenFile | null = null
  private uploaded = false
  private closed = false

  constructor(
    private readonly objects: ObjectStore,
    readonly reservation: FleetReservation,
    private readonly log: (msg: string, err: unknown) => void
  ) {}

  get objectKey(): string {
    return this.reservation.objectKey
  }

  get written(): WrittenFile {
    if (!this.file) throw new Error('draft has no file yet')
    return this.file
  }

  async writeFile(filename: string, body: Readable | AsyncIterable<Buffer>, options: WriteOptions = {}): Promise<WrittenFile> {
    if (this.uploaded) throw new Error('a draft holds one file')
    const declared = options.declaredBytes ?? null
    const meter = new LeaseMeter(this.reservation, declared)
    this.uploaded = true
    await this.objects.upload(this.objectKey, (out) => pipeline(body, meter, out))
    if (declared !== null && meter.size < declared) {
      throw new AppError('ValidationError', `the body ended after ${meter.size} of its declared ${declared} bytes`)
    }
    const file = meter.result(filename)
    assertDigest(file, options.expectedSha256)
    this.file = file
    return file
  }

  /** Object storage has no hard links: the opened file is streamed up (and hashed on the way). */
  async adoptFile(source: FileHandle, _sourcePath: string, filename: string): Promise<{ file: WrittenFile; linked: boolean }> {
    const input = source.createReadStream({ start: 0, autoClose: false, highWaterMark: 1024 * 1024 })
    return { file: await this.writeFile(filename, input), linked: false }
  }

  /** Called by the engine once the commit transaction took the reservation. */
  markCommitted(): void {
    this.closed = true
    this.reservation.markConsumed()
  }

  /** Frees the reservation and deletes the object unless it was committed; the sweep reclaims what this misses. */
  async discard(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.reservation.release()
      if (this.uploaded) await this.objects.remove([this.objectKey])
    } catch (err) {
      this.log('discarding a shared draft failed; the sweep will reclaim it', err)
    }
  }
}

/** Counts and hashes the bytes on their way to S3 and claims fleet quota ahead of them. */
class LeaseMeter extends Transform {
  size = 0
  private readonly hash = createHash('sha256')

  constructor(
    private readonly reservation: FleetReservation,
    private readonly declared: number | null
  ) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.size += chunk.length
    if (this.declared !== null && this.size > this.declared) {
      done(new AppError('ValidationError', `the body is longer than its declared ${this.declared} bytes`))
      return
    }
    this.hash.update(chunk)
    if (this.size <= this.reservation.bytes) {
      done(null, chunk)
      return
    }
    this.reservation.ensure(this.size).then(() => done(null, chunk), done)
  }

  result(filename: string): WrittenFile {
    return { filename, size: this.size, sha256: this.hash.digest('hex') }
  }
}
