// Push delivery when several replicas share one feed: only the replica that holds the fleet's push
// lock runs an EventPusher (on the fleet's cursor); the others stand by, try for the lock every few
// seconds, and report the fleet's position. A deliverer that loses its lock stops; whoever takes the
// lock next starts from the cursor, so an event may arrive twice (same webhook-id), never be skipped.
import { setTimeout as sleep } from 'node:timers/promises'
import type { EventFeed } from './event-feed.js'
import type { DeliveryObserver, EventPusher } from './event-pusher.js'
import type { PushCursor } from './push-cursor.js'

/** The lock, while this replica holds it. */
export interface Leadership {
  /** The fleet's cursor, written only by the holder. */
  cursor: PushCursor
  /** Aborted when the lock may have been lost (its connection failed): stop delivering. */
  lost: AbortSignal
  release(): Promise<void>
}

/** The fleet's push lock as one replica sees it. */
export interface FleetLock {
  /** One try for the lock; null while another replica holds it. */
  tryLead(): Promise<Leadership | null>
  /** The fleet's cursor as read by a standby. */
  readCursor(): Promise<number>
  /** Gives up whatever this replica holds (its standby connection too). */
  close(): Promise<void>
}

export interface FleetPusherOptions {
  feed: EventFeed
  lock: FleetLock
  /** The delivery loop, on the holder's cursor. */
  createPusher(cursor: PushCursor): EventPusher
  /** Pause between tries for the lock (and between reads of the cursor on a standby). */
  retryMs: number
  log: { info(fields: object, msg: string): void; warn(fields: object, msg: string): void }
}

export class FleetPusher {
  private pusher: EventPusher | null = null
  /** The fleet's position as last seen while standing by (or when the lock was given up). */
  private seen = 0
  private observer: DeliveryObserver = { delivered: () => undefined, deliveryFailed: () => undefined }
  private readonly stopping = new AbortController()
  private running: Promise<void> | null = null

  constructor(private readonly options: FleetPusherOptions) {}

  /** True while another replica delivers (or none yet: the lock is being tried for). */
  get standby(): boolean {
    return this.pusher === null
  }

  /** The last sequence the receiver acknowledged, as far as this replica knows. */
  get delivered(): number {
    return this.pusher?.delivered ?? this.seen
  }

  get pending(): number {
    return Math.max(0, this.options.feed.head - this.delivered)
  }

  observe(observer: DeliveryObserver): void {
    this.observer = observer
    this.pusher?.observe(observer)
  }

  /** Returns at once: the lock is tried for in the background. */
  async start(): Promise<void> {
    this.running = this.run()
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
    this.running = null
    await this.options.lock.close()
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal
    while (!signal.aborted) {
      try {
        const lead = await this.options.lock.tryLead()
        if (lead) await this.deliverWhileLeading(lead)
        else this.seen = await this.options.lock.readCursor()
      } catch (err) {
        this.options.log.warn({ err: { message: (err as Error).message } }, 'event push: could not try for the push lock; retrying')
      }
      await sleep(this.options.retryMs, undefined, { signal }).catch(() => undefined)
    }
  }

  private async deliverWhileLeading(lead: Leadership): Promise<void> {
    if (this.stopping.signal.aborted) return lead.release()
    const pusher = this.options.createPusher(lead.cursor)
    pusher.observe(this.observer)
    try {
      await pusher.start()
      this.pusher = pusher
      this.options.log.info({ from_sequence: pusher.delivered + 1 }, 'event push: this replica holds the push lock and delivers')
      await untilAborted(lead.lost, this.stopping.signal)
      if (lead.lost.aborted && !this.stopping.signal.aborted) this.options.log.warn({ delivered: pusher.delivered }, 'event push: lost the push lock; standing by')
    } finally {
      this.seen = pusher.delivered
      this.pusher = null
      await pusher.stop()
      await lead.release()
    }
  }
}

function untilAborted(...signals: AbortSignal[]): Promise<void> {
  if (signals.some((s) => s.aborted)) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      for (const s of signals) s.removeEventListener('abort', done)
      resolve()
    }
    for (const s of signals) s.addEventListener('abort', done)
  })
}
