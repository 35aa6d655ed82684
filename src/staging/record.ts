// The item record: what .metadata.json holds and what the API returns, as one zod schema.
import { z } from 'zod'

export const SOURCES = ['frontapp', 'samsara', 'turvo', 'local_upload', 'http', 'https'] as const
export const STATUSES = ['active', 'success', 'failed'] as const
export const KINDS = ['document', 'structured'] as const

export const sourceSchema = z.enum(SOURCES).meta({ description: 'Where the item came from', example: 'frontapp' })
export const statusSchema = z.enum(STATUSES).meta({ description: 'Lifecycle status', example: 'active' })
export const kindSchema = z.enum(KINDS).meta({ description: 'document (a file) or structured (JSON data)', example: 'document' })

export type Source = z.infer<typeof sourceSchema>
export type Status = z.infer<typeof statusSchema>
export type Kind = z.infer<typeof kindSchema>

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export const identifierSchema = z
  .string()
  .regex(ID_PATTERN, { error: 'must be 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit' })
  .meta({ example: 'DOC-123' })

const timestamp = z.iso.datetime({ precision: 3 }).meta({ example: '2026-01-05T10:30:00.000Z' })

export const itemRecordSchema = z
  .object({
    document_id: identifierSchema,
    source: sourceSchema,
    kind: kindSchema,
    status: statusSchema,
    created_at: timestamp,
    updated_at: timestamp,
    file_path: z.string().meta({ example: '/tmp/apex-staging/frontapp/DOC-123/document.pdf' }),
    filename: z.string().meta({ example: 'document.pdf' }),
    original_filename: z.string().nullable().meta({ example: 'document.pdf' }),
    content_type: z.string().meta({ example: 'application/pdf' }),
    file_size_bytes: z.number().int().nonnegative().meta({ example: 12345 }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).meta({ example: 'a'.repeat(64) }),
    source_location: z.string().nullable().meta({ example: 'https://api2.frontapp.com/download/fil_abc' }),
    error: z.string().nullable().meta({ example: null }),
    expires_at: timestamp.nullable()
  })
  .loose()
  .meta({ id: 'ItemRecord', description: 'A staged item, as stored in .metadata.json' })

export type ItemRecord = z.infer<typeof itemRecordSchema>

export function itemKey(source: Source, documentId: string): string {
  return `${source}/${documentId}`
}
