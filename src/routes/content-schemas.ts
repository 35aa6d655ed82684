// Request headers and raw-byte responses of GET /v1/staging/{source}/{document_id}/content.
import { z } from 'zod'
import { problemSchema } from './schemas.js'

export const contentRequestHeaders = z
  .object({
    range: z.string().optional().meta({
      description: 'One byte range (`bytes=first-last`, `bytes=first-` or `bytes=-suffix`); several ranges or a malformed value are answered with the whole item',
      example: 'bytes=0-1023'
    }),
    'if-none-match': z.string().optional().meta({
      description: 'ETags the client already holds; when one names the current ETag the answer is 304 without a body',
      example: '"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"'
    })
  })
  .loose()

const header = (description: string, example: string) => ({ type: 'string', description, example })

const ETAG = header('`"<sha256>"` of the whole item, whatever range is served', '"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"')
const ACCEPT_RANGES = header('Always `bytes`', 'bytes')
const CONTENT_LENGTH = { type: 'integer', description: 'Bytes in this body', example: 12345 }
const CONTENT_DISPOSITION = header('`attachment` with the stored filename (ASCII `filename` and UTF-8 `filename*`)', 'attachment; filename="document.pdf"; filename*=UTF-8\'\'document.pdf')

/** Any media type: the answer carries the item's own content type. z.any keeps the handler free to send a stream. */
const rawBytes = (description: string) => ({
  '*/*': { schema: z.any().meta({ type: 'string', format: 'binary', description }) }
})

export const contentResponses = {
  200: {
    description: 'The whole item; `Content-Type` is the item\'s `content_type`',
    headers: { 'Content-Length': CONTENT_LENGTH, ETag: ETAG, 'Accept-Ranges': ACCEPT_RANGES, 'Content-Disposition': CONTENT_DISPOSITION },
    content: rawBytes('The staged bytes')
  },
  206: {
    description: 'The byte range asked for in `Range`; `Content-Type` is the item\'s `content_type`',
    headers: {
      'Content-Length': CONTENT_LENGTH,
      'Content-Range': header('`bytes first-last/size` of the served range', 'bytes 0-1023/12345'),
      ETag: ETAG,
      'Accept-Ranges': ACCEPT_RANGES,
      'Content-Disposition': CONTENT_DISPOSITION
    },
    content: rawBytes('The requested bytes')
  },
  304: z.null().meta({ description: 'Not modified: `If-None-Match` named the current ETag; no body' }),
  416: {
    description: '`ValidationError` with status 416: the range starts past the end of the item (or the item is empty)',
    headers: { 'Content-Range': header('`bytes */size`: the item\'s size', 'bytes */12345'), ETag: ETAG },
    content: { 'application/problem+json': { schema: problemSchema } }
  }
}
