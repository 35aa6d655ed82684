// Builds an app on a fresh temp staging tree with a controllable clock; every test app goes through here.
import { statfsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp, type AppDeps } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import type { Clock } from '../src/staging/clock.js'
import type { ItemRecord, Source } from '../src/staging/record.js'

export interface TapLike {
  teardown(fn: () => unknown): void
}

export class FakeClock implements Clock {
  constructor(private ms = Date.parse('2026-01-05T10:30:00.000Z')) {}
  now(): number {
    return this.ms
  }
  advance(ms: number): void {
    this.ms += ms
  }
}

export const HOUR = 3_600_000

export async function tempDir(t: TapLike, prefix = 'staging-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** ext4, xfs, btrfs: filesystems known to take O_DIRECT writes from aligned memory (the hash workers' path). */
const DIRECT_FILESYSTEMS = new Set([0xef53, 0x58465342, 0x9123683e])

/** Whether `dir` is on a filesystem known to take the hash workers' O_DIRECT writes. */
export function takesDirectWrites(dir: string): boolean {
  return DIRECT_FILESYSTEMS.has(statfsSync(dir).type)
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  clock: FakeClock
  baseDir: string
}

/** A ready app over a temp tree; `env` adds or overrides variables. Closed at teardown. */
export async function buildTestApp(t: TapLike, env: Record<string, string> = {}, deps: AppDeps = {}): Promise<TestApp> {
  const baseDir = env.STAGING_BASE_DIR ?? (await tempDir(t))
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env, STAGING_BASE_DIR: baseDir })
  const clock = (deps.clock as FakeClock | undefined) ?? new FakeClock()
  const app = await buildApp(config, { logger: pino({ level: 'silent' }), schedule: false, ...deps, clock })
  await app.ready()
  t.teardown(() => app.close())
  return { app, config, clock, baseDir }
}

/** A multipart/form-data body built by hand, so tests control every byte. */
export function multipartBody(
  fields: Record<string, string>,
  file?: { name?: string; filename: string; contentType?: string; content: Buffer | string }
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----staging-test-boundary-7f3a'
  const chunks: Buffer[] = []
  for (const [k, v] of Object.entries(fields)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
  }
  if (file) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.name ?? 'file'}"; filename="${file.filename}"\r\n` +
          `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`
      )
    )
    chunks.push(Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  const payload = Buffer.concat(chunks)
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(payload.length) } }
}

/** Stages one document through the API and returns the response. */
export async function upload(
  app: FastifyInstance,
  documentId: string,
  content: string | Buffer,
  options: { source?: string; filename?: string; overwrite?: boolean; headers?: Record<string, string>; contentType?: string } = {}
) {
  const fields: Record<string, string> = { document_id: documentId }
  if (options.source) fields.source = options.source
  if (options.overwrite !== undefined) fields.overwrite = String(options.overwrite)
  const body = multipartBody(fields, { filename: options.filename ?? 'doc.pdf', contentType: options.contentType ?? 'application/pdf', content })
  return app.inject({ method: 'POST', url: '/v1/documents', payload: body.payload, headers: { ...body.headers, ...options.headers } })
}

/** A loopback port that was free a moment ago, for processes that must be told their port. */
/** `buf` in 64 KiB pieces, as a socket body comes. */
export function pieces(buf: Buffer): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < buf.length; i += 64 * 1024) parts.push(buf.subarray(i, i + 64 * 1024))
  return Readable.from(parts)
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** What is stored in a tree: its entries minus the tree's own dot-entries (.tmp, .lock, .events). */
export async function storedEntries(baseDir: string): Promise<string[]> {
  return (await readdir(baseDir)).filter((n) => !n.startsWith('.'))
}

/** A valid record for an item written into a tree by hand (its data file: writeTreeItem's doc.pdf). */
export const itemRecord = (source: Source, id: string, extra: Partial<ItemRecord> = {}): ItemRecord => ({
  document_id: id,
  source,
  kind: 'document',
  status: 'active',
  created_at: '2026-01-05T10:30:00.000Z',
  updated_at: '2026-01-05T10:30:00.000Z',
  file_path: `/elsewhere/${source}/${id}/doc.pdf`,
  filename: 'doc.pdf',
  original_filename: 'dóc ünïcode.pdf',
  content_type: 'application/pdf',
  file_size_bytes: 3,
  sha256: 'a'.repeat(64),
  source_location: null,
  error: null,
  expires_at: null,
  ...extra
})

/** Writes an item straight into a stopped service's tree: doc.pdf ("pdf") and its metadata text (null: unreadable, a directory in its place). */
export async function writeTreeItem(baseDir: string, source: Source, id: string, metadata: string | null): Promise<void> {
  const dir = join(baseDir, source, id)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'doc.pdf'), 'pdf')
  if (metadata === null) await mkdir(join(dir, '.metadata.json'))
  else await writeFile(join(dir, '.metadata.json'), metadata)
}
