// kill -9 at 50+ distinct moments across uploads, pulls, overwrites, status changes and sweeps: after
// every restart 0 acknowledged items are lost or corrupt, 0 partial items are visible, .tmp is clean.
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, freePort, multipartBody, tempDir } from '../helper.js'
import { startServer, waitHealthy } from './server-bundle.js'

const ROUNDS = Number(process.env.KILL_ROUNDS ?? 52)
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const content = (key: string, n: number) => Buffer.alloc(2000 + ((n * 7919) % 60_000), `${key}:${n}|`)

/** What may be true of a key after a crash: the acknowledged state, or one of those in flight. */
interface Expect {
  acked: string | null // sha or status; null = absent
  pending: Set<string | null>
  kind: 'sha' | 'status'
  /** Marked success when last seen: any later sweep may remove it, which is not a loss. */
  sweepable: boolean
}

// The file's own timeout (tap's runner enforces .taprc's 120 s per file unless the root test extends it).
t.setTimeout(900_000)

t.test('kill -9 at many moments loses nothing acknowledged and shows nothing partial', async (t) => {
  t.setTimeout(900_000)
  const dir = await tempDir(t)
  // The pull upstream: deterministic bytes per path, sent in slow pieces so kills land mid-pull.
  const upstream = createServer((req, res) => {
    const body = content(req.url ?? '/', 1)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    res.write(body.subarray(0, 1000))
    setTimeout(() => res.end(body.subarray(1000)), 20)
  })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  t.teardown(() => upstream.close())
  const upstreamPort = (upstream.address() as { port: number }).port
  const model = new Map<string, Expect>()
  const expectKey = (key: string, kind: Expect['kind'], acked: string | null = null) => {
    let e = model.get(key)
    if (!e) model.set(key, (e = { acked, pending: new Set(), kind, sweepable: false }))
    return e
  }
  let moments = 0
  const losses: string[] = []
  /** Each item's status as the last restart found it: where a status change starts from. */
  const lastStatus = new Map<string, string>()
  const stats = { acknowledged: 0, lost: 0, corrupt: 0, partial: 0, tmpLeft: 0 }

  for (let round = 0; round < ROUNDS; round++) {
    const port = await freePort()
    const child = startServer({ STAGING_BASE_DIR: dir, PORT: String(port), STAGING_HTTP_ALLOW_HOSTS: `127.0.0.1:${upstreamPort}` })
    const exited = once(child, 'exit')
    await waitHealthy(port, child)
    const base = `http://127.0.0.1:${port}`
    const inFlight = new Set<string>()
    let settled = () => {}
    const op = (key: string, kind: Expect['kind'], target: string | null, send: () => Promise<Response>) => {
      const e = expectKey(key, kind, kind === 'status' ? (lastStatus.get(key.slice(7)) ?? null) : null)
      e.pending.add(target)
      inFlight.add(key)
      return send().then(
        (res) => {
          inFlight.delete(key)
          if (inFlight.size <= 1) settled()
          if (res.status < 300) {
            e.acked = target
            e.pending.delete(target)
            stats.acknowledged++
          }
        },
        () => undefined
      )
    }
    const uploadOp = (key: string, n: number, overwrite: boolean) => {
      const body = multipartBody({ document_id: key, overwrite: String(overwrite) }, { filename: `${key}.bin`, content: content(key, n) })
      return op(key, 'sha', sha(content(key, n)), () => fetch(`${base}/v1/documents`, { method: 'POST', headers: { 'content-type': body.headers['content-type'] as string }, body: body.payload }))
    }
    const json = { 'content-type': 'application/json' }
    const ops: Promise<void>[] = []
    // One acknowledged upload before the batch, so every round has acknowledged state to lose.
    await uploadOp(`A-${round}`, round, false)
    for (let i = 0; i < 3; i++) ops.push(uploadOp(`N-${round}-${i}`, round, false))
    ops.push(uploadOp(`O-${round % 3}`, round, true))
    ops.push(op(`P-${round}`, 'sha', sha(content(`/f/${round}`, 1)), () =>
      fetch(`${base}/v1/documents`, { method: 'POST', headers: json, body: JSON.stringify({ document_id: `P-${round}`, source: 'http', source_location: `http://127.0.0.1:${upstreamPort}/f/${round}` }) })))
    // Status changes and removals on items of earlier rounds (acknowledged and present).
    // Not this round's own A- item: its status model starts from the last restart, which it postdates
    // (a status change on it was expected to start from null, and a kill before the change, which
    // leaves it active, counted as a loss).
    const older = [...model.entries()].filter(
      ([k, e]) => (k.startsWith('N-') || k.startsWith('A-')) && e.acked !== null && e.pending.size === 0 && !k.startsWith(`N-${round}-`) && k !== `A-${round}`
    )
    const pick = (i: number) => older[(round * 5 + i) % Math.max(1, older.length)]
    if (older.length > 4) {
      const [sKey] = pick(0)!
      const status = round % 2 === 0 ? 'failed' : 'active'
      ops.push(op(`status:${sKey}`, 'status', status, () => fetch(`${base}/v1/staging/local_upload/${sKey}`, { method: 'PATCH', headers: json, body: JSON.stringify({ status }) })))
      const [rKey] = pick(1)!
      if (rKey !== sKey) ops.push(op(rKey, 'sha', null, () => fetch(`${base}/v1/staging/local_upload/${rKey}/cleanup`, { method: 'POST', headers: json, body: JSON.stringify({ status: 'success' }) })))
      const [wKey] = pick(2)!
      if (wKey !== sKey && wKey !== rKey) {
        // Marked success, then swept: either may be the moment of the kill (the mark may then stay).
        model.get(`status:${wKey}`)?.pending.add('success')
        ops.push(op(wKey, 'sha', null, async () => {
          const marked = await fetch(`${base}/v1/staging/local_upload/${wKey}`, { method: 'PATCH', headers: json, body: JSON.stringify({ status: 'success' }) })
          if (!marked.ok) return marked
          return fetch(`${base}/v1/cleanup?dry_run=false`, { method: 'POST' })
        }))
      }
    }
    // The moment: a different delay each round, cut short when only one request is still in flight, so
    // that the kill lands while something runs however fast the service answers.
    await new Promise<void>((resolve) => {
      settled = resolve
      setTimeout(resolve, 2 + ((round * 37) % 120))
      if (inFlight.size <= 1) resolve()
    })
    if (inFlight.size > 0) moments++
    child.kill('SIGKILL')
    await exited
    await Promise.allSettled(ops)

    // Restart in-process and check the tree.
    const { app } = await buildTestApp(t, { STAGING_BASE_DIR: dir })
    const left = await readdir(join(dir, '.tmp'))
    stats.tmpLeft += left.length
    // Orphans include items whose data file does not match, found by the check after ready.
    await app.staging.store.checkFilesNow()
    stats.partial += app.staging.store.lastLoad?.orphans.length ?? 0
    lastStatus.clear()
    for (const record of app.staging.store.index.all()) {
      lastStatus.set(record.document_id, record.status)
      const bytes = await app.inject({ method: 'GET', url: `/v1/staging/${record.source}/${record.document_id}/content` })
      if (bytes.rawPayload.length !== record.file_size_bytes || sha(bytes.rawPayload) !== record.sha256) stats.corrupt++
    }
    for (const [key, e] of model) {
      const itemKey = key.startsWith('status:') ? key.slice(7) : key
      const source = key.startsWith('P-') ? 'http' : 'local_upload'
      const record = app.staging.store.get(source, itemKey)
      const allowed = new Set([e.acked, ...e.pending])
      let seen: string | null
      if (e.kind === 'status') {
        if (!record) continue // removed by another op on the same item
        seen = record.status
      } else {
        seen = record ? record.sha256 : null
      }
      if (e.sweepable && seen === null) allowed.add(null)
      if (!allowed.has(seen)) {
        stats.lost++
        losses.push(`round ${round} ${key}: saw ${seen}, acknowledged ${e.acked}, in flight [${[...e.pending].join(', ')}]`)
      }
      e.sweepable = e.kind === 'sha' && record?.status === 'success'
      // Whatever the crash settled is now the acknowledged state.
      e.acked = seen
      e.pending.clear()
    }
    await app.close()
  }
  t.comment(`kill -9 moments with requests in flight: ${moments} of ${ROUNDS}; acknowledged writes: ${stats.acknowledged}; lost ${stats.lost}, corrupt ${stats.corrupt}, partial ${stats.partial}, .tmp entries after start ${stats.tmpLeft}`)
  t.ok(moments >= Math.min(50, ROUNDS - 2), `${moments} distinct kill moments with requests in flight`)
  t.equal(stats.lost, 0, 'no acknowledged item lost', { losses: losses.slice(0, 20) })
  t.equal(stats.corrupt, 0, 'no item corrupt')
  t.equal(stats.partial, 0, 'no partial item visible')
  t.equal(stats.tmpLeft, 0, '.tmp clean after every start')
})
