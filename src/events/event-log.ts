// The local engine's event log: append-only segment files in {base}/.events. Appends made in the same
// tick share one write and one fdatasync (group commit, as DirSyncBatcher does for renames), and an
// append resolves only once its event is durable. Readers and waiters see published events only:
// durable, and, for an append made with `visibleAfter`, with that change visible too (a commit's
// event is durable before the item is in the index; a consumer must not read `staged` and get 404).
// The files themselves (segments, preallocation, rotation, trimming) are SegmentFiles'.
import { randomUUID } from 'node:crypto'
import { sequenceOf, toCloudEvent, type CloudEvent, type EventDraft } from './cloud-event.js'
import { encodeLine, scanSegment } from './segment-file.js'
import { SegmentFiles, type SegmentOptions } from './segment-files.js'
import { datasync } from './segment-io.js'
import { RecentEvents } from './recent-events.js'
import { LogWaiters } from './log-waiters.js'

export type EventLogOptions = Omit<SegmentOptions, 'now'> & { now?: () => number }

interface Pending {
  event: CloudEvent
  line: string
  resolve: (event: CloudEvent) => void
  reject: (err: unknown) => void
}

const TRIM_EVERY_MS = 10_000
/** Batches written and syncing at once. */
const MAX_IN_FLIGHT = 2

export class EventLog {
  private readonly files: SegmentFiles
  private nextSeq = 1
  private durable = 0
  /** What readers see: durable, and no held event at or below it. */
  private published = 0
  /** Appended with `visibleAfter` and not yet released: readers stop below the lowest. */
  private readonly held = new Set<number>()
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

  constructor(options: EventLogOptions) {
    this.now = options.now ?? Date.now
    this.files = new SegmentFiles({ ...options, now: this.now })
  }

  /** The last published sequence (0 for an empty log). */
  get head(): number {
    return this.published
  }

  /** The oldest sequence still retained; `after` below oldest - 1 has lost events to trimming. */
  get oldest(): number {
    return this.files.segments[0]?.first ?? this.nextSeq
  }

  /** Opens the segments (a torn tail of the last is dropped) and continues the numbering after it. */
  async open(): Promise<void> {
    const lastSeq = await this.files.open((e) => this.recent.push(e))
    if (lastSeq !== null) {
      this.durable = lastSeq
      this.published = lastSeq
      this.nextSeq = lastSeq + 1
    }
    this.lastTrimAt = this.now()
  }

  /**
   * Appends one event; resolves with it (id and sequence assigned) once it is on disk. With
   * `visibleAfter`, readers see it (and every later event) only once that settles too, whichever way:
   * the caller settles it when the change itself is visible, or has failed.
   */
  append(draft: EventDraft, visibleAfter?: Promise<unknown>): Promise<CloudEvent> {
    const seq = this.nextSeq++
    const event = toCloudEvent(draft, seq, randomUUID())
    if (visibleAfter) {
      this.held.add(seq)
      const release = () => {
        this.held.delete(seq)
        this.publish()
      }
      visibleAfter.then(release, release)
    }
    return new Promise<CloudEvent>((resolve, reject) => {
      this.pending.push({ event, line: encodeLine(event), resolve, reject })
      this.schedule()
    })
  }

  /** The log is this process's own: always current. */
  async refresh(): Promise<void> {}

  /** Published events after `after`, in order, at most `limit`. */
  async read(after: number, limit: number): Promise<CloudEvent[]> {
    const upTo = this.published
    if (after >= upTo) return []
    const fromMemory = this.recent.after(after, limit)
    if (fromMemory) return fromMemory.filter((e) => sequenceOf(e) <= upTo)
    const out: CloudEvent[] = []
    const segments = this.files.segments
    const start = Math.max(0, segments.findLastIndex((s) => s.first <= after + 1))
    for (const segment of segments.slice(start)) {
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

  /** Resolves when an event after `after` is published, after `ms`, when `signal` aborts or the log is interrupted. */
  waitFor(after: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.published > after || ms <= 0) return Promise.resolve()
    return this.waiters.wait(() => this.published > after, ms, signal)
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
    this.files.close()
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
    const placed = this.placing.then(() => {
      if (this.broken) throw this.broken
      return this.files.place(data, sequenceOf(batch[0]!.event), before)
    })
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

  /** Moves the published mark up to the durable one, stopping below the lowest held event. */
  private publish(): void {
    let upTo = this.durable
    for (const seq of this.held) if (seq <= upTo) upTo = seq - 1
    if (upTo <= this.published) return
    this.published = upTo
    this.waiters.check()
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
    this.publish()
    if (this.now() - this.lastTrimAt >= TRIM_EVERY_MS) {
      this.lastTrimAt = this.now()
      this.files.trim().then(() => this.recent.dropBefore(this.oldest), () => undefined)
    }
  }
}
