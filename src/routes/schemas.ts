// Zod shapes shared by the routes: path parameters, problem bodies, lists and operations.
import { z } from 'zod'
import { ERROR_CODES } from '../errors.js'
import { PROBLEM_CODES_DESCRIPTION } from '../http/openapi-problems.js'
import { identifierSchema, itemRecordSchema, sourceSchema, statusSchema, kindSchema, SOURCES, STATUSES } from '../staging/record.js'

export const itemParams = z.object({ source: sourceSchema, document_id: identifierSchema })

export const problemSchema = z
  .object({
    type: z.string().meta({ description: 'URI of the problem type: `urn:apex-staging:problem:<code>`', example: 'urn:apex-staging:problem:NotFound' }),
    title: z.string().meta({ description: 'Short summary of the code; the same for every occurrence', example: 'No such item' }),
    status: z.number().int().meta({ description: 'The HTTP status of this answer', example: 404 }),
    detail: z.string().meta({ description: 'What went wrong in this request, for humans; never contains secrets', example: 'no item local_upload/DOC-123' }),
    code: z.enum(ERROR_CODES).meta({ description: PROBLEM_CODES_DESCRIPTION, example: 'NotFound' }),
    retryable: z.boolean().meta({ description: 'Whether the same request may succeed later (a retry with backoff may help)', example: false }),
    instance: z.string().optional().meta({ description: 'The request path', example: '/v1/staging/local_upload/DOC-123' }),
    request_id: z.string().optional().meta({ description: 'The request id, also in the service log (and echoed from X-Request-Id when sent)', example: '5f0c6a3e-2b1d-4c8e-9a7f-1e2d3c4b5a69' }),
    errors: z.array(z.object({ field: z.string().meta({ description: 'Where: `body.x`, `query.x`, `params.x` or `headers.x`', example: 'body.document_id' }), message: z.string().meta({ description: 'What is wrong with it', example: 'Required' }) })).optional().meta({ description: 'ValidationError only: one entry per bad field' })
  })
  .loose()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (`application/problem+json`) with a stable `code` and a `retryable` flag; more members may be added' })

/** Problem responses for the given statuses, for a route's schema.response. */
export function problems(...statuses: number[]): Record<number, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema]))
}

const booleanish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')
  .meta({ description: 'A boolean; the strings `true`, `false`, `1` and `0` are accepted too', example: false })

export const listQuery = z.object({
  status: statusSchema.optional(),
  source: sourceSchema.optional(),
  kind: kindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'Page size', example: 100 }),
  cursor: z.string().max(512).optional().meta({ description: 'next_cursor of the previous page (opaque)', example: 'bG9jYWxfdXBsb2FkL0RPQy0xMjM' })
})

export const listResponse = z.object({
  items: z.array(itemRecordSchema).meta({ description: 'Records in (source, document_id) order, matching every filter given' }),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page', example: null })
})

export const patchBody = z.object({
  status: statusSchema.meta({ description: 'The new status. Allowed: active → success | failed, failed → active, or the current status (a heartbeat that refreshes updated_at); anything else is 409 InvalidTransition' }),
  error: z.string().max(4096).nullable().optional().meta({ description: 'Why it failed (kept in the record while failed)', example: 'parser crashed' })
})

export const completeBody = z.object({
  status: z.enum(['success', 'failed']).meta({ description: '`success` removes the item now; `failed` marks it failed and keeps it until it expires', example: 'success' }),
  error: z.string().max(4096).nullable().optional().meta({ description: 'Why ingestion failed (with `failed`)', example: 'parser crashed' })
})

export const completeResponse = z.object({
  source: sourceSchema,
  document_id: identifierSchema,
  status: z.enum(['success', 'failed']).meta({ description: 'The status asked for', example: 'success' }),
  removed: z.boolean().meta({ description: 'Whether this call removed the item directory (false when it was already gone, or with `failed`)', example: true })
})

export const cleanupQuery = z.object({ dry_run: booleanish.default(false).meta({ description: 'Report what the sweep would do and change nothing', example: true }) })

