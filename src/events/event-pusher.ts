// Push delivery: every event POSTed to STAGING_EVENTS_URL in sequence order, one at a time, signed,
// through the project's upstream client (SSRF guard, timeouts). At least once: the cursor advances
// only past events the receiver answered 2xx and is kept durably (written behind the deliveries, one
// atomic write at a time); a failure is retried from the first event not acknowledged, after
// exponential backoff with jitter.
import { finished } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RequestGuard, UpstreamClient } from '../upstream/http-client.js'
import { backoffDelay, type BackoffOptions } from '../upstream/retry-policy.js'
import { sequenceOf, type CloudEvent } from './cloud-event.js'
import type { EventFeed } from './event-feed.js'
import type { PushCursor } from './push-cursor.js'
import type { WebhookSigner } from './webhook-signer.js'

/** What the metrics learn of deliveries. */
export interface DeliveryObserver {
  delivered(): void
  deliveryFailed(): void
}

export interface EventPusherOptions {
  feed: EventFeed
  url: string
  signer: WebhookSigner
  cursor: PushCursor
  upstream: UpstreamClient
  guard: RequestGuard
  observer?: DeliveryObserver
  log: { warn(fields: object, msg: string): void; error(fields: object, msg: string): void }
  /** Backoff between failed rounds; tests shrink it. */
  backoff?: Partial<Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'random'>>
  /** Events read per round (default 16). */
  batch?: number
}

const IDLE_WAIT_MS = 30_000

export class EventPusher {
  /** The last sequence the receiver acknowledged. */
  delivered = 0
  private readonly stopping = new AbortController()
  private running: Promise<void> | null = null
  /** The value in the cursor file, and the write of a newer one in progress. */
  private persisted = 0
  private persisting: Promise<void> | null = null
  private readonly backoff: Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'random'>
  private observer: DeliveryObserver

  constructor(private readonly options: EventPusherOptions) {
    this.backoff = { baseMs: 1000, maxMs: 60_000, random: Math.random, ...options.backoff }
    this.observer = options.observer ?? { delivered: () => undefined, deliveryFailed: () => undefined }
  }

  /** Where delivery counts go (the metrics exist only once the pusher does). */
  observe(observer: DeliveryObserver): void {
    this.observer = observer
  }

  /** Events durable but not yet acknowledged by the receiver. */
  get pending(): number {
    return Math.max(0, this.options.feed.head - this.delivered)
  }

  async start(): Promise<void> {
    this.delivered = await this.options.cursor.read()
    this.persisted = this.delivered
    this.running = this.run()
  }

  /** Ends the loop (a delivery in flight is cancelled; it is sent again after the next start). */
  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
    this.running = null
    await this.persisting
    this.persist()
    await this.persisting
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal
    let failures = 0
    while (!signal.aborted) {
      try {
        const progressed = await this.round(signal)
        failures = 0
        if (!progressed) await this.options.feed.waitFor(this.delivered, IDLE_WAIT_MS, signal)
      } catch (err) {
        if (signal.aborted) break
        this.observer.deliveryFailed()
        this.options.log.warn({ err: errorSummary(err), sequence: this.delivered + 1, attempt: failures + 1 }, 'event push failed; retrying after backoff')
        await sleep(backoffDelay(failures++, this.backoff), undefined, { signal }).catch(() => undefined)
      }
    }
  }

  /** Delivers the next batch in order; whatever was acknowledged is kept even when a later one fails. */
  private async round(signal: AbortSignal): Promise<boolean> {
    const { feed } = this.options
    if (this.delivered < feed.oldest - 1) {
      // Trimmed before delivery (a receiver down longer than the retention): say so, and go on.
      this.options.log.error({ lost_after: this.delivered, resumed_at: feed.oldest }, 'events were trimmed before they could be pushed')
      this.delivered = feed.oldest - 1
    }
    const events = await feed.read(this.delivered, this.options.batch ?? 16)
    if (events.length === 0) return false
    for (const event of events) {
      await this.deliver(event, signal)
      this.delivered = sequenceOf(event)
      this.observer.delivered()
      this.persist()
    }
    return true
  }

  /**
   * Keeps the cursor file following `delivered` without holding deliveries up: one atomic write at a
   * time, each with the newest value, so after a crash at most the events acknowledged during the
   * last write are sent again.
   */
  private persist(): void {
    if (this.persisting) return
    this.persisting = (async () => {
      while (this.persisted < this.delivered) {
        const value = this.delivered
        try {
          await this.options.cursor.write(value)
          this.persisted = value
        } catch (err) {
          this.options.log.error({ err: errorSummary(err) }, 'could not save the event push cursor; events may be pushed again after a restart')
          break
        }
      }
      this.persisting = null
    })()
  }

  private async deliver(event: CloudEvent, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(event)
    const res = await this.options.upstream.request({
      url: this.options.url,
      upstream: 'events',
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', ...this.options.signer.headers(event.id, body, new Date()) },
      body,
      guard: this.options.guard,
      signal,
      maxBytes: 64 * 1024
    })
    // The receiver's answer is not needed, only drained so the connection can be reused.
    await finished(res.body.resume())
  }
}

function errorSummary(err: unknown): { code?: string; message: string } {
  const e = err as { code?: string; message?: string }
  return { code: e.code, message: e.message ?? String(err) }
}
