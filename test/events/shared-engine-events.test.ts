// The shared engine writes no events yet (README, "Events"): the feed says so with a 503 problem,
// and a configured push receiver does not stop the service from starting.
import t from 'tap'
import { upload } from '../helper.js'
import { engineApp } from '../staging/engine-fixture.js'
import { SECRET } from './receiver.js'

t.test('shared engine: GET /v1/events is 503 Unavailable, staging works, push stays off', async (t) => {
  const { app } = await engineApp(t, 'shared', { STAGING_EVENTS_URL: 'http://127.0.0.1:9/hook', STAGING_EVENTS_SECRET: SECRET })
  t.equal((await upload(app, 'SH-1', 'shared')).statusCode, 201)
  const res = await app.inject({ method: 'GET', url: '/v1/events?after=0' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'Unavailable', detail: /shared storage engine does not write events yet/ })
  t.equal(app.staging.pusher, null, 'no pusher without a feed')
})
