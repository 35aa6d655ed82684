// /v1/staging: list, read, download, change status, complete and delete staged items.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError } from '../errors.js'
import { etagMatches, parseRange } from '../http/range.js'
import { itemRecordSchema, itemKey, ID_PATTERN, SOURCES, type Source } from '../staging/record.js'
import type { StagingServices } from '../services.js'
import { jsonResponse } from './responses.js'
import { contentRequestHeaders, contentResponses } from './content-schemas.js'
import { completeBody, completeResponse, itemParams, listQuery, listResponse, patchBody, problems } from './schemas.js'

const encodeCursor = (key: string) => Buffer.from(key).toString('base64url')

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString()
  const [source, id, ...rest] = key.split('/')
  if (rest.length > 0 || !SOURCES.includes(source as Source) || !ID_PATTERN.test(id ?? '')) {
    throw new AppError('ValidationError', 'query.cursor: not a cursor this service issued', {
      extra: { errors: [{ field: 'query.cursor', message: 'not a cursor this service issued' }] }
    })
  }
  return itemKey(source as Source, id as string)
}

function contentDisposition(stored: string): string {
  // Items stored before names were cleaned may hold a lone surrogate, which encodeURIComponent refuses.
  const filename = stored.replace(/\p{Cs}/gu, '\uFFFD')
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}

export const itemRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const { engine } = services
  // Bodies here are JSON only: without this, Fastify's default text/plain parser turns a wrong content type into 400, not 415.
  app.removeContentTypeParser('text/plain')
  const ingest = { access: 'ingest' as const }

  app.get('/v1/staging', {
    config: ingest,
    schema: {
      summary: 'List staged items',
      operationId: 'listItems',
      querystring: listQuery,
      response: { 200: jsonResponse('One page of records', listResponse), ...problems(400, 401) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const page = await engine.list(filter, limit, cursor === undefined ? undefined : decodeCursor(cursor))
    return { items: page.items, next_cursor: page.nextKey === null ? null : encodeCursor(page.nextKey) }
  })

  app.get('/v1/staging/:source/:document_id', {
    config: ingest,
    schema: {
      summary: 'Read one item record',
      operationId: 'getItem',
      params: itemParams,
      response: { 200: jsonResponse('The item record', itemRecordSchema), ...problems(400, 401, 404) }
    }
  }, async (request) => engine.require(request.params.source, request.params.document_id))

  app.get('/v1/staging/:source/:document_id/content', {
    config: ingest,
    schema: {
      summary: 'Download the staged bytes',
      operationId: 'getItemContent',
      params: itemParams,
      headers: contentRequestHeaders,
      response: { ...contentResponses, ...problems(400, 401, 404) }
    }
  }, async (request, reply) => {
    const record = await engine.require(request.params.source, request.params.document_id)
    const etag = `"${record.sha256}"`
    reply.header('etag', etag).header('accept-ranges', 'bytes').header('cache-control', 'private, no-cache')
    // No body, so no Content-Type or Content-Length of one (send(null) would serialise a JSON `null`).
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send()
    const size = record.file_size_bytes
    const range = parseRange(request.headers.range, size)
    reply.type(record.content_type).header('content-disposition', contentDisposition(record.filename))
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${size}`)
      throw new AppError('ValidationError', `the range is outside the ${size} bytes of this item`, { status: 416 })
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1]
    // Opened before the headers go out, so a vanished item is still a 404.
    const body = size === 0 ? null : await engine.readRange(record, start, end)
    if (range.kind === 'partial') reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`)
    reply.header('content-length', String(Math.max(0, end - start + 1)))
    return reply.send(body ?? '')
  })

  app.patch('/v1/staging/:source/:document_id', {
    config: ingest,
    schema: {
      summary: 'Change an item status (also a heartbeat for active items)',
      operationId: 'updateItemStatus',
      params: itemParams,
      body: patchBody,
      response: { 200: jsonResponse('The updated record', itemRecordSchema), ...problems(400, 401, 404, 409, 415) }
    }
  }, async (request) => {
    const { source, document_id } = request.params
    return engine.setStatus(source, document_id, request.body.status, request.body.error)
  })

  app.post('/v1/staging/:source/:document_id/cleanup', {
    config: ingest,
    schema: {
      summary: 'End of ingestion: remove the item (success) or keep it as failed',
      operationId: 'completeItem',
      params: itemParams,
      body: completeBody,
      response: { 200: jsonResponse('Done; repeating the call is harmless', completeResponse), ...problems(400, 401, 409, 415) }
    }
  }, async (request) => {
    const { source, document_id } = request.params
    const { status, error } = request.body
    if (status === 'success') {
      const removed = await engine.remove(source, document_id, 'success')
      return { source, document_id, status, removed: removed !== undefined }
    }
    if (await engine.get(source, document_id)) {
      await engine.setStatus(source, document_id, 'failed', error ?? null).catch((err: unknown) => {
        // Removed between the look-up and the change: as harmless as if it had been gone before.
        if (!(err instanceof AppError && err.code === 'NotFound')) throw err
      })
    }
    return { source, document_id, status, removed: false }
  })

  app.delete('/v1/staging/:source/:document_id', {
    config: { access: 'operator' },
    schema: {
      summary: 'Delete an item now (operator)',
      operationId: 'deleteItem',
      params: itemParams,
      response: { 204: z.null().meta({ description: 'Deleted' }), ...problems(400, 401, 403, 404) }
    }
  }, async (request, reply) => {
    const { source, document_id } = request.params
    const removed = await engine.remove(source, document_id, 'deleted')
    if (!removed) throw new AppError('NotFound', `no item ${source}/${document_id}`)
    return reply.code(204).send(null)
  })
}
