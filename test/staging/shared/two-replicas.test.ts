// Two service processes on one database and one bucket: uploads and completions spread over both,
// racing commits on one id, one replica kill -9'd mid-upload, and both sweeping: nothing lost,
// nothing removed twice, no orphan left, the same stats on both.
import type { ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request } from 'node:http'
import pg from 'pg'
import t from 'tap'
import { ObjectStore } from '../../../src/staging/shared/object-store.js'
import { freePort, HOUR, multipartBody, tempDir, type TapLike } from '../../helper.js'
import { BUCKET, sharedBackends, type SharedBackends } from './backends.js'
import { spawnNode } from '../../child-process.js'

const entry = new URL('./replica.ts', import.meta.url).pathname
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

interface Replica {
  port: number
  child: ChildProcess
  url: (path: string) => string
}

async function startReplica(t: TapLike, backends: SharedBackends, clockOffsetMs = 0): Promise<Replica> {
  const port = await freePort()
  const child = spawnNode(['--import', 'tsx', entry], {
      PATH: process.env.PATH ?? '',
      ...backends.env,
      ...backends.awsEnv,
      STAGING_BASE_DIR: await tempDir(t),
      PORT: String(port),
      LOG_LEVEL: 'error',
      STAGING_CLEANUP_INTERVAL_MINUTES: '1440',
      REPLICA_CLOCK_OFFSET_MS: String(clockOffsetMs)
  })
  t.teardown(() => child.kill('SIGKILL'))
  for (let i = 0; i < 200; i++) {
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { port, child, url: (path) => `http://127.0.0.1:${port}${path}` }
}

async function uploadTo(r: Replica, id: string, content: Buffer): Promise<{ status: number; body: { sha256?: string } }> {
  const { payload, headers } = multipartBody({ document_id: id }, { filename: `${id}.bin`, content })
  const res = await fetch(r.url('/v1/documents'), { method: 'POST', body: payload, headers })
  return { status: res.status, body: (await res.json()) as { sha256?: string } }
}

const json = async (r: Replica, path: string, init?: RequestInit) => (await fetch(r.url(path), init)).json() as Promise<Record<string, unknown>>

t.test('two replicas on one database and bucket', async (t) => {
  const backends = await sharedBackends(t)
  const a = await startReplica(t, backends)
  const b = await startReplica(t, backends)

  // Racing commits of one id on both replicas: exactly one 201 each time.
  for (let i = 0; i < 8; i++) {
    const bytes = randomBytes(3000)
    const same = await Promise.all([uploadTo(a, `RACE-${i}`, bytes), uploadTo(b, `RACE-${i}`, bytes)])
    t.same(same.map((r) => r.status).sort(), [200, 201], `RACE-${i}: one 201, one 200`)
    const differ = await Promise.all([uploadTo(a, `CLASH-${i}`, randomBytes(10)), uploadTo(b, `CLASH-${i}`, randomBytes(10))])
    t.same(differ.map((r) => r.status).sort(), [201, 409], `CLASH-${i}: one 201, one 409`)
  }

  // Uploads spread over both, each read back from the other replica.
  const staged = new Map<string, string>()
  for (let i = 0; i < 24; i++) {
    const bytes = randomBytes(1000 + i * 997)
    const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a]
    const res = await uploadTo(writer, `DOC-${i}`, bytes)
    t.equal(res.status, 201)
    staged.set(`DOC-${i}`, sha(bytes))
    const back = Buffer.from(await (await fetch(reader.url(`/v1/staging/local_upload/DOC-${i}/content`))).arrayBuffer())
    if (sha(back) !== sha(bytes)) t.fail(`DOC-${i} read back from the other replica differs`)
  }
  // Completions spread over both: every third succeeded (removed at once), every fifth failed.
  const succeeded = new Set<string>()
  for (let i = 0; i < 24; i++) {
    const r = i % 2 === 0 ? b : a
    if (i % 3 === 0) {
      const done = await json(r, `/v1/staging/local_upload/DOC-${i}/cleanup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'success' }) })
      t.equal(done.removed, true)
      staged.delete(`DOC-${i}`)
    } else if (i % 5 === 0) {
      await fetch(r.url(`/v1/staging/local_upload/DOC-${i}`), { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'success' }) })
      succeeded.add(`DOC-${i}`)
    }
  }

  // Replica A dies mid-upload: 12 of a declared 24 MiB sent (parts already in the bucket).
  const boundary = 'killtest'
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nHALF\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n\r\n`)
  const half = request({ host: '127.0.0.1', port: a.port, method: 'POST', path: '/v1/documents', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + 24 * 1024 * 1024 } })
  half.on('error', () => undefined)
  half.write(head)
  for (let i = 0; i < 12; i++) half.write(randomBytes(1024 * 1024))
  // Wait until the reservation shows the bytes arrived, then kill.
  for (let i = 0; i < 100; i++) {
    const reserved = ((await json(b, '/v1/stats')).quota as { reserved_bytes: number }).reserved_bytes
    if (reserved >= 8 * 1024 * 1024) break
    await new Promise((r) => setTimeout(r, 100))
  }
  a.child.kill('SIGKILL')
  await once(a.child, 'exit')
  t.ok(((await json(b, '/v1/stats')).quota as { reserved_bytes: number }).reserved_bytes > 0, 'the dead replica still holds a reservation')

  // An object with no record, as a replica dying between upload and commit leaves it.
  const objects = new ObjectStore({ bucket: BUCKET, endpoint: backends.s3Endpoint, region: 'us-east-1', forcePathStyle: true })
  t.teardown(() => objects.close())
  await objects.upload(objects.newKey(), async (out) => {
    out.end(Buffer.from('orphaned bytes'))
  })

  // A replacement for A, its clock two hours on: the orphans are past their hour for it.
  const a2 = await startReplica(t, backends, 2 * HOUR)
  const sweep = (r: Replica) => json(r, '/v1/cleanup', { method: 'POST' }) as Promise<{ removed: number; errors: number; items: { document_id: string; reason: string }[] }>
  const round1 = await Promise.all([sweep(b), sweep(a2)])
  const round2 = [await sweep(a2), await sweep(b)]
  const removed = [...round1, ...round2].flatMap((r) => r.items.filter((i) => i.reason === 'success').map((i) => i.document_id))
  t.same(removed.sort(), [...succeeded].sort(), 'each success item removed exactly once across replicas')
  t.equal([...round1, ...round2].reduce((n, r) => n + r.errors, 0), 0, 'no sweep errors')
  for (const id of succeeded) staged.delete(id)

  // Nothing lost: every remaining staged item is whole, from both replicas.
  for (const r of [b, a2]) {
    const list = (await json(r, '/v1/staging?limit=1000')).items as { document_id: string; sha256: string }[]
    const docs = list.filter((i) => i.document_id.startsWith('DOC-'))
    t.same(Object.fromEntries(docs.map((i) => [i.document_id, i.sha256])), Object.fromEntries(staged), `${r === b ? 'B' : "A'"} lists every item`)
    t.notOk(list.some((i) => i.document_id === 'HALF'), 'the half-sent upload is not an item')
  }
  // No orphan: every object is some record's, and no reservation is left.
  const db = new pg.Client({ connectionString: backends.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const keys = new Set((await db.query<{ object_key: string }>('SELECT object_key FROM staging_items')).rows.map((r) => r.object_key))
  const stored: string[] = []
  for await (const page of objects.listBlobs()) stored.push(...page.map((o) => o.key))
  t.same(stored.sort(), [...keys].sort(), 'the bucket holds exactly the committed objects')
  t.equal((await db.query('SELECT count(*)::int AS n FROM staging_reservations')).rows[0].n, 0, 'no reservation left')

  // The same stats on both replicas, from the shared counters.
  const [statsB, statsA2] = await Promise.all([json(b, '/v1/stats'), json(a2, '/v1/stats')])
  const counts = (s: Record<string, unknown>) => ({ total: s.total_documents, by_status: s.by_status, by_source: s.by_source, disk: s.disk_usage, quota: s.quota })
  t.same(counts(statsB), counts(statsA2), 'stats equal on both')
  t.equal(statsB.total_documents, keys.size)
  t.equal((statsB.quota as { reserved_bytes: number }).reserved_bytes, 0, 'the dead replica’s reservation was freed')
})
