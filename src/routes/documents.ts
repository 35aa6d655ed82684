// POST /v1/documents: a streamed multipart upload, or a JSON request that the service pulls itself.
import multipart from '@fastify/multipart'
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError, isAppError } from '../errors.js'
import { expectedSha256 } from '../http/repr-digest.js'
import type { CommitResult, StagingDraft } from '../staging/engine.js'
import { sanitiseFilename } from '../staging/filename.js'
import type { StagingServices } from '../services.js'
import { STAGE_DOCUMENT_DESCRIPTION, stagedResponses, uploadForm } from './document-schemas.js'
import { reprDigestHeader } from './raw-upload-schemas.js'
import { problems, pullBody, uploadFields } from './schemas.js'

/** Room for multipart boundaries and the small fields around the file. */
const MULTIPART_OVERHEAD = 64 * 1024
/** Fields sent before the file; made once (a zod schema compiles its fast path on first use). */
const earlyFields = uploadFields.partial()

function fieldErrors(issues: { path: PropertyKey[]; message: string }[]): AppError {
  const errors = issues.map((i) => ({ field: `body.${i.path.map(String).join('.')}`, message: i.message }))
  return new AppError('ValidationError', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { extra: { errors } })
}

/**
 * busboy reports a body it cannot parse (no or an over-long boundary, a truncated or malformed part)
 * as a plain Error: that is the client's fault, a 400, never a 500.
 */
const MULTIPART_FAULT = /multipart|boundary|needle|terminated early|malformed|unexpected end/i

function multipartFault(err: unknown): unknown {
  if (isAppError(err) || !(err instanceof Error) || (err as NodeJS.ErrnoException).code !== undefined) return err
  if (!MULTIPART_FAULT.test(err.message)) return err
  return new AppError('ValidationError', `body: the multipart body is malformed (${err.message})`, {
    extra: { errors: [{ field: 'body', message: err.message }] }
  })
}

export const documentRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const { engine, config } = services
  await app.register(multipart, {
    throwFileSizeLimit: true,
    // Keep the name as the client sent it (original_filename); sanitiseFilename makes the stored one.
    preservePath: true,
    // One byte over the cap so that our own meter, not busboy's truncation, reports the 413.
    limits: { fileSize: config.maxDocumentBytes + 1, files: 1, fields: 16, fieldSize: 8192, parts: 24, headerPairs: 100 }
  })

  async function upload(request: FastifyRequest): Promise<CommitResult> {
    const declared = Number(request.headers['content-length'])
    if (Number.isFinite(declared) && declared > 0) await engine.checkDeclared(Math.max(0, declared - MULTIPART_OVERHEAD))
    const expected = expectedSha256(request.headers['repr-digest'])
    const fields: Record<string, string> = {}
    let draft: StagingDraft | null = null
    let file: { originalName: string; contentType: string } | null = null
    try {
      for await (const part of request.parts()) {
        if (part.type === 'field') {
          fields[part.fieldname] = String(part.value)
          continue
        }
        if (part.fieldname !== 'file') throw new AppError('ValidationError', `body.${part.fieldname}: the file goes in a part named file`)
        // Fields sent before the file are checked before any byte is written.
        const early = earlyFields.safeParse(fields)
        if (!early.success) throw fieldErrors(early.error.issues)
        draft = await engine.openDraft()
        await draft.writeFile(sanitiseFilename(part.filename), part.file, { expectedSha256: expected })
        if (part.file.truncated) throw new AppError('PayloadTooLarge', `the item is larger than the cap of ${config.maxDocumentBytes} bytes`)
        file = { originalName: part.filename, contentType: part.mimetype || 'application/octet-stream' }
      }
      const parsed = uploadFields.safeParse(fields)
      if (!parsed.success) throw fieldErrors(parsed.error.issues)
      if (!draft || !file) throw new AppError('ValidationError', 'body.file: a file part named file is required')
      return await engine.commit(draft, {
        source: parsed.data.source,
        documentId: parsed.data.document_id,
        kind: 'document',
        contentType: file.contentType,
        originalFilename: file.originalName || null,
        sourceLocation: null,
        overwrite: parsed.data.overwrite
      })
    } catch (err) {
      throw multipartFault(err)
    } finally {
      await draft?.discard()
    }
  }

  app.post('/v1/documents', {
    config: { access: 'ingest' },
    schema: {
      summary: 'Stage a document: multipart upload, or a JSON pull from http(s), Front or the import directory',
      operationId: 'stageDocument',
      description: STAGE_DOCUMENT_DESCRIPTION,
      body: { content: { 'application/json': { schema: pullBody } } } as unknown as typeof pullBody,
      multipartBody: uploadForm,
      headers: z.object({ 'repr-digest': reprDigestHeader }).loose(),
      response: { ...stagedResponses, ...problems(400, 401, 403, 409, 413, 415, 422, 502, 504, 507) }
    }
  }, async (request, reply) => {
    let result: CommitResult
    if (request.isMultipart()) {
      result = await upload(request)
    } else if (request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === 'application/json') {
      // The response closing before it finished means the caller went away: stop the pull.
      // (request.raw 'close' fires as soon as the body has been read, so it cannot tell.)
      const controller = new AbortController()
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) controller.abort()
      })
      result = await services.puller.pull(pullBody.parse(request.body), controller.signal)
    } else {
      throw new AppError('UnsupportedMediaType', 'send multipart/form-data (an upload) or application/json (a pull)')
    }
    const { record, created } = result
    return reply
      .code(created ? 201 : 200)
      .header('location', `/v1/staging/${record.source}/${record.document_id}`)
      .send(record)
  })
}
