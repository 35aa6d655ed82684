// The documented shapes of POST /v1/documents beyond the JSON body: the multipart form and the two success answers.
import { z } from 'zod'
import { itemRecordSchema } from '../staging/record.js'
import { jsonResponse } from './responses.js'
import { uploadFields } from './schemas.js'

/**
 * The multipart form, for the OpenAPI document only (route schema `multipartBody`): the handler
 * streams the parts itself and validates the fields with uploadFields.
 */
export const uploadForm = uploadFields
  .extend({
    file: z.any().meta({
      type: 'string',
      format: 'binary',
      description: 'The document: exactly one file part named `file`, after the other fields. Its filename is sanitised and kept as `original_filename`; its Content-Type becomes `content_type` (default `application/octet-stream`).'
    })
  })
  .meta({ id: 'UploadForm', description: 'A multipart upload: the file is streamed to disk, hashed and committed atomically' })

const location = {
  Location: {
    type: 'string',
    description: 'Where the record can be read: `/v1/staging/{source}/{document_id}`',
    example: '/v1/staging/local_upload/DOC-123'
  }
}

export const stagedResponses = {
  200: jsonResponse('The same bytes (sha256) are already staged as an `active` item: nothing changed, this is its record', itemRecordSchema, location),
  201: jsonResponse('Staged (or replaced, with `overwrite`): the new record', itemRecordSchema, location)
}

export const STAGE_DOCUMENT_DESCRIPTION = `Two request forms:

- \`multipart/form-data\` uploads the bytes (\`UploadForm\`). Fields sent before the file are checked before any byte is written.
- \`application/json\` asks the service to fetch or move the document itself (\`PullRequest\`):
  \`http\`/\`https\` URLs (at most 5 redirects, every hop checked; private, loopback and link-local targets are
  \`SourceNotAllowed\` unless allowed by STAGING_HTTP_ALLOW_HOSTS), \`frontapp\` attachment URLs or \`fil_…\` ids,
  and \`local_upload\` paths inside STAGING_LOCAL_IMPORT_DIR.

Staging the same \`source\` + \`document_id\` again: identical bytes of an \`active\` item answer 200 with the existing
record; other bytes are \`409 Conflict\` unless \`overwrite\` is true, which replaces the item atomically.
The size cap (413) and the quota (507) are checked up front from Content-Length and again while streaming.
A failed request leaves nothing behind.`
