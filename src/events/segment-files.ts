// The event log's files: segments in one directory, each named after its first sequence, zero-filled
// ahead of their data (1 MiB at a time) and written in place, so an fdatasync of an append flushes
// data only and adds no journal commit (size and extents are unchanged) to those of the item writes.
// Rotated by size, trimmed (whole segments, oldest first) by total size and age.
import { closeSync, ftruncateSync, openSync } from 'node:fs'
import { mkdir, readdir, stat, unlink } from 'node:fs/promises'
import { fsyncFd, fsyncPath, writeAllSync } from '../staging/durable-fs.js'
import type { CloudEvent } from './cloud-event.js'
import { scanSegment, segmentFirstSeq, segmentPath } from './segment-file.js'
import { writeAt, zeroFill } from './segment-io.js'

export interface SegmentOptions {
  dir: string
  /** A segment is closed and a new one begun once it holds this many bytes. */
  segmentBytes: number
  /** Whole old segments are deleted while the log is over this size or they are older than maxAgeMs. */
  maxBytes: number
  maxAgeMs: number
  /** Wall clock for segment ages (file mtimes are wall-clock time too). */
  now: () => number
}

export interface Segment {
  first: number
  path: string
  /** Where the data ends (the next line goes here). */
  bytes: number
  /** The file's size, zero-filled ahead of the data. */
  size: number
  lastWriteAt: number
}

/** Batches up to this size are written inline (place). */
const INLINE_WRITE_BYTES = 64 * 1024

/** How far ahead of the data a segment is zero-filled: one metadata sync per step, not per append. */
const PREALLOCATE_STEP = 1024 * 1024

export class SegmentFiles {
  private list: Segment[] = []
  private fd: number | null = null

  constructor(private readonly options: SegmentOptions) {}

  get segments(): readonly Segment[] {
    return this.list
  }

  /**
   * Finds the segments and reads the last one, giving its intact events to `onEvent`; whatever follows
   * the intact prefix (a torn line, or lines of a batch never acknowledged whose pages landed out of
   * order) is zeroed, so no later write can line up with a stale line. Returns the last intact
   * sequence, or the one before the last segment's first when it holds none (null: no segment).
   */
  async open(onEvent: (event: CloudEvent) => void): Promise<number | null> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o750 })
    const firsts = (await readdir(this.options.dir))
      .map((n) => segmentFirstSeq(n))
      .filter((n): n is number => n !== null)
      .sort((a, b) => a - b)
    for (const first of firsts) {
      const path = segmentPath(this.options.dir, first)
      const info = await stat(path)
      this.list.push({ first, path, bytes: info.size, size: info.size, lastWriteAt: info.mtimeMs })
    }
    const last = this.list.at(-1)
    let lastSeq: number | null = null
    if (last) {
      const scan = await scanSegment(last.path, onEvent)
      this.fd = openSync(last.path, 'r+')
      if (scan.validBytes < last.size) {
        await zeroFill(this.fd, scan.validBytes, last.size)
        await fsyncFd(this.fd)
      }
      last.bytes = scan.validBytes
      lastSeq = scan.lastSeq ?? last.first - 1
    }
    await this.trim()
    return lastSeq
  }

  /**
   * Writes `data` where the data ends (beginning a new segment named `firstSeq` when this one is full,
   * once `before` has settled, as the syncs on the old descriptor must end before it is closed), and
   * returns the descriptor to sync. A failed write is zeroed, so the next does not land behind it.
   */
  async place(data: Buffer, firstSeq: number, before: Promise<void>): Promise<number> {
    let segment = this.list.at(-1)
    if (!segment || this.fd === null || (segment.bytes > 0 && segment.bytes + data.length > this.options.segmentBytes)) {
      await before
      segment = await this.rotate(firstSeq)
    }
    if (segment.bytes + data.length > segment.size) await this.grow(segment, segment.bytes + data.length)
    const fd = this.fd!
    const at = segment.bytes
    try {
      // A batch of a few events is a page-cache copy of microseconds: inline, not a thread-pool round
      // trip (as the store writes small bodies and metadata); a large one goes to the pool.
      if (data.length <= INLINE_WRITE_BYTES) writeAllSync(fd, data, at)
      else await writeAt(fd, data, at)
    } catch (err) {
      await zeroFill(fd, at, at + data.length).catch(() => undefined)
      throw err
    }
    segment.bytes += data.length
    segment.size = Math.max(segment.size, segment.bytes)
    segment.lastWriteAt = this.options.now()
    return fd
  }

  /** Deletes whole segments, oldest first, never the one being written. */
  async trim(): Promise<void> {
    const cutoff = this.options.now() - this.options.maxAgeMs
    let total = this.list.reduce((n, s) => n + s.size, 0)
    while (this.list.length > 1) {
      const oldest = this.list[0]!
      if (total <= this.options.maxBytes && oldest.lastWriteAt >= cutoff) break
      this.list.shift()
      total -= oldest.size
      await unlink(oldest.path).catch(() => undefined)
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }

  /** Begins a new, empty segment; its directory entry is made durable. */
  private async rotate(firstSeq: number): Promise<Segment> {
    this.close()
    const path = segmentPath(this.options.dir, firstSeq)
    this.fd = openSync(path, 'w+', 0o640)
    const segment = { first: firstSeq, path, bytes: 0, size: 0, lastWriteAt: this.options.now() }
    this.list.push(segment)
    await fsyncPath(this.options.dir)
    await this.trim()
    return segment
  }

  /** Zero-fills ahead of the data, a step at a time (up to the rotation size), synced once per step. */
  private async grow(segment: Segment, needed: number): Promise<void> {
    const ahead = Math.max(needed, Math.min(segment.size + PREALLOCATE_STEP, this.options.segmentBytes))
    try {
      await zeroFill(this.fd!, segment.size, ahead)
    } catch (err) {
      // A nearly full disk: give back what the zero-fill took, and write just the batch if it fits.
      ftruncateSync(this.fd!, segment.size)
      if (ahead === needed || !['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err
      await zeroFill(this.fd!, segment.size, needed)
      segment.size = needed
      return
    }
    await fsyncFd(this.fd!)
    segment.size = ahead
  }
}
