// The item record: what .metadata.json holds and what the API returns, as one zod schema.
import { z } from 'zod'
import { ID_PATTERN, KINDS, SOURCES, STATUSES } from './record-names.js'

export { ID_PATTERN, KINDS, SOURCES, STATUSES }

export const sourceSchema = z.enum(SOURCES).meta({
  description: 'Where the item came from: `frontapp` (Front attachments and webhook payloads), `samsara`, `turvo`, `local_upload` (uploads and moves from the import directory), `http`, `https` (URL pulls)',
  example: 'frontapp'
})
export const statusSchema = z.enum(STATUSES).meta({
  description: 'Lifecycle status: `active` (staged, being ingested), `success` (ingested; removed by the next sweep), `failed` (kept until `expires_at`)',
  example: 'active'
})
export const kindSchema = z.enum(KINDS).meta({
  description: '`document` (a file) or `structured` (JSON data, stored as data.json)',
  example: 'document'
})

export type Source = z.infer<typeof sourceSchema>
export type Status = z.infer<typeof statusSchema>
export type Kind = z.infer<typeof kindSchema>

export const identifierSchema = z
  .string()
  .regex(ID_PATTERN, { error: 'must be 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit' })
  .meta({ description: '1-128 characters of A-Z a-z 0-9 . _ -, first a letter or digit', example: 'DOC-123' })

const timestamp = z.iso.datetime({ precision: 3 }).meta({ example: '2026-01-05T10:30:00.000Z' })

export const itemRecordSchema = z
  .object({
    document_id: identifierSchema.meta({ description: 'The item id within its source (for structured items, the `data_id`)' }),
    source: sourceSchema,
    kind: kindSchema,
    status: statusSchema,
    created_at: timestamp.meta({ description: 'When the item was first staged' }),
    updated_at: timestamp.meta({ description: 'Last change of the item or its status (a same-status PATCH refreshes it as a heartbeat)' }),
    file_path: z.string().meta({ description: 'Absolute path of the staged file on the service host', example: '/tmp/apex-staging/frontapp/DOC-123/document.pdf' }),
    filename: z.string().meta({ description: 'The sanitised stored filename (no path parts, no control characters, no leading dot)', example: 'document.pdf' }),
    original_filename: z.string().nullable().meta({ description: 'The filename as given by the client or upstream, or null when none was given', example: 'document.pdf' }),
    content_type: z.string().meta({ description: 'Media type served by /content (application/json for structured items)', example: 'application/pdf' }),
    file_size_bytes: z.number().int().nonnegative().meta({ description: 'Size of the staged file in bytes', example: 12345 }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).meta({ description: 'Lowercase hex sha256 of the staged bytes; also the ETag of /content', example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }),
    source_location: z.string().nullable().meta({ description: 'Where the bytes were fetched from, without credentials; null for uploads and for posted Front payloads', example: 'https://api2.frontapp.com/download/fil_abc' }),
    error: z.string().nullable().meta({ description: 'Why the item failed (`abandoned` when the sweep marked it); null otherwise', example: null }),
    expires_at: timestamp.nullable().meta({ description: 'While `failed`: when the sweep removes it (`updated_at` + retention); null otherwise', example: null })
  })
  .loose()
  .meta({ id: 'ItemRecord', description: 'A staged item, as stored in .metadata.json' })

export type ItemRecord = z.infer<typeof itemRecordSchema>

export function itemKey(source: Source, documentId: string): string {
  return `${source}/${documentId}`
}
