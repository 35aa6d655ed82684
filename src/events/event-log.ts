// The local engine's event log: append-only segment files in {base}/.events. Appends made in the same
// tick share one write and one fdatasync (group commit, as DirSyncBatcher does for renames), and an
// append resolves only once its event is durable; readers and waiters see durable events only.
// Segments are zero-filled ahead of their data (1 MiB at a time) and written in place, so an fdatasync
// flushes data only and adds no journal commit (size and extents are unchanged) to the item writes'.
import { randomUUID } from 'node:crypto'
import { closeSync, ftruncateSync, openSync } from 'node:fs'
import { mkdir, readdir, stat, unlink } from 'node:fs/promises'
import { fsyncFd, fsyncPath } from '../staging/durable-fs.js'
import { sequenceOf, toCloudEvent, type CloudEvent, type EventDraft } from './cloud-event.js'
import { encodeLine, scanSegment, segmentFirstSeq, segmentPath } from './segment-file.js'
import { datasync, writeAt, zeroFill } from './segment-io.js'
import { RecentEvents } from './recent-events.js'
import { LogWaiters } from './log-waiters.js'

export interface EventLogOptions {
  dir: string
  /** A segment is closed and a new one begun once it holds this many bytes. */
  segmentBytes: number
  /** Whole old segments are deleted while the log is over this size or they are older than maxAgeMs. */
  maxBytes: number
  maxAgeMs: number
  /** Wall clock for segment ages (file mtimes are wall-clock time too). */
  now?: () => number
}

interface Segment {
  first: number
  path: string
  /** Where the data ends (the next line goes here). */
  bytes: number
  /** The file's size, preallocated. */
  size: number
  lastWriteAt: number
}

interface Pending {
  event: CloudEvent
  line: string
  resolve: (event: CloudEvent) => void
  reject: (err: unknown) => void
}

const TRIM_EVERY_MS = 10_000
/** Batches written and syncing at once. */
const MAX_IN_FLIGHT = 2
/** How far ahead of the data a segment is zero-filled: one metadata sync per step, not per append. */
const PREALLOCATE_STEP = 1024 * 1024

export class EventLog {
  private segments: Segment[] = []
  private fd: number | null = null
  private nextSeq = 1
  private durable = 0
  private pending: Pending[] = []
  private scheduled = false
  /** Batches written or syncing and not yet answered. */
  private inFlight = 0
  /** Placements (rotate, grow, write) happen one at a time, in sequence order. */
  private placing: Promise<void> = Promise.resolve()
  /** Answers happen in sequence order: each batch waits for the one before it. */
  private completing: Promise<void> = Promise.resolve()
  /** An fdatasync failed: what is on disk is unknown, so the log takes no more appends. */
  private broken: unknown = null
  private lastTrimAt = 0
  private readonly recent = new RecentEvents(2048)
  private readonly waiters = new LogWaiters()
  private readonly now: () => number

  constructor(private readonly options: EventLogOptions) {
    this.now = options.now ?? Date.now
  }

  /** The last durable sequence (0 for an empty log). */
  get head(): number {
    return this.durable
  }

  /** The oldest sequence still retained; `after` below oldest - 1 has lost events to trimming. */
  get oldest(): number {
    return this.segments[0]?.first ?? this.nextSeq
  }

