// The documented shapes of PUT /v1/staging/{source}/{document_id}: query, headers and the raw body.
import { z } from 'zod'
import { booleanField } from './schemas.js'

export const rawUploadQuery = z.object({
  filename: z.string().min(1).max(1024).optional().meta({
    description: 'Name to store the file under (sanitised; kept as `original_filename`) when there is no Content-Disposition filename; default: the document_id',
    example: 'invoice-2026-01.pdf'
  }),
  overwrite: booleanField.default(false).meta({ description: 'Replace an existing item with different content instead of answering 409 Conflict' })
})

export const REPR_DIGEST_DESCRIPTION =
  'RFC 9530 `sha-256=:<base64>:` of the document\'s bytes; a body whose sha-256 differs is refused with 400 DigestMismatch and nothing is stored. Other algorithms are ignored.'

export const reprDigestHeader = z.string().optional().meta({ description: REPR_DIGEST_DESCRIPTION, example: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:' })

export const rawUploadHeaders = z
  .object({
    'content-type': z.string().optional().meta({ description: 'Stored as the item\'s `content_type` (default `application/octet-stream`)', example: 'application/pdf' }),
    'content-disposition': z.string().optional().meta({
      description: '`attachment; filename=…` (or `filename*=UTF-8\'\'…`) names the stored file; it wins over `?filename=`',
      example: 'attachment; filename="invoice-2026-01.pdf"'
    }),
    'repr-digest': reprDigestHeader
  })
  .loose()

export const rawBody = z.any().meta({
  type: 'string',
  format: 'binary',
  description: 'The document itself, any media type, streamed to disk as it arrives (no multipart parsing)'
})

export const PUT_DOCUMENT_DESCRIPTION = `The request body is the document (as S3 and tus take bytes): streamed to disk with its sha-256 computed on the way,
then committed atomically. \`Content-Type\` is stored; the filename comes from \`Content-Disposition: attachment; filename=…\`,
else \`?filename=\`, else the document_id.

Same answers, size checks and repeat rules as \`POST /v1/documents\`: identical bytes of an \`active\` item answer 200 with the
existing record; other bytes are \`409 Conflict\` unless \`?overwrite=true\`. The size cap (413) and the quota (507) are
checked up front from Content-Length and again while streaming. A failed request leaves nothing behind.`
