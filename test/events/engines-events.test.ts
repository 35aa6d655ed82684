// The same changes give the same events on both engines: the local log and the shared engine's
// outbox (written in the transaction of each change) answer GET /v1/events alike.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { upload } from '../helper.js'
import { engineApp, ENGINES } from '../staging/engine-fixture.js'
import { eventPage, EVERY_KIND_OF_CHANGE, makeEveryKindOfChange, short } from './feed-client.js'

const events = async (app: FastifyInstance, after = 0) => (await eventPage(app, `after=${after}&limit=1000`)).events

for (const engine of ENGINES) {
  t.test(`${engine} engine: every change is one event, in commit order`, async (t) => {
    const { app, clock } = await engineApp(t, engine, { STAGING_ABANDONED_AFTER_HOURS: '1' })
    await makeEveryKindOfChange(app, clock)
    const all = await events(app)
    t.same(all.map(short), EVERY_KIND_OF_CHANGE)
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
