// Reading GET /v1/events in tests, and the one scripted run of every kind of change whose events the
// feed tests (local log, both engines) compare.
import type { FastifyInstance } from 'fastify'
import { HOUR, upload, type FakeClock } from '../helper.js'

export interface FeedEvent {
  specversion: string
  id: string
  type: string
  subject?: string
  sequence: string
  reason?: string
  time: string
  data: Record<string, unknown>
}

/** One answer of GET /v1/events?{query}; anything but 200 throws with the problem. */
export async function eventPage(app: FastifyInstance, query: string): Promise<{ events: FeedEvent[]; next: number }> {
  const res = await app.inject({ method: 'GET', url: `/v1/events?${query}` })
  if (res.statusCode !== 200) throw new Error(`GET /v1/events?${query}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** `staged local_upload/A`, `removed local_upload/B success`, `sweep.completed -`: an event in a word or three. */
export const short = (e: FeedEvent) => `${e.type.replace('com.apex.staging.', '')} ${e.subject ?? '-'}${e.reason ? ` ${e.reason}` : ''}`

/**
 * Every kind of change once, with the repeats that are not changes between them (same bytes again,
 * a same-status heartbeat). The app needs STAGING_ABANDONED_AFTER_HOURS=1 for the sweep to mark C.
 */
export async function makeEveryKindOfChange(app: FastifyInstance, clock: FakeClock): Promise<void> {
  await upload(app, 'A', 'one')
  await upload(app, 'A', 'one') // same bytes: nothing changed, no event
  await upload(app, 'A', 'two', { overwrite: true })
  await upload(app, 'B', 'b')
  await upload(app, 'C', 'c')
  await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/A', payload: { status: 'active' } }) // heartbeat: no event
  await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/A', payload: { status: 'failed', error: 'bad' } })
  await app.inject({ method: 'POST', url: '/v1/staging/local_upload/B/cleanup', payload: { status: 'success' } })
  await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/A' })
  clock.advance(2 * HOUR)
  await app.inject({ method: 'POST', url: '/v1/cleanup' })
}

/** The events of makeEveryKindOfChange, in order (see short). */
export const EVERY_KIND_OF_CHANGE = [
  'item.staged local_upload/A',
  'item.staged local_upload/A',
  'item.staged local_upload/B',
  'item.staged local_upload/C',
  'item.status_changed local_upload/A',
  'item.removed local_upload/B success',
  'item.removed local_upload/A deleted',
  'item.status_changed local_upload/C abandoned',
  'sweep.completed -'
]
