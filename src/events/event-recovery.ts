// After a crash, the changes that reached the tree just before it may lack their event: the event's
// append runs beside the commit's directory fsync, and kill -9 can land between the two. Their requests
// were never answered, but the changes are there, and a consumer of the feed would never hear of them.
// At start the tail of the log is compared with the tree and the missing events are appended: at least
// once, as the feed promises (a change whose event did land is not repeated, bar the odd duplicate at
// the tail's edge, which consumers already handle).
import type { StagingEventSink } from '../staging/event-sink.js'
import type { ItemIndex } from '../staging/item-index.js'
import type { ItemRecord } from '../staging/record.js'
import { EVENT_TYPES, type CloudEvent } from './cloud-event.js'
import type { EventLog } from './event-log.js'

/** How far back from the last durable event a change may still lack its own. */
const WINDOW_MS = 60_000
/** How many of the newest events are compared with the tree. */
const TAIL = 2048

export interface RecoveredEvents {
  staged: number
  status_changed: number
  removed: number
}

export async function recoverMissingEvents(log: EventLog, index: ItemIndex, sink: StagingEventSink): Promise<RecoveredEvents> {
  const recovered: RecoveredEvents = { staged: 0, status_changed: 0, removed: 0 }
  const tail = await log.read(Math.max(0, log.head - TAIL), TAIL)
  const first = tail[0]
  const last = tail.at(-1)
  // An empty log (new, or events turned on for an existing tree) has nothing to be behind of.
  if (!first || !last) return recovered
  // Changes at or after the cutoff have their events in the tail if those are durable. ISO times in
  // UTC compare as strings.
  const windowStart = new Date(Date.parse(last.time) - WINDOW_MS).toISOString()
  const cutoff = first.time > windowStart ? first.time : windowStart
  const latest = new Map<string, CloudEvent>()
  for (const event of tail) if (event.subject && event.type !== EVENT_TYPES.swept) latest.set(event.subject, event)

  // Indexed fields first: only the records changed since the cutoff are made whole.
  const changed = index
    .allEntries()
    .filter((r) => r.updated_at >= cutoff)
    .map((r) => index.get(r.source, r.document_id) as ItemRecord)
    .sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0))
  for (const record of changed) {
    const event = latest.get(`${record.source}/${record.document_id}`)
    const seen = event && event.type !== EVENT_TYPES.removed ? (event.data as Partial<ItemRecord>) : null
    if (seen && seen.updated_at === record.updated_at && seen.status === record.status && seen.sha256 === record.sha256) continue
    if (seen && seen.sha256 === record.sha256 && seen.created_at === record.created_at && seen.status !== record.status) {
      await sink.statusChanged(record, seen.status as ItemRecord['status'])
      recovered.status_changed++
    } else {
      await sink.staged(record, Boolean(seen))
      recovered.staged++
    }
  }
  // An item the tail says is there, changed within the window, that the tree does not have: its removal
  // (or, when the crash undid its commit, its never-answered staging) is told as a removal.
  for (const event of latest.values()) {
    if (event.type === EVENT_TYPES.removed || event.time < cutoff) continue
    const record = event.data as unknown as ItemRecord
    if (index.get(record.source, record.document_id)) continue
    await sink.removed(record, record.status === 'success' ? 'success' : 'deleted')
    recovered.removed++
  }
  return recovered
}
