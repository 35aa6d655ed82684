// The quota is the fleet's: two app instances on one database and bucket never overshoot it
// together, and both report the same usage.
import t from 'tap'
import { buildTestApp, upload } from '../../helper.js'
import { sharedBackends } from './backends.js'

t.test('two replicas racing for the last room in the quota: one wins, nothing is held after', async (t) => {
  const backends = await sharedBackends(t)
  const env = { ...backends.env, STAGING_MAX_SIZE_GB: String(5000 / 1024 ** 3) }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, env)
  t.equal((await upload(a.app, 'FIRST', Buffer.alloc(2000, 1))).statusCode, 201)
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all([upload(a.app, `A-${round}`, Buffer.alloc(2000, 2)), upload(b.app, `B-${round}`, Buffer.alloc(2000, 3))])
    const codes = answers.map((r) => r.statusCode).sort()
    if (round === 0) t.same(codes, [201, 507], 'room for one more: exactly one of the two gets it')
    else t.same(codes, [507, 507], 'the quota is full for both')
  }
  const [sa, sb] = await Promise.all([a.app.inject({ url: '/v1/stats' }), b.app.inject({ url: '/v1/stats' })])
  t.same(sa.json().quota, sb.json().quota, 'both replicas see the same quota use')
  t.match(sa.json(), { total_documents: 2, disk_usage: { total_bytes: 4000 }, quota: { max_bytes: 5000, reserved_bytes: 0 } })
})
