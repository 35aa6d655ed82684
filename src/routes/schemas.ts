// Zod shapes shared by the routes: path parameters, problem bodies, lists and operations.
import { z } from 'zod'
import { ERROR_CODES } from '../errors.js'
import { identifierSchema, itemRecordSchema, sourceSchema, statusSchema, kindSchema, SOURCES, STATUSES } from '../staging/record.js'

export const itemParams = z.object({ source: sourceSchema, document_id: identifierSchema })

export const problemSchema = z
  .object({
    type: z.string().meta({ example: 'urn:apex-staging:problem:NotFound' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(ERROR_CODES),
    retryable: z.boolean(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional()
  })
  .loose()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable code' })

/** Problem responses for the given statuses, for a route's schema.response. */
export function problems(...statuses: number[]): Record<number, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema]))
}

const booleanish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')

export const listQuery = z.object({
  status: statusSchema.optional(),
  source: sourceSchema.optional(),
  kind: kindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional().meta({ description: 'next_cursor of the previous page' })
})

export const listResponse = z.object({
  items: z.array(itemRecordSchema),
  next_cursor: z.string().nullable()
})

export const patchBody = z.object({
  status: statusSchema,
  error: z.string().max(4096).nullable().optional()
})

export const completeBody = z.object({
  status: z.enum(['success', 'failed']),
  error: z.string().max(4096).nullable().optional()
})

export const completeResponse = z.object({
  source: sourceSchema,
  document_id: identifierSchema,
  status: z.enum(['success', 'failed']),
  removed: z.boolean()
})

export const cleanupQuery = z.object({ dry_run: booleanish.default(false) })

export const sweepResultSchema = z
  .object({
    dry_run: z.boolean(),
    scanned: z.number().int(),
    removed: z.number().int(),
    bytes_freed: z.number().int(),
    marked_abandoned: z.number().int(),
    orphans_removed: z.number().int(),
    errors: z.number().int(),
    duration_ms: z.number().int(),
    items: z.array(
      z.object({ source: sourceSchema, document_id: z.string(), reason: z.enum(['expired', 'success', 'abandoned', 'orphan']) })
    )
  })
  .meta({ id: 'SweepResult' })

const countsBy = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<T[number], z.ZodNumber>)

export const statsResponse = z.object({
  total_documents: z.number().int(),
  by_status: countsBy(STATUSES),
  by_source: z.partialRecord(sourceSchema, z.number().int()),
  disk_usage: z.object({
    total_bytes: z.number().int(),
    total_gb: z.number(),
    document_count: z.number().int(),
    by_source: z.partialRecord(sourceSchema, z.number().int())
  }),
  quota: z.object({ max_bytes: z.number().int(), used_ratio: z.number(), reserved_bytes: z.number().int() }),
  cleanup: z.object({
    last_run_at: z.string().nullable(),
    last_result: sweepResultSchema.nullable(),
    next_run_at: z.string().nullable()
  })
})

export const booleanField = booleanish
export { SOURCES }

/** Fields of a multipart upload (the file itself is streamed, not validated here). */
export const uploadFields = z.object({
  document_id: identifierSchema,
  source: sourceSchema.default('local_upload'),
  overwrite: booleanish.default(false)
})

/** The JSON variant of POST /v1/documents: the service fetches or moves the document itself. */
export const pullBody = z
  .object({
    document_id: identifierSchema,
    source: sourceSchema,
    source_location: z.string().min(1).max(8192).meta({ example: 'https://files.example.com/invoices/2026-01.pdf' }),
    filename: z.string().min(1).max(255).optional(),
    overwrite: booleanish.default(false)
  })
  .meta({ id: 'PullRequest' })

export type PullBody = z.infer<typeof pullBody>
