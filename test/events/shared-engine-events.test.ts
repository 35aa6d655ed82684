// The shared engine's outbox across two replicas on one database and bucket: both serve the same
// feed, a long-poll on one wakes for a change made on the other, concurrent writes through both get
// gapless sequences in commit order. Push under the shared engine: shared-push.test.ts.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, upload } from '../helper.js'
import { sharedBackends } from '../staging/shared/backends.js'

async function feed(app: FastifyInstance, query = 'after=0&limit=1000'): Promise<{ events: { sequence: string; subject?: string; id: string }[]; next: number }> {
  const res = await app.inject({ method: 'GET', url: `/v1/events?${query}` })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('two shared-engine replicas serve one feed', async (t) => {
  const { env } = await sharedBackends(t)
  const a = (await buildTestApp(t, env)).app
  const b = (await buildTestApp(t, env)).app

  const polling = feed(b, 'after=0&wait=10')
  await new Promise((r) => setTimeout(r, 100))
  t.equal((await upload(a, 'R-1', 'one')).statusCode, 201)
  const woke = await polling
  t.same(woke.events.map((e) => e.subject), ['local_upload/R-1'], 'a long-poll on B wakes for a change made on A')

  // Concurrent writes through both replicas.
  await Promise.all(Array.from({ length: 20 }, (_, i) => upload(i % 2 ? a : b, `R-C${i}`, `c${i}`)))
  await b.inject({ method: 'PATCH', url: '/v1/staging/local_upload/R-C0', payload: { status: 'success' } })
  const fromA = await feed(a)
  const fromB = await feed(b)
  t.same(fromA, fromB, 'both replicas answer the same events')
  t.same(fromA.events.map((e) => Number(e.sequence)), Array.from({ length: 22 }, (_, i) => i + 1), 'gapless, in order')
  t.equal(new Set(fromA.events.map((e) => e.subject)).size, 21, 'every item')
  t.equal(fromA.next, 22)
})
