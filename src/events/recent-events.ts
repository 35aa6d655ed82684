// The newest events kept in memory, so long-polling consumers near the head never touch the disk.
import { sequenceOf, type CloudEvent } from './cloud-event.js'

export class RecentEvents {
  private events: CloudEvent[] = []

  constructor(private readonly capacity: number) {}

  push(event: CloudEvent): void {
    this.events.push(event)
    // Dropped in halves, so the copy is paid once per capacity/2 events, not per event.
    if (this.events.length > this.capacity) this.events = this.events.slice(this.events.length - this.capacity / 2)
  }

  /** Events after `after` when memory covers them (the one right after `after` is held or the span starts at it), else null. */
  after(after: number, limit: number): CloudEvent[] | null {
    const first = this.events[0]
    if (!first || sequenceOf(first) > after + 1) return null
    let i = this.events.length
    while (i > 0 && sequenceOf(this.events[i - 1]!) > after) i--
    return this.events.slice(i, i + limit)
  }

  dropBefore(seq: number): void {
    const i = this.events.findIndex((e) => sequenceOf(e) >= seq)
    this.events = i < 0 ? [] : this.events.slice(i)
  }
}