  /** Finds the segments, zeroes a torn tail of the last one, and continues its numbering. */
  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o750 })
    const names = await readdir(this.options.dir)
    const firsts = names.map((n) => segmentFirstSeq(n)).filter((n): n is number => n !== null).sort((a, b) => a - b)
    for (const first of firsts) {
      const path = segmentPath(this.options.dir, first)
      const info = await stat(path)
      this.segments.push({ first, path, bytes: info.size, size: info.size, lastWriteAt: info.mtimeMs })
    }
    const last = this.segments.at(-1)
    if (last) {
      const scan = await scanSegment(last.path, (e) => this.recent.push(e))
      this.fd = openSync(last.path, 'r+')
      // Whatever follows the intact prefix (a torn line, or lines of a batch never acknowledged whose
      // pages landed out of order) is zeroed, so no later write can line up with a stale line.
      if (scan.validBytes < last.size) {
        await zeroFill(this.fd, scan.validBytes, last.size)
        await fsyncFd(this.fd)
      }
      last.bytes = scan.validBytes
      this.durable = scan.lastSeq ?? last.first - 1
      this.nextSeq = this.durable + 1
    }
    await this.trim()
  }

  /** Appends one event; resolves with it (id and sequence assigned) once it is on disk. */
  append(draft: EventDraft): Promise<CloudEvent> {
    const event = toCloudEvent(draft, this.nextSeq++, randomUUID())
    return new Promise<CloudEvent>((resolve, reject) => {
      this.pending.push({ event, line: encodeLine(event), resolve, reject })
      this.schedule()
    })
  }

  /** The log is this process's own: always current. */
  async refresh(): Promise<void> {}

  /** Durable events after `after`, in order, at most `limit`. */
  async read(after: number, limit: number): Promise<CloudEvent[]> {
    const upTo = this.durable
    if (after >= upTo) return []
    const fromMemory = this.recent.after(after, limit)
    if (fromMemory) return fromMemory
    const out: CloudEvent[] = []
    const start = Math.max(0, this.segments.findLastIndex((s) => s.first <= after + 1))
    for (const segment of this.segments.slice(start)) {
      await scanSegment(segment.path, (e) => {
        const seq = sequenceOf(e)
        if (seq > upTo) return false
        if (seq > after) out.push(e)
        return out.length < limit
      }).catch((err: NodeJS.ErrnoException) => {
        // Trimmed while we read: the caller sees what was read and asks again.
        if (err.code !== 'ENOENT') throw err
      })
      if (out.length >= limit) break
    }
    return out
  }

  /** Resolves when an event after `after` is durable, after `ms`, when `signal` aborts or the log is interrupted. */
  waitFor(after: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.durable > after || ms <= 0) return Promise.resolve()
    return this.waiters.wait(() => this.durable > after, ms, signal)
  }

  /** Wakes every waiter now and from now on (the app is closing). */
  interrupt(): void {
    this.waiters.interrupt()
  }

  /** Waits for appends in flight, then closes the active segment. */
  async close(): Promise<void> {
    this.interrupt()
    while (this.inFlight > 0 || this.scheduled || this.pending.length > 0) {
      await (this.inFlight > 0 ? this.completing : new Promise((r) => setImmediate(r)))
    }
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.pending.length === 0) return
    this.scheduled = true
    setImmediate(() => this.startFlush())
  }

  /**
   * One batch: one write and one fdatasync. Up to MAX_IN_FLIGHT batches overlap (the next is written
   * while the one before syncs), so a batch rarely waits out a whole sync it was too late for; they
   * are placed one at a time and answered in order.
   */
  private startFlush(): void {
    this.scheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    this.inFlight++
    const data = Buffer.from(batch.map((p) => p.line).join(''))
    const before = this.completing
    const placed = this.placing.then(() => this.place(data, sequenceOf(batch[0]!.event), before))
    this.placing = placed.then(
      () => undefined,
      () => undefined
    )
    const synced = placed.then(
      (fd) =>
        datasync(fd).then(
          () => null,
          (err: unknown) => {
            this.broken ??= err ?? new Error('fdatasync failed')
            return this.broken
          }
        ),
      (err: unknown) => err ?? new Error('the event log write failed')
    )
    this.completing = synced.then(async (failure) => {
      await before
      this.complete(batch, failure)
    })
    this.completing.finally(() => {
      this.inFlight--
      this.schedule()
    })
  }

  /** Writes the batch where the data ends (rotating or growing the segment first); returns the descriptor to sync. */
  private async place(data: Buffer, firstSeq: number, before: Promise<void>): Promise<number> {
    if (this.broken) throw this.broken
    let segment = this.segments.at(-1)
    if (!segment || this.fd === null || (segment.bytes > 0 && segment.bytes + data.length > this.options.segmentBytes)) {
      // The old segment's descriptor is closed only once the syncs on it are done.
      await before
      segment = await this.rotate(firstSeq)
    }
    if (segment.bytes + data.length > segment.size) await this.grow(segment, segment.bytes + data.length)
    const fd = this.fd!
    const at = segment.bytes
    try {
      await writeAt(fd, data, at)
    } catch (err) {
      // Zero the partial write, so the next batch does not land behind a torn line.
      await zeroFill(fd, at, at + data.length).catch(() => undefined)
      throw err
    }
    segment.bytes += data.length
    segment.size = Math.max(segment.size, segment.bytes)
    segment.lastWriteAt = this.now()
    return fd
  }

  private complete(batch: Pending[], failure: unknown): void {
    // A batch after a failed sync is refused too: its lines may sit behind a torn one.
    const err = failure ?? this.broken
    if (err) {
      for (const p of batch) p.reject(err)
      return
    }
    for (const p of batch) this.recent.push(p.event)
    this.durable = sequenceOf(batch.at(-1)!.event)
    for (const p of batch) p.resolve(p.event)
    this.waiters.check()
    if (this.now() - this.lastTrimAt >= TRIM_EVERY_MS) this.trim().catch(() => undefined)
  }

  /** Begins a new, empty segment named after its first sequence; its directory entry is made durable. */
  private async rotate(firstSeq: number): Promise<Segment> {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
    const path = segmentPath(this.options.dir, firstSeq)
    this.fd = openSync(path, 'w+', 0o640)
    const segment = { first: firstSeq, path, bytes: 0, size: 0, lastWriteAt: this.now() }
    this.segments.push(segment)
    await fsyncPath(this.options.dir)
    await this.trim()
    return segment
  }

  /**
   * Zero-fills the segment ahead of its data, a step at a time (up to its rotation size), and syncs
   * that once: the many fdatasyncs of the appends that follow then change no file metadata.
   */
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

  /** Deletes whole segments, oldest first, never the one being written. */
  private async trim(): Promise<void> {
    this.lastTrimAt = this.now()
    const cutoff = this.now() - this.options.maxAgeMs
    let total = this.segments.reduce((n, s) => n + s.size, 0)
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!
      if (total <= this.options.maxBytes && oldest.lastWriteAt >= cutoff) break
      this.segments.shift()
      total -= oldest.size
      this.recent.dropBefore(this.oldest)
      await unlink(oldest.path).catch(() => undefined)
    }
  }
}
