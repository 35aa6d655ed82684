// The events of the feed as CloudEvents 1.0 (JSON format), one zod schema for the log, the API and push.
import { z } from 'zod'

export const EVENT_SOURCE = '/apex-staging'

export const EVENT_TYPES = {
  staged: 'com.apex.staging.item.staged',
  status_changed: 'com.apex.staging.item.status_changed',
  removed: 'com.apex.staging.item.removed',
  swept: 'com.apex.staging.sweep.completed'
} as const
export type EventKind = keyof typeof EVENT_TYPES

export const EVENT_REASONS = ['success', 'expired', 'deleted', 'orphan', 'abandoned'] as const

/** Zero-padded so that, as the CloudEvents sequence extension asks, string order is number order. */
export const SEQUENCE_DIGITS = 16
export const formatSequence = (seq: number): string => String(seq).padStart(SEQUENCE_DIGITS, '0')

export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0').meta({ description: 'CloudEvents version' }),
    id: z.uuid().meta({ description: 'Unique per event; the `webhook-id` of its push delivery (deduplicate on it)', example: '0b8d5a3e-0c7e-4a53-9f6b-3d3c2e1f9a10' }),
    source: z.string().meta({ description: 'Always `/apex-staging`', example: EVENT_SOURCE }),
    type: z.enum(Object.values(EVENT_TYPES) as [string, ...string[]]).meta({
      description: '`com.apex.staging.item.staged` (new or overwritten item), `….item.status_changed`, `….item.removed`, `com.apex.staging.sweep.completed`',
      example: EVENT_TYPES.staged
    }),
    time: z.iso.datetime({ precision: 3 }).meta({ description: 'When the change happened', example: '2026-01-05T10:30:00.000Z' }),
    subject: z.string().optional().meta({ description: '`{source}/{document_id}` of the item (absent for sweeps)', example: 'frontapp/DOC-123' }),
    datacontenttype: z.literal('application/json'),
    sequence: z.string().regex(/^\d{16}$/).meta({
      description: 'CloudEvents sequence extension: the feed position, zero-padded to 16 digits; `Number(sequence)` is what `after` takes',
      example: '0000000000000042'
    }),
    reason: z.enum(EVENT_REASONS).optional().meta({ description: 'Extension on `removed` (success, expired, deleted, orphan) and on a sweep\'s `status_changed` (abandoned)', example: 'success' }),
    // One open object rather than a union with ItemRecord: the record's shape is documented there.
    data: z.record(z.string(), z.unknown()).meta({
      description: 'For item events the ItemRecord after the change (for `removed`, the last record; for an orphan only `source` and `document_id`); for `sweep.completed` the summary `POST /v1/cleanup` answers',
      example: { document_id: 'DOC-123', source: 'frontapp', status: 'active' }
    })
  })
  .meta({ id: 'CloudEvent', description: 'One change of the staging area, a CloudEvents 1.0 event in JSON format' })

export type CloudEvent = z.infer<typeof cloudEventSchema>

/** What a caller supplies; the log adds id, sequence and the fixed attributes. */
export interface EventDraft {
  kind: EventKind
  time: string
  subject?: string
  reason?: (typeof EVENT_REASONS)[number]
  data: Record<string, unknown>
}

export function toCloudEvent(draft: EventDraft, seq: number, id: string): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source: EVENT_SOURCE,
    type: EVENT_TYPES[draft.kind],
    time: draft.time,
    ...(draft.subject === undefined ? {} : { subject: draft.subject }),
    datacontenttype: 'application/json',
    sequence: formatSequence(seq),
    ...(draft.reason === undefined ? {} : { reason: draft.reason }),
    data: draft.data
  }
}

export const sequenceOf = (event: Pick<CloudEvent, 'sequence'>): number => Number(event.sequence)
