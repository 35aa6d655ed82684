// The event feed as the route and the pusher read it; the local engine's EventLog implements it.
import type { CloudEvent } from './cloud-event.js'

export interface EventFeed {
  /** The last durable sequence (0 when none). */
  readonly head: number
  /** The oldest retained sequence; an `after` below `oldest - 1` has lost events to trimming. */
  readonly oldest: number
  /** Brings head and oldest up to date (another replica may have written); a no-op for the local log. */
  refresh(): Promise<void>
  read(after: number, limit: number): Promise<CloudEvent[]>
  /** Resolves once an event after `after` is durable, after `ms`, on abort, or on shutdown. */
  waitFor(after: number, ms: number, signal?: AbortSignal): Promise<void>
  /** Ends every long-poll now and from now on (the app is closing). */
  interrupt(): void
}