export const sweepResultSchema = z
  .object({
    dry_run: z.boolean().meta({ description: 'True when nothing was changed', example: false }),
    scanned: z.number().int().meta({ description: 'Items looked at', example: 42 }),
    removed: z.number().int().meta({ description: 'Items removed (expired failed items and success items)', example: 3 }),
    bytes_freed: z.number().int().meta({ description: 'Bytes of the removed items and orphans', example: 123456 }),
    marked_abandoned: z.number().int().meta({ description: 'Active items not touched for STAGING_ABANDONED_AFTER_HOURS, now failed with error `abandoned`', example: 1 }),
    orphans_removed: z.number().int().meta({ description: 'Directories without valid metadata and temp entries older than an hour, removed', example: 0 }),
    errors: z.number().int().meta({ description: 'Entries the sweep could not handle (logged; retried next sweep)', example: 0 }),
    duration_ms: z.number().int().meta({ description: 'How long the sweep took', example: 12 }),
    items: z.array(
      z.object({
        source: sourceSchema,
        document_id: z.string().meta({ description: 'The item (or orphan directory) name', example: 'DOC-123' }),
        reason: z.enum(['expired', 'success', 'abandoned', 'orphan']).meta({ description: '`expired`: failed past expires_at, removed; `success`: removed; `abandoned`: marked failed; `orphan`: removed', example: 'expired' })
      })
    ).meta({ description: 'What was (or, in a dry run, would be) done, at most 1000 entries' })
  })
  .meta({ id: 'SweepResult', description: 'The outcome of one cleanup sweep' })

const countsBy = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int().meta({ description: `Items with this status`, example: 1 })])) as Record<T[number], z.ZodNumber>)

export const statsResponse = z.object({
  total_documents: z.number().int().meta({ description: 'Staged items of every kind and status', example: 3 }),
  by_status: countsBy(STATUSES).meta({ description: 'Items per status; all three statuses are always listed' }),
  by_source: z.partialRecord(sourceSchema, z.number().int()).meta({ description: 'Items per source; sources without items are left out', example: { frontapp: 2, samsara: 1 } }),
  disk_usage: z.object({
    total_bytes: z.number().int().meta({ description: 'Bytes of all staged files', example: 123 }),
    total_gb: z.number().meta({ description: 'total_bytes in GiB', example: 0 }),
    document_count: z.number().int().meta({ description: 'Items counted', example: 3 }),
    by_source: z.partialRecord(sourceSchema, z.number().int()).meta({ description: 'Bytes per source', example: { frontapp: 100, samsara: 23 } })
  }).meta({ description: 'Disk used by staged files' }),
  quota: z.object({
    max_bytes: z.number().int().meta({ description: 'STAGING_MAX_SIZE_GB in bytes', example: 10737418240 }),
    used_ratio: z.number().meta({ description: '(staged + reserved bytes) / max_bytes', example: 0 }),
    reserved_bytes: z.number().int().meta({ description: 'Bytes held by writes in flight', example: 0 })
  }).meta({ description: 'The staging quota' }),
  cleanup: z.object({
    last_run_at: z.string().nullable().meta({ description: 'When the last sweep finished (ISO 8601), or null before the first', example: '2026-01-05T10:30:00.000Z' }),
    last_result: sweepResultSchema.nullable().meta({ description: 'The last sweep\'s result, or null before the first' }),
    next_run_at: z.string().nullable().meta({ description: 'When the scheduled sweep runs next, or null when no schedule runs', example: '2026-01-05T11:30:00.000Z' })
  }).meta({ description: 'The cleanup sweep' })
})

export const booleanField = booleanish
export { SOURCES }

/** Fields of a multipart upload (the file itself is streamed, not validated here). */
export const uploadFields = z.object({
  document_id: identifierSchema,
  source: sourceSchema.default('local_upload'),
  overwrite: booleanish.default(false).meta({ description: 'Replace an existing item with different content instead of answering 409 Conflict' })
})

/** The JSON variant of POST /v1/documents: the service fetches or moves the document itself. */
export const pullBody = z
  .object({
    document_id: identifierSchema,
    source: sourceSchema,
    source_location: z.string().min(1).max(8192).meta({
      description: '`http`/`https`: a URL whose scheme equals `source`; `frontapp`: an attachment URL on FRONTAPP_BASE_URL or a `fil_…` id; `local_upload`: a path inside STAGING_LOCAL_IMPORT_DIR',
      example: 'https://files.example.com/invoices/2026-01.pdf'
    }),
    filename: z.string().min(1).max(255).optional().meta({ description: 'Name to store the file under (sanitised); default: from the upstream or the URL', example: 'invoice-2026-01.pdf' }),
    overwrite: booleanish.default(false).meta({ description: 'Replace an existing item with different content instead of answering 409 Conflict' })
  })
  .meta({ id: 'PullRequest', description: 'Ask the service to fetch (http, https, frontapp) or move (local_upload) a document' })

export type PullBody = z.infer<typeof pullBody>
