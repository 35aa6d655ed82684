// Turns the store's and the sweep's changes into CloudEvents on the log (the StagingEventSink).
import { iso, type Clock } from '../staging/clock.js'
import type { RemovedItem, StagingEventSink } from '../staging/event-sink.js'
import type { ItemRecord } from '../staging/record.js'
import type { RemovalReason } from '../staging/store.js'
import type { SweepResult } from '../staging/sweep.js'
import type { EventLog } from './event-log.js'

const subjectOf = (item: { source: string; document_id: string }) => `${item.source}/${item.document_id}`

export class EventRecorder implements StagingEventSink {
  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock
  ) {}

  async staged(record: ItemRecord, _replaced: boolean, visibleAfter?: Promise<unknown>): Promise<void> {
    await this.log.append({ kind: 'staged', time: record.updated_at, subject: subjectOf(record), data: record }, visibleAfter)
  }

  async statusChanged(record: ItemRecord, _previous: ItemRecord['status'], reason?: 'abandoned'): Promise<void> {
    await this.log.append({ kind: 'status_changed', time: record.updated_at, subject: subjectOf(record), reason, data: record })
  }

  async removed(item: RemovedItem, reason: RemovalReason): Promise<void> {
    await this.log.append({ kind: 'removed', time: iso(this.clock.now()), subject: subjectOf(item), reason, data: { ...item } })
  }

  async swept(result: SweepResult): Promise<void> {
    await this.log.append({ kind: 'swept', time: iso(this.clock.now()), data: { ...result } })
  }
}
