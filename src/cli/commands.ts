// The operator commands: each calls the HTTP API and prints a table for humans or the JSON for scripts.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { z } from 'zod'
import type { listResponse, statsResponse, sweepResultSchema } from '../routes/schemas.js'
import type { ItemRecord } from '../staging/record.js'
import type { StagingApi } from './api-client.js'
import { CliError, EXIT } from './exit-codes.js'
import { bytes, fields, table } from './table.js'

type Stats = z.infer<typeof statsResponse>
type Page = z.infer<typeof listResponse>
type SweepResult = z.infer<typeof sweepResultSchema>

export interface Output {
  out(text: string): void
  err(text: string): void
}

const itemPath = (source: string, id: string) => `/v1/staging/${encodeURIComponent(source)}/${encodeURIComponent(id)}`
const asJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

export async function stats(api: StagingApi, io: Output, json: boolean): Promise<void> {
  const s = await api.json<Stats>('GET', '/v1/stats')
  if (json) return io.out(asJson(s))
  io.out(
    fields([
      ['items', s.total_documents],
      ['by status', Object.entries(s.by_status).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['disk', `${bytes(s.disk_usage.total_bytes)} of ${bytes(s.quota.max_bytes)} (${(s.quota.used_ratio * 100).toFixed(1)}% used)`],
      ['last sweep', s.cleanup.last_run_at ?? 'never'],
      ['next sweep', s.cleanup.next_run_at ?? 'not scheduled']
    ])
  )
  const sources = Object.keys({ ...s.by_source, ...s.disk_usage.by_source }).sort()
  if (sources.length > 0) {
    io.out('\n' + table(['SOURCE', 'ITEMS', 'BYTES'], sources.map((src) => [src, s.by_source[src as keyof typeof s.by_source] ?? 0, bytes(s.disk_usage.by_source[src as keyof typeof s.by_source] ?? 0)])))
  }
}

export interface ListOptions {
  status?: string
  source?: string
  kind?: string
  limit?: number
  cursor?: string
}

export async function list(api: StagingApi, io: Output, options: ListOptions, json: boolean): Promise<void> {
  const page = await api.json<Page>('GET', '/v1/staging', { ...options })
  if (json) return io.out(asJson(page))
  io.out(
    table(
      ['SOURCE', 'DOCUMENT_ID', 'KIND', 'STATUS', 'SIZE', 'UPDATED', 'FILENAME'],
      page.items.map((r) => [r.source, r.document_id, r.kind, r.status, bytes(r.file_size_bytes), r.updated_at, r.filename])
    )
  )
  if (page.next_cursor) io.err(`more items: add --cursor ${page.next_cursor}\n`)
}

export async function show(api: StagingApi, io: Output, source: string, id: string, json: boolean): Promise<void> {
  const record = await api.json<ItemRecord>('GET', itemPath(source, id))
  if (json) return io.out(asJson(record))
  io.out(fields(Object.entries(record)))
}

/** Streams the bytes to FILE (through FILE.partial, renamed when whole and its sha256 matches the ETag) or to stdout. */
export async function get(api: StagingApi, io: Output, source: string, id: string, file: string | undefined, stdout: NodeJS.WritableStream): Promise<void> {
  const res = await api.send('GET', `${itemPath(source, id)}/content`)
  const expected = /^"([0-9a-f]{64})"$/.exec(String(res.headers.etag ?? ''))?.[1]
  const hash = createHash('sha256')
  let size = 0
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk)
      size += chunk.length
      done(null, chunk)
    }
  })
  if (file === undefined || file === '-') {
    await pipeline(res.body, meter, stdout, { end: false })
    return checkDigest(expected, hash.digest('hex'))
  }
  const partial = join(dirname(file), `.${basename(file)}.partial`)
  try {
    await pipeline(res.body, meter, createWriteStream(partial, { flags: 'w', flush: true }))
    checkDigest(expected, hash.digest('hex'))
    await rename(partial, file)
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
  io.err(`wrote ${size} bytes to ${file}\n`)
}

function checkDigest(expected: string | undefined, actual: string): void {
  if (expected && expected !== actual) throw new CliError(`the download's sha256 ${actual} differs from the item's ${expected}; nothing kept`, EXIT.refused)
}

export async function cleanup(api: StagingApi, io: Output, dryRun: boolean, json: boolean): Promise<void> {
  const r = await api.json<SweepResult>('POST', '/v1/cleanup', { dry_run: dryRun })
  if (json) return io.out(asJson(r))
  const verb = r.dry_run ? 'would remove' : 'removed'
  io.out(
    `${r.dry_run ? 'dry run: ' : ''}${verb} ${r.removed} items (${bytes(r.bytes_freed)}), ${r.dry_run ? 'would mark' : 'marked'} ${r.marked_abandoned} abandoned, ` +
      `${r.orphans_removed} orphans; ${r.scanned} scanned, ${r.errors} errors, ${r.duration_ms} ms\n`
  )
  if (r.items.length > 0) io.out(table(['SOURCE', 'DOCUMENT_ID', 'REASON'], r.items.map((i) => [i.source, i.document_id, i.reason])))
  if (r.errors > 0) throw new CliError(`the sweep met ${r.errors} errors (see the service log)`, EXIT.refused)
}

export async function remove(api: StagingApi, io: Output, source: string, id: string, json: boolean): Promise<void> {
  await api.json<undefined>('DELETE', itemPath(source, id))
  io.out(json ? asJson({ source, document_id: id, removed: true }) : `removed ${source}/${id}\n`)
}
