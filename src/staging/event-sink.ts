// What the store and the sweep tell the event feed about each change. Awaited under the item's lock
// and before the change is answered, so an acknowledged change has a durable event, in item order.
import type { ItemRecord, Source } from './record.js'
import type { RemovalReason } from './store.js'
import type { SweepResult } from './sweep.js'

/** An orphan has no record: only where it was. */
export type RemovedItem = ItemRecord | { source: Source; document_id: string }

export interface StagingEventSink {
  /**
   * A new item, or one replaced by an overwrite. Resolves once the event is durable; readers of the
   * feed see it only once `visibleAfter` settles as well (the store settles it after the item is in
   * its index), so a consumer that reads the event can GET the item.
   */
  staged(record: ItemRecord, replaced: boolean, visibleAfter?: Promise<unknown>): Promise<void>
  /** A real status change (a same-status heartbeat is not one); `reason` is set by the sweep. */
  statusChanged(record: ItemRecord, previous: ItemRecord['status'], reason?: 'abandoned'): Promise<void>
  removed(item: RemovedItem, reason: RemovalReason): Promise<void>
  /** One per finished sweep (dry runs excluded). */
  swept(result: SweepResult): Promise<void>
}

export const noEvents: StagingEventSink = {
  staged: async () => undefined,
  statusChanged: async () => undefined,
  removed: async () => undefined,
  swept: async () => undefined
}
