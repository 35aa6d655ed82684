// POST /v1/webhooks/frontapp: Front posts events here; authenticated by Front's signature, not a bearer.
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError } from '../errors.js'
import { identifierSchema } from '../staging/record.js'
import type { StagingServices } from '../services.js'
import { deliveryId, FrontDeliveries } from '../webhooks/front-deliveries.js'
import { verifyDelivery, type FrontSecrets } from '../webhooks/front-signature.js'
import { problems } from './schemas.js'

const deliveryResponse = z
  .object({ data_id: identifierSchema, status: z.enum(['staged', 'duplicate']) })
  .meta({ id: 'WebhookDelivery', description: 'A challenge request is answered with the challenge as text/plain instead' })

const REFUSALS = {
  not_configured: 'no Front webhook secret is configured; unsigned deliveries are refused',
  unsigned: 'the X-Front-Signature header is missing',
  bad_signature: 'the X-Front-Signature does not match the body',
  stale_timestamp: 'the X-Front-Request-Timestamp is more than 5 minutes off'
} as const

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export const webhookRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const { config, clock } = services
  const secrets: FrontSecrets = { apiSecret: config.frontapp.apiSecret, appSecret: config.frontapp.appSecret }
  const deliveries = new FrontDeliveries(services.engine, services.observer)

  // This scope only: the signature covers the exact bytes sent, so keep them and parse later.
  // Every other content type is left without a parser and answered 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: config.webhookMaxBytes }, (_request, body, done) => {
    done(null, body)
  })

  app.post('/v1/webhooks/frontapp', {
    config: { access: 'public' },
    bodyLimit: config.webhookMaxBytes,
    // Refuse before reading a byte of the body when it cannot possibly verify.
    onRequest: async (request) => {
      if (!secrets.apiSecret && !secrets.appSecret) throw new AppError('Unauthorized', REFUSALS.not_configured)
      if (!header(request, 'x-front-signature')) throw new AppError('Unauthorized', REFUSALS.unsigned)
    },
    schema: {
      summary: 'Receive a Front rule or application webhook (signature-authenticated)',
      operationId: 'receiveFrontWebhook',
      response: {
        200: {
          description: 'The delivery was verified: staged, or a duplicate of one already staged. A request with X-Front-Challenge is answered with the challenge value as text/plain.',
          content: {
            'application/json': { schema: deliveryResponse },
            'text/plain': { schema: z.string().meta({ description: 'The X-Front-Challenge value, echoed', example: 'chl_123' }) }
          }
        },
        ...problems(401, 413, 415, 422, 500, 507)
      }
    }
  }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const verdict = verifyDelivery(
      { raw, signature: header(request, 'x-front-signature'), timestamp: header(request, 'x-front-request-timestamp') },
      secrets,
      clock.now()
    )
    if (!verdict.ok) {
      request.log.warn({ reason: verdict.reason }, 'front webhook refused')
      throw new AppError('Unauthorized', REFUSALS[verdict.reason])
    }
    const challenge = header(request, 'x-front-challenge')
    if (challenge !== undefined) // A string with a non-JSON type is sent as is, past the JSON response serializer.
      return reply.code(200).type('text/plain; charset=utf-8').send(challenge as never)

    let event: unknown
    try {
      event = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new AppError('InvalidJSON', 'the webhook body is not valid JSON')
    }
    const result = await deliveries.deliver(deliveryId(event, raw), raw)
    request.log.info({ data_id: result.data_id, status: result.status, webhook: verdict.kind }, 'front webhook received')
    return reply.code(200).send(result)
  })
}
