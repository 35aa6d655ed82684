// A 60 s soak of mixed traffic (uploads, reads, downloads, patches, lists, stats, metrics, completions,
// sweeps) over real sockets: 0 unexpected answers, and open file descriptors and RSS stay flat.
import { readdir } from 'node:fs/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { buildTestApp, multipartBody } from '../helper.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const WORKERS = 6

const fds = async () => (await readdir('/proc/self/fd')).length
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10
// A full collection before each sample, so that the samples measure what is retained, not how far
// the collector has let garbage pile up (RSS alone drifts by 150 MiB of garbage under load).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test(`${SECONDS} s of mixed traffic: no unexpected answer, fds and RSS flat`, async (t) => {
  t.setTimeout((SECONDS + 120) * 1000)
  const { app } = await buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const json = { 'content-type': 'application/json' }
  let n = 0
  let requests = 0
  const unexpected: string[] = []
  const expect = async (what: string, res: Promise<Response>, ok: number[]) => {
    const r = await res
    await r.arrayBuffer()
    requests++
    if (!ok.includes(r.status)) unexpected.push(`${what}: ${r.status}`)
  }
  const live: string[] = []
  const step = async (w: number) => {
    const i = n++
    const pick = live[(i * 7) % Math.max(1, live.length)]
    switch (i % 9) {
      case 0:
      case 1: {
        const id = `SOAK-${i}`
        const body = multipartBody({ document_id: id }, { filename: `${id}.bin`, content: Buffer.alloc(1000 + ((i * 131) % 200_000), w) })
        await expect('upload', fetch(`${base}/v1/documents`, { method: 'POST', headers: { 'content-type': body.headers['content-type'] as string }, body: body.payload }), [201])
        live.push(id)
        break
      }
      case 2:
        if (pick) await expect('read', fetch(`${base}/v1/staging/local_upload/${pick}`), [200, 404])
        break
      case 3:
        if (pick) await expect('download', fetch(`${base}/v1/staging/local_upload/${pick}/content`, { headers: i % 2 ? { range: 'bytes=0-99' } : {} }), [200, 206, 404])
        break
      case 4:
        if (pick) await expect('patch', fetch(`${base}/v1/staging/local_upload/${pick}`, { method: 'PATCH', headers: json, body: JSON.stringify({ status: 'active' }) }), [200, 404, 409])
        break
      case 5:
        await expect('list', fetch(`${base}/v1/staging?limit=50`), [200])
        await expect('stats', fetch(`${base}/v1/stats`), [200])
        break
      case 6:
        await expect('metrics', fetch(`${base}/metrics`), [200])
        break
      case 7: {
        const done = live.shift()
        if (done) await expect('complete', fetch(`${base}/v1/staging/local_upload/${done}/cleanup`, { method: 'POST', headers: json, body: JSON.stringify({ status: i % 2 ? 'success' : 'failed' }) }), [200])
        break
      }
      case 8:
        if (i % 45 === 8) await expect('sweep', fetch(`${base}/v1/cleanup?dry_run=false`, { method: 'POST' }), [200])
        else await expect('health', fetch(`${base}/readyz`), [200])
    }
  }
  const end = Date.now() + SECONDS * 1000
  const warm = Date.now() + Math.min(15, SECONDS / 4) * 1000
  interface Sample { fds: number; rss: number; heap: number }
  let baseline: Sample | null = null
  const samples: Sample[] = []
  const sampler = setInterval(() => {
    void fds().then((f) => {
      gc()
      const { rss, heapUsed } = process.memoryUsage()
      const sample = { fds: f, rss, heap: heapUsed }
      if (Date.now() >= warm) {
        baseline ??= sample
        samples.push(sample)
      }
    })
  }, 1000)
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    while (Date.now() < end) await step(w).catch((err: unknown) => void unexpected.push(`error: ${String(err)} ${String((err as { cause?: { message?: string } }).cause?.message)}`))
  }))
  clearInterval(sampler)
  const first = baseline ?? { fds: await fds(), rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed }
  const last = samples.at(-1) ?? first
  const maxFds = Math.max(...samples.map((s) => s.fds), first.fds)
  const maxRss = Math.max(...samples.map((s) => s.rss), first.rss)
  t.comment(`${requests} requests in ${SECONDS} s; fds ${first.fds} -> ${last.fds} (max ${maxFds}); RSS ${mib(first.rss)} -> ${mib(last.rss)} MiB (max ${mib(maxRss)}); heap after GC ${mib(first.heap)} -> ${mib(last.heap)} MiB; items indexed ${app.staging.store.index.all().length}`)
  t.same(unexpected.slice(0, 20), [], 'no unexpected answer')
  t.ok(requests > SECONDS * 20, `${requests} requests`)
  t.ok(last.fds - first.fds <= 16, `open fds flat: ${first.fds} -> ${last.fds}`)
  t.ok(last.rss - first.rss < 96 * 1024 * 1024, `RSS flat: ${mib(first.rss)} -> ${mib(last.rss)} MiB`)
  t.ok(last.heap - first.heap < 32 * 1024 * 1024, `heap after GC flat: ${mib(first.heap)} -> ${mib(last.heap)} MiB`)
})
