// The event feed's series: the head sequence, and for push the acknowledged sequence, what is pending,
// and delivery counters. Gauges are read at scrape time; without push, pending stays 0.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { DeliveryObserver } from '../events/event-pusher.js'

export interface EventState {
  /** The last durable sequence (0 without a feed). */
  head(): number
  /** The last sequence the push receiver acknowledged (0 without push). */
  delivered(): number
  /** Durable events not yet acknowledged (0 without push). */
  pending(): number
  /** A shared-engine replica that stands by while another holds the push lock. */
  standby(): boolean
}

export class EventMetrics implements DeliveryObserver {
  private readonly deliveredTotal: Counter
  private readonly failures: Counter

  constructor(registry: Registry, state: EventState) {
    const registers = [registry]
    this.deliveredTotal = new Counter({ name: 'staging_events_delivered_total', help: 'Events the push receiver acknowledged (2xx); a redelivery after a crash counts again', registers })
    this.failures = new Counter({ name: 'staging_event_delivery_failures_total', help: 'Failed push rounds (after the upstream client\'s own retries); each is retried after backoff', registers })
    new Gauge({ name: 'staging_events_pending', help: 'Events durable in the feed but not yet acknowledged by the push receiver (0 without STAGING_EVENTS_URL)', registers, collect() { this.set(state.pending()) } })
    new Gauge({ name: 'staging_events_last_sequence', help: 'Sequence of the newest durable event', registers, collect() { this.set(state.head()) } })
    new Gauge({
      name: 'staging_events_push_standby',
      help: '1 on a shared-engine replica standing by while another replica holds the push lock and delivers (it reports the fleet\'s pending and position, no deliveries); 0 otherwise',
      registers,
      collect() {
        this.set(state.standby() ? 1 : 0)
      }
    })
    new Gauge({ name: 'staging_events_delivered_sequence', help: 'Sequence of the last event the push receiver acknowledged', registers, collect() { this.set(state.delivered()) } })
  }

  delivered(): void {
    this.deliveredTotal.inc()
  }

  deliveryFailed(): void {
    this.failures.inc()
  }
}
