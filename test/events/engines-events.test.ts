// The same changes give the same events on both engines: the local log and the shared engine's
// outbox (written in the transaction of each change) answer GET /v1/events alike.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { HOUR, upload } from '../helper.js'
import { engineApp, ENGINES } from '../staging/engine-fixture.js'

interface Ev {
  type: string
  subject?: string
  sequence: string
  reason?: string
  id: string
  data: Record<string, unknown>
}

const short = (e: Ev) => `${e.type.replace('com.apex.staging.', '')} ${e.subject ?? '-'}${e.reason ? ` ${e.reason}` : ''}`

async function events(app: FastifyInstance, after = 0): Promise<Ev[]> {
  const res = await app.inject({ method: 'GET', url: `/v1/events?after=${after}&limit=1000` })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json().events
}

for (const engine of ENGINES) {
  t.test(`${engine} engine: every change is one event, in commit order`, async (t) => {
    const { app, clock } = await engineApp(t, engine, { STAGING_ABANDONED_AFTER_HOURS: '1' })
    await upload(app, 'A', 'one')
    await upload(app, 'A', 'one')
    await upload(app, 'A', 'two', { overwrite: true })
    await upload(app, 'B', 'b')
    await upload(app, 'C', 'c')
    await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/A', payload: { status: 'active' } })
    await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/A', payload: { status: 'failed', error: 'bad' } })
    await app.inject({ method: 'POST', url: '/v1/staging/local_upload/B/cleanup', payload: { status: 'success' } })
    await app.inject({ method: 'DELETE', url: '/v1/staging/local_upload/A' })
    clock.advance(2 * HOUR)
    await app.inject({ method: 'POST', url: '/v1/cleanup' })
    const all = await events(app)
    t.same(all.map(short), [
      'item.staged local_upload/A',
      'item.staged local_upload/A',
      'item.staged local_upload/B',
      'item.staged local_upload/C',
      'item.status_changed local_upload/A',
      'item.removed local_upload/B success',
      'item.removed local_upload/A deleted',
      'item.status_changed local_upload/C abandoned',
      'sweep.completed -'
    ])
    t.same(all.map((e) => Number(e.sequence)), [1, 2, 3, 4, 5, 6, 7, 8, 9])
    t.equal(all[8]!.data.marked_abandoned, 1)
    t.same((await events(app, 7)).map((e) => Number(e.sequence)), [8, 9], 'after')

    // A long-poll wakes when a change commits.
    const polling = app.inject({ method: 'GET', url: '/v1/events?after=9&wait=10' })
    await new Promise((r) => setTimeout(r, 100))
    await upload(app, 'D', 'd')
    const woke = (await polling).json()
    t.same(woke.events.map(short), ['item.staged local_upload/D'])
    t.equal(woke.next, 10)
  })
}
