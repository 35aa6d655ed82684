// Push under the shared engine: two replicas on one database push to one fake receiver. Exactly one
// delivers (the holder of the push advisory lock); the other stands by, reports the same pending and
// no deliveries, and takes over from the cursor row when the deliverer closes or is kill -9'd.
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, freePort, multipartBody, tempDir, upload, type TapLike } from '../helper.js'
import { sampleValue } from '../metrics/prom-text.js'
import { spawnNode } from '../child-process.js'
import { sharedBackends, type SharedBackends } from '../staging/shared/backends.js'
import { Receiver, SECRET, type Delivery } from './receiver.js'

const fast = { upstream: { backoff: { baseMs: 5, maxMs: 20 } }, pushBackoff: { baseMs: 20, maxMs: 100 }, pushLockRetryMs: 100 }

function pushEnv(backends: SharedBackends, port: number): Record<string, string> {
  return {
    ...backends.env,
    STAGING_EVENTS_URL: `http://127.0.0.1:${port}/hooks/staging`,
    STAGING_EVENTS_SECRET: SECRET,
    STAGING_HTTP_ALLOW_HOSTS: `127.0.0.1:${port}`,
    STAGING_UPSTREAM_RETRIES: '1'
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * What the receiver saw: every event, first seen in order; a repeat carries the same id and body; and
 * apart from one step back (the new deliverer resuming from the cursor), each delivery is the next
 * sequence: two replicas never delivered side by side.
 */
function checkDeliveries(t: Test, deliveries: Delivery[], events: number, takeovers: number): { resumedAt: number[]; duplicates: number } {
  const firstSeen = [...new Set(deliveries.map((d) => d.sequence))]
  t.same(firstSeen, range(1, events), `all ${events} events, first seen in order`)
  const byId = new Map<string, string>()
  for (const d of deliveries) {
    const seen = byId.get(d.id)
    if (seen !== undefined && seen !== d.body) t.fail(`webhook-id ${d.id} came with another body`)
    byId.set(d.id, d.body)
  }
  t.equal(byId.size, events, 'one webhook-id per event')
  const resumedAt: number[] = []
  for (let i = 1; i < deliveries.length; i++) {
    const [prev, next] = [deliveries[i - 1]!.sequence, deliveries[i]!.sequence]
    if (next <= prev) resumedAt.push(next)
    else if (next !== prev + 1) t.fail(`delivery skipped from ${prev} to ${next}`)
  }
  t.ok(resumedAt.length <= takeovers, `${resumedAt.length} step(s) back, at most ${takeovers} (the new deliverer resuming from the cursor)`)
  t.ok(deliveries.every((d) => d.signatureOk), 'all signed')
  t.comment(`${deliveries.length} deliveries for ${events} events`)
  return { resumedAt, duplicates: deliveries.length - events }
}

async function metric(app: FastifyInstance, name: string): Promise<number | undefined> {
  return sampleValue((await app.inject({ method: 'GET', url: '/metrics' })).body, name, {})
}

t.test('two in-process replicas: one delivers, the other stands by and takes over when it closes', async (t) => {
  const backends = await sharedBackends(t)
  const receiver = new Receiver()
  const port = await receiver.listen(t)
  const env = pushEnv(backends, port)
  const apps = [(await buildTestApp(t, env, fast)).app, (await buildTestApp(t, env, fast)).app]
  await until('one replica holds the push lock', async () => (await Promise.all(apps.map((a) => metric(a, 'staging_events_push_standby')))).sort().join() === '0,1')
  const leader = (await metric(apps[0]!, 'staging_events_push_standby')) === 0 ? apps[0]! : apps[1]!
  const standby = leader === apps[0] ? apps[1]! : apps[0]!

  // One dedicated connection per replica, kept across the standby's tries; one advisory lock, held.
  const db = new pg.Client({ connectionString: backends.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const lockSessions = async () =>
    (
      await db.query<{ pid: number; holds: boolean }>(
        `SELECT a.pid, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted) AS holds
         FROM pg_stat_activity a WHERE a.datname = current_database() AND a.application_name = 'apex-staging push' ORDER BY a.pid`
      )
    ).rows
  const before = await lockSessions()
  await new Promise((r) => setTimeout(r, 500))
  t.same(await lockSessions(), before, 'the same two sessions after several tries of the standby')
  t.same(before.map((s) => s.holds).sort(), [false, true], 'one of them holds the advisory lock')

  for (let i = 0; i < 10; i++) t.equal((await upload(apps[i % 2]!, `P${i}`, `p${i}`)).statusCode, 201)
  await receiver.waitFor(10)
  t.same(receiver.deliveries.map((d) => d.sequence), range(1, 10), 'changes made through both replicas, each delivered once, in order')
  // The standby reads the head and the cursor row every few moments: it catches up, a little later.
  await until("the standby reports the fleet's position and nothing pending", async () => (await metric(standby, 'staging_events_delivered_sequence')) === 10 && (await metric(standby, 'staging_events_pending')) === 0)
  t.equal(await metric(leader, 'staging_events_pending'), 0)
  t.equal(await metric(leader, 'staging_events_delivered_total'), 10, 'the deliverer counts the deliveries')
  t.equal(await metric(standby, 'staging_events_delivered_total'), 0, 'the standby delivered nothing')
  t.equal(await metric(standby, 'staging_events_push_standby'), 1)

  // A slow receiver, so the deliverer closes with a delivery in flight and a backlog behind it.
  receiver.delayMs = 30
  for (let i = 10; i < 20; i++) await upload(standby, `P${i}`, `p${i}`)
  await until('some of the backlog arrived', () => receiver.firstSeen().length >= 12)
  await leader.close()
  const delivered = new Set(receiver.deliveries.map((d) => d.sequence)).size
  t.ok(delivered < 20, `the closed deliverer left ${20 - delivered} events behind`)
  receiver.delayMs = 0
  await upload(standby, 'P20', 'p20')
  await receiver.waitFor(21)
  const { resumedAt, duplicates } = checkDeliveries(t, receiver.deliveries, 21, 1)
  // A closing deliverer saves its cursor on the way out: only the delivery it cut short comes again.
  t.ok(duplicates <= 1 && resumedAt.every((s) => s > 10), `the survivor resumed from the cursor row (at ${resumedAt.join() || 'the next event'}), not from the start`)
  await until('the survivor reports nothing pending', async () => (await metric(standby, 'staging_events_pending')) === 0)
  t.equal(await metric(standby, 'staging_events_push_standby'), 0, 'the survivor now delivers')
  t.ok((await metric(standby, 'staging_events_delivered_total'))! >= 21 - delivered, 'and counts what it delivered')
})

interface Replica {
  child: ChildProcess
  url: (path: string) => string
}

async function startReplica(t: TapLike, env: Record<string, string>, awsEnv: Record<string, string>): Promise<Replica> {
  const port = await freePort()
  const child = spawnNode(['--import', 'tsx', new URL('../staging/shared/replica.ts', import.meta.url).pathname], {
    PATH: process.env.PATH ?? '',
    ...env,
    ...awsEnv,
    STAGING_BASE_DIR: await tempDir(t),
    PORT: String(port),
    LOG_LEVEL: 'error',
    STAGING_CLEANUP_INTERVAL_MINUTES: '1440',
    REPLICA_PUSH_LOCK_RETRY_MS: '200'
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const url = (path: string) => `http://127.0.0.1:${port}${path}`
  await until('the replica is ready', () => fetch(url('/readyz')).then((r) => r.ok, () => false), 30_000)
  return { child, url }
}

async function replicaMetric(r: Replica, name: string): Promise<number | undefined> {
  return sampleValue(await (await fetch(r.url('/metrics'))).text(), name, {})
}

async function uploadTo(r: Replica, id: string): Promise<number> {
  const { payload, headers } = multipartBody({ document_id: id }, { filename: `${id}.txt`, content: `${id}|`.repeat(20) })
  return (await fetch(r.url('/v1/documents'), { method: 'POST', body: payload, headers: { 'content-type': headers['content-type']! } })).status
}

t.test('two replica processes: kill -9 of the deliverer, the standby takes over from the cursor row', async (t) => {
  t.setTimeout(120_000)
  const backends = await sharedBackends(t)
  const receiver = new Receiver()
  const port = await receiver.listen(t)
  const env = pushEnv(backends, port)
  const replicas = [await startReplica(t, env, backends.awsEnv), await startReplica(t, env, backends.awsEnv)]
  let roles: (number | undefined)[] = []
  await until('one replica holds the push lock', async () => {
    roles = await Promise.all(replicas.map((r) => replicaMetric(r, 'staging_events_push_standby')))
    return [...roles].sort().join() === '0,1'
  })
  const leader = replicas[roles.indexOf(0)]!
  const standby = replicas[roles.indexOf(1)]!

  for (let i = 0; i < 10; i++) t.equal(await uploadTo(replicas[i % 2]!, `K${i}`), 201)
  await receiver.waitFor(10)
  t.same(receiver.deliveries.map((d) => d.sequence), range(1, 10), 'each delivered once, in order, by one replica')
  await until('the cursor row holds 10', async () => (await replicaMetric(standby, 'staging_events_delivered_sequence')) === 10)

  // kill -9 while the deliverer works through a backlog (slow receiver): PostgreSQL frees its lock.
  receiver.delayMs = 20
  for (let i = 10; i < 30; i++) t.equal(await uploadTo(standby, `K${i}`), 201)
  await until('part of the backlog arrived', () => receiver.firstSeen().length >= 13)
  const exited = once(leader.child, 'exit')
  leader.child.kill('SIGKILL')
  await exited
  const atKill = new Set(receiver.deliveries.map((d) => d.sequence)).size
  t.ok(atKill < 30, `${30 - atKill} events were left undelivered by the killed replica`)
  receiver.delayMs = 0
  for (let i = 30; i < 33; i++) t.equal(await uploadTo(standby, `K${i}`), 201)
  await receiver.waitFor(33, 30_000)
  const { resumedAt } = checkDeliveries(t, receiver.deliveries, 33, 1)
  // After kill -9 the cursor row may lag the receiver by the deliveries made during its last write.
  t.ok(resumedAt.every((s) => s > 10), `the survivor resumed from the cursor row (at ${resumedAt.join() || 'the next event'}), not from the start`)
  await until('the survivor reports nothing pending', async () => (await replicaMetric(standby, 'staging_events_pending')) === 0)
  t.equal(await replicaMetric(standby, 'staging_events_push_standby'), 0, 'the survivor delivers now')
  t.equal(await replicaMetric(standby, 'staging_events_delivered_sequence'), 33)
})
