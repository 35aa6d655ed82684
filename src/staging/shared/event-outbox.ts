// The shared engine's transactional outbox: each mutation's CloudEvent is inserted in the transaction
// that makes the change, so an event exists if and only if its change committed. Sequences come from
// one counter row updated in the same transaction; its lock orders the commits by sequence.
import { randomUUID } from 'node:crypto'
import type { PoolClient } from 'pg'
import { toCloudEvent, type EventDraft } from '../../events/cloud-event.js'
import { iso, type Clock } from '../clock.js'
import type { Mutation, MutationLog } from './mutation-log.js'

const subjectOf = (item: { source: string; document_id: string }) => `${item.source}/${item.document_id}`

export class EventOutbox implements MutationLog {
  constructor(private readonly clock: Clock) {}

  async append(tx: PoolClient, mutations: Mutation[]): Promise<void> {
    const drafts = mutations.map((m) => this.draftOf(m)).filter((d): d is EventDraft => d !== null)
    if (drafts.length === 0) return
    const { rows } = await tx.query<{ last: string }>('UPDATE staging_event_seq SET last = last + $1 WHERE id = 1 RETURNING last', [drafts.length])
    const first = Number(rows[0]!.last) - drafts.length + 1
    const events = drafts.map((d, i) => toCloudEvent(d, first + i, randomUUID()))
    await tx.query('INSERT INTO staging_events (seq, event) SELECT * FROM unnest($1::bigint[], $2::jsonb[])', [
      events.map((_, i) => first + i),
      events.map((e) => JSON.stringify(e))
    ])
  }

  private draftOf(m: Mutation): EventDraft | null {
    switch (m.type) {
      case 'staged':
        return { kind: 'staged', time: m.record.updated_at, subject: subjectOf(m.record), data: m.record }
      case 'status_changed':
        // A same-status heartbeat is no change (as in the local engine).
        if (m.from === m.record.status) return null
        return { kind: 'status_changed', time: m.record.updated_at, subject: subjectOf(m.record), reason: m.reason, data: m.record }
      case 'removed':
        return { kind: 'removed', time: iso(this.clock.now()), subject: subjectOf(m.record), reason: m.reason, data: m.record }
      case 'swept':
        return { kind: 'swept', time: iso(this.clock.now()), data: { ...m.result } }
    }
  }
}
