// The shared engine's event feed: reads the outbox table. Every replica serves every event; a
// replica learns of events other replicas wrote by polling the counter row (a few times a second).
import type { Pool } from 'pg'
import type { CloudEvent } from '../../events/cloud-event.js'
import type { EventFeed } from '../../events/event-feed.js'
import { LogWaiters } from '../../events/log-waiters.js'

export interface OutboxFeedOptions {
  /** Events older than this are deleted (the shared engine trims by age only). */
  maxAgeMs: number
  pollMs?: number
}

const TRIM_EVERY_MS = 60_000

export class OutboxFeed implements EventFeed {
  head = 0
  oldest = 1
  private readonly waiters = new LogWaiters()
  private timer: NodeJS.Timeout | null = null
  private lastTrimAt = 0

  constructor(
    private readonly pool: Pool,
    private readonly options: OutboxFeedOptions
  ) {}

  async start(): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined)
      if (Date.now() - this.lastTrimAt >= TRIM_EVERY_MS) this.trim().catch(() => undefined)
    }, this.options.pollMs ?? 200)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.waiters.interrupt()
  }

  async refresh(): Promise<void> {
    const { rows } = await this.pool.query<{ head: string; oldest: string | null }>(
      'SELECT (SELECT last FROM staging_event_seq WHERE id = 1) AS head, (SELECT min(seq) FROM staging_events) AS oldest'
    )
    this.head = Number(rows[0]!.head)
    this.oldest = rows[0]!.oldest === null ? this.head + 1 : Number(rows[0]!.oldest)
    this.waiters.check()
  }

  async read(after: number, limit: number): Promise<CloudEvent[]> {
    const { rows } = await this.pool.query<{ event: CloudEvent }>('SELECT event FROM staging_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit])
    return rows.map((r) => r.event)
  }

  waitFor(after: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.head > after || ms <= 0) return Promise.resolve()
    return this.waiters.wait(() => this.head > after, ms, signal)
  }

  interrupt(): void {
    this.waiters.interrupt()
  }

  private async trim(): Promise<void> {
    this.lastTrimAt = Date.now()
    await this.pool.query(`DELETE FROM staging_events WHERE created_at < now() - make_interval(secs => $1)`, [this.options.maxAgeMs / 1000])
  }
}
