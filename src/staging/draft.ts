// A draft is an item being built in the store's temp area: its bytes are streamed to disk with the
// sha256 and size computed on the way, then the store commits it by one rename.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { copyFile, mkdir, open, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AppError, isAppError } from '../errors.js'
import { fsyncPath } from './durable-fs.js'
import type { Reservation } from './quota.js'

export interface WrittenFile {
  filename: string
  size: number
  sha256: string
}

export interface WriteOptions {
  /** Size announced by the sender; a body that runs past it is refused. */
  declaredBytes?: number | null
}

export class Draft {
  private file: WrittenFile | null = null
  private closed = false

  constructor(
    readonly dir: string,
    readonly reservation: Reservation,
    private readonly onClose: (draft: Draft) => void
  ) {}

  get written(): WrittenFile {
    if (!this.file) throw new Error('draft has no file yet')
    return this.file
  }

  async create(): Promise<void> {
    await mkdir(this.dir, { mode: 0o750 })
  }

  /** Streams `body` into the draft as `filename`, hashing and counting; fsyncs the file. */
  async writeFile(filename: string, body: Readable | AsyncIterable<Buffer>, options: WriteOptions = {}): Promise<WrittenFile> {
    const hash = createHash('sha256')
    let size = 0
    const declared = options.declaredBytes ?? null
    const reservation = this.reservation
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        try {
          size += chunk.length
          if (declared !== null && size > declared) {
            throw new AppError('ValidationError', `the body is longer than its declared ${declared} bytes`)
          }
          reservation.grow(chunk.length)
          hash.update(chunk)
          done(null, chunk)
        } catch (err) {
          done(err as Error)
        }
      }
    })
    const path = join(this.dir, filename)
    const out = createWriteStream(path, { flags: 'wx', mode: 0o640 })
    try {
      await pipeline(body, meter, out)
    } catch (err) {
      throw toWriteError(err)
    }
    if (declared !== null && size < declared) {
      throw new AppError('ValidationError', `the body ended after ${size} of its declared ${declared} bytes`)
    }
    await fsyncPath(path)
    this.file = { filename, size, sha256: hash.digest('hex') }
    return this.file
  }

  /**
   * Takes an existing file into the draft: a rename within a filesystem, else copy + fsync
   * (the caller unlinks the source only after the commit). Hashes the bytes as it reads them.
   */
  async adoptFile(sourcePath: string, filename: string): Promise<{ file: WrittenFile; moved: boolean }> {
    const target = join(this.dir, filename)
    let moved = false
    try {
      await rename(sourcePath, target)
      moved = true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
      await copyFile(sourcePath, target)
    }
    const hash = createHash('sha256')
    let size = 0
    const handle = await open(target, 'r')
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
        this.reservation.grow(chunk.length)
        size += chunk.length
        hash.update(chunk)
      }
      await handle.sync()
    } catch (err) {
      // Put a renamed file back where it was: a refused move loses nothing.
      if (moved) await rename(target, sourcePath).catch(() => undefined)
      throw err
    } finally {
      await handle.close()
    }
    this.file = { filename, size, sha256: hash.digest('hex') }
    return { file: this.file, moved }
  }

  /** Removes the draft and gives back its reservation; safe to call more than once. */
  async discard(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.reservation.release()
    this.onClose(this)
    await rm(this.dir, { recursive: true, force: true })
  }

  /** Called by the store once the draft directory has been renamed into place. */
  markCommitted(): void {
    this.closed = true
    this.reservation.release()
    this.onClose(this)
  }

  async removeFile(filename: string): Promise<void> {
    await unlink(join(this.dir, filename)).catch(() => undefined)
  }
}

function toWriteError(err: unknown): Error {
  if (isAppError(err)) return err
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('QuotaExceeded', 'the staging filesystem is full', { cause: err })
  }
  if (code === 'EIO' || code === 'EROFS' || code === 'EACCES' || code === 'EMFILE') {
    return new AppError('StagingError', 'writing the item to disk failed', { cause: err })
  }
  return err as Error
}
