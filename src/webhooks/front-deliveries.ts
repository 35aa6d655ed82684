// Stages verified Front webhook events as structured items, once per event id: a repeat delivery
// (Front's retries, or a replayed rule webhook, which has no timestamp) stages nothing new.
import { createHash } from 'node:crypto'
import { isAppError } from '../errors.js'
import { ID_PATTERN } from '../staging/record.js'
import type { StagingEngine } from '../staging/engine.js'
import type { StagingObserver } from '../staging/observer.js'
import { stageJson } from '../structured/structured-stager.js'

export type DeliveryStatus = 'staged' | 'duplicate'

export interface DeliveryResult {
  data_id: string
  status: DeliveryStatus
}

/** Ids remembered after their item may have been cleaned up; oldest forgotten first. */
const RECENT_IDS = 10_000

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The event's id: a rule webhook's top-level `id` (`evt_…`), or an application envelope's
 * `payload.id`. Anything that is not a valid identifier falls back to the sha256 of the raw body,
 * so an identical body still de-duplicates.
 */
export function deliveryId(event: unknown, raw: Buffer): string {
  const candidates = isObject(event) ? [event.id, isObject(event.payload) ? event.payload.id : undefined] : []
  for (const c of candidates) {
    if (typeof c === 'string' && ID_PATTERN.test(c)) return c
  }
  return createHash('sha256').update(raw).digest('hex')
}

export class FrontDeliveries {
  private readonly recent = new Map<string, true>()
  private readonly inFlight = new Map<string, Promise<DeliveryStatus>>()

  constructor(
    private readonly engine: StagingEngine,
    /** Told of every staged event (structured_data_fetched_total{source="frontapp"}); duplicates are not counted. */
    private readonly observer: StagingObserver
  ) {}

  /** Stages the raw event body as frontapp/{id}/data.json unless this id was seen already. */
  async deliver(id: string, raw: Buffer): Promise<DeliveryResult> {
    if (await this.seen(id)) return { data_id: id, status: 'duplicate' }
    // Two identical deliveries at once: the second waits for the first rather than racing it; if
    // the first failed, the second gets its own try (Front would retry anyway).
    const pending = this.inFlight.get(id)
    if (pending) {
      const firstWorked = await pending.then(() => true, () => false)
      if (firstWorked || (await this.seen(id))) return { data_id: id, status: 'duplicate' }
    }
    const attempt = this.stage(id, raw)
    this.inFlight.set(id, attempt)
    try {
      return { data_id: id, status: await attempt }
    } finally {
      if (this.inFlight.get(id) === attempt) this.inFlight.delete(id)
    }
  }

  private async seen(id: string): Promise<boolean> {
    return this.recent.has(id) || (await this.engine.get('frontapp', id)) !== undefined
  }

  private async stage(id: string, raw: Buffer): Promise<DeliveryStatus> {
    try {
      const { created } = await stageJson(this.engine, { source: 'frontapp', id, bytes: raw, sourceLocation: null, overwrite: false })
      this.remember(id)
      if (!created) return 'duplicate'
      this.observer.structuredFetched('frontapp')
      return 'staged'
    } catch (err) {
      // Same id, other bytes: the event is already staged; a webhook must never overwrite it.
      if (isAppError(err, 'Conflict')) {
        this.remember(id)
        return 'duplicate'
      }
      throw err
    }
  }

  private remember(id: string): void {
    this.recent.delete(id)
    this.recent.set(id, true)
    if (this.recent.size > RECENT_IDS) {
      const oldest = this.recent.keys().next().value
      if (oldest !== undefined) this.recent.delete(oldest)
    }
  }
}
