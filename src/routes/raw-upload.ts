// PUT /v1/staging/{source}/{document_id}: the request body is the document, streamed to disk as it
// arrives (no multipart parsing), the fast path for clients that can send bytes as they are.
import contentDisposition from 'content-disposition'
import type { FastifyRequest } from 'fastify'
import { PassThrough } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { AppError } from '../errors.js'
import { expectedSha256 } from '../http/repr-digest.js'
import { sanitiseFilename } from '../staging/filename.js'
import type { StagingServices } from '../services.js'
import { stagedResponses } from './document-schemas.js'
import { PUT_DOCUMENT_DESCRIPTION, rawBody, rawUploadHeaders, rawUploadQuery } from './raw-upload-schemas.js'
import { itemParams, problems } from './schemas.js'

function headerError(field: string, message: string): AppError {
  return new AppError('ValidationError', `${field}: ${message}`, { extra: { errors: [{ field, message }] } })
}

/** Content-Disposition's filename (filename* preferred, as RFC 6266 says), else null. */
function dispositionFilename(header: string | undefined): string | null {
  if (!header) return null
  try {
    return contentDisposition.parse(header).parameters.filename ?? null
  } catch {
    throw headerError('header.content-disposition', 'not a valid Content-Disposition value')
  }
}

/** Content-Length as a number, or null for a chunked body. */
function declaredLength(request: FastifyRequest): number | null {
  const raw = request.headers['content-length']
  if (raw === undefined) return null
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw headerError('header.content-length', 'must be a whole number of bytes')
  return n
}

export const rawUploadRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const { engine } = services
  // Whatever its media type, the body is the document: leave it unread for the handler to stream.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))

  app.put('/v1/staging/:source/:document_id', {
    config: { access: 'ingest' },
    schema: {
      summary: 'Stage a document from the raw request body',
      operationId: 'putDocument',
      description: PUT_DOCUMENT_DESCRIPTION,
      params: itemParams,
      querystring: rawUploadQuery,
      headers: rawUploadHeaders,
      rawBody,
      response: { ...stagedResponses, ...problems(400, 401, 409, 413, 507) }
    }
  }, async (request, reply) => {
    const { source, document_id: documentId } = request.params
    const given = dispositionFilename(request.headers['content-disposition']) ?? request.query.filename ?? documentId
    const { record, created } = await engine.stage(
      {
        source,
        documentId,
        kind: 'document',
        filename: sanitiseFilename(given, documentId),
        contentType: request.headers['content-type'] || 'application/octet-stream',
        originalFilename: given,
        sourceLocation: null,
        overwrite: request.query.overwrite
      },
      // Through a PassThrough: when the draft refuses the body (over the cap, digest, disk full) the
      // stage's pipeline destroys what it reads from, and destroying request.raw would destroy the
      // socket before the 413 is sent (the client would see a reset, the log a 499). The body guard
      // drains what is left of request.raw after the answer.
      request.raw.pipe(new PassThrough({ highWaterMark: 1024 * 1024 })),
      { declaredBytes: declaredLength(request), expectedSha256: expectedSha256(request.headers['repr-digest']) }
    )
    return reply
      .code(created ? 201 : 200)
      .header('location', `/v1/staging/${record.source}/${record.document_id}`)
      .send(record)
  })
}
