// POST /v1/structured: fetch JSON from Samsara or Turvo (or take a Front payload) and stage it as data.json.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError } from '../errors.js'
import { identifierSchema, itemRecordSchema } from '../staging/record.js'
import type { StagingServices } from '../services.js'
import { STRUCTURED_SOURCES } from '../structured/structured-stager.js'
import { booleanField, problems } from './schemas.js'

export const structuredBody = z
  .object({
    data_id: identifierSchema,
    source: z.enum(STRUCTURED_SOURCES),
    source_location: z.string().min(1).meta({
      description: 'samsara/turvo: a path with query, or an absolute URL on the configured origin; frontapp: the webhook payload as a JSON string',
      example: '/fleet/vehicles/stats?types=gps'
    }),
    auth_token: z
      .string()
      .regex(/^\s*$|^\s*[\x21-\x7e]{1,8192}\s*$/, { error: 'must be 1-8192 printable characters without spaces' })
      .optional()
      // A blank token (an unset variable in the caller's template) means "none": the configured one is used.
      .transform((v) => v?.trim() || undefined)
      .meta({ description: 'bearer token for the upstream; blank or absent: the configured one. Never stored or logged' }),
    overwrite: booleanField.default(false).meta({ description: 'extension: replace an existing item with different content' })
  })
  .meta({ id: 'StructuredRequest' })

export const structuredRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const { config } = services
  app.post('/v1/structured', {
    config: { access: 'ingest' },
    // A Front payload arrives escaped inside a JSON string: leave room for a webhook-sized one.
    bodyLimit: Math.max(1024 * 1024, 2 * config.webhookMaxBytes + 64 * 1024),
    onRequest: async (request) => {
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/json') throw new AppError('UnsupportedMediaType', 'send the request as application/json')
    },
    schema: {
      summary: 'Fetch structured data from Samsara or Turvo, or stage a Front payload, as data.json',
      operationId: 'stageStructured',
      body: structuredBody,
      response: { 200: itemRecordSchema, 201: itemRecordSchema, ...problems(400, 401, 403, 409, 413, 415, 422, 502, 504, 507) }
    }
  }, async (request, reply) => {
    // The response stream closes early only when the caller went away; then stop fetching.
    // (The request stream's 'close' fires as soon as its body was read, so it cannot tell.)
    const controller = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort()
    })
    const { record, created } = await services.structured.stage(request.body, controller.signal)
    return reply
      .code(created ? 201 : 200)
      .header('location', `/v1/staging/${record.source}/${record.document_id}`)
      .send(record)
  })
}
