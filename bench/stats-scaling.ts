// Times GET /v1/stats and a filtered list page at 1k and 100k staged items: both come from the index.
// Usage: node --import tsx bench/stats-scaling.ts [counts...]
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/app.js'

const SOURCES = ['frontapp', 'samsara', 'turvo', 'local_upload', 'http', 'https'] as const
const STATUSES = ['active', 'success', 'failed'] as const

/** Writes `count` items straight to disk (setup speed matters here, not durability). */
export async function seed(baseDir: string, count: number): Promise<void> {
  const now = new Date().toISOString()
  const body = 'x'.repeat(100)
  const sha256 = createHash('sha256').update(body).digest('hex')
  const batch: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    const source = SOURCES[i % SOURCES.length] as string
    const id = `ITEM-${String(i).padStart(7, '0')}`
    const dir = join(baseDir, source, id)
    const status = STATUSES[i % 3] as string
    const record = {
      document_id: id, source, kind: 'document', status, created_at: now, updated_at: now,
      file_path: join(dir, 'doc.txt'), filename: 'doc.txt', original_filename: 'doc.txt', content_type: 'text/plain',
      file_size_bytes: body.length, sha256, source_location: null, error: null, expires_at: status === 'failed' ? now : null
    }
    batch.push(
      mkdir(dir, { recursive: true }).then(() =>
        Promise.all([writeFile(join(dir, 'doc.txt'), body), writeFile(join(dir, '.metadata.json'), JSON.stringify(record))]).then(() => undefined)
      )
    )
    if (batch.length === 256) await Promise.all(batch.splice(0))
  }
  await Promise.all(batch)
}

export async function statsScaling(count: number, requests = 2000) {
  const baseDir = await mkdtemp(join(tmpdir(), 'bench-stats-'))
  try {
    await seed(baseDir, count)
    const config = loadConfig({ STAGING_BASE_DIR: baseDir, LOG_LEVEL: 'silent' })
    const app = await buildApp(config, { logger: createLogger({ logLevel: 'silent' }), schedule: false })
    const loadStart = performance.now()
    await app.ready()
    const loadMs = performance.now() - loadStart
    const time = async (url: string) => {
      for (let i = 0; i < 200; i++) await app.inject({ method: 'GET', url }) // warm-up
      const t0 = performance.now()
      for (let i = 0; i < requests; i++) await app.inject({ method: 'GET', url })
      return ((performance.now() - t0) / requests) * 1000
    }
    const statsUs = await time('/v1/stats')
    const listUs = await time('/v1/staging?status=failed&source=turvo&limit=100')
    const total = (await app.inject({ method: 'GET', url: '/v1/stats' })).json().total_documents as number
    await app.close()
    return { count: total, loadMs, statsUs, listUs }
  } finally {
    await rm(baseDir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = process.argv.slice(2).map(Number)
  for (const count of counts.length ? counts : [1000, 100_000]) {
    const r = await statsScaling(count)
    console.log(
      `${r.count} items: start-up load ${r.loadMs.toFixed(0)} ms, GET /v1/stats ${r.statsUs.toFixed(0)} µs/request, ` +
        `filtered list page ${r.listUs.toFixed(0)} µs/request`
    )
  }
}
