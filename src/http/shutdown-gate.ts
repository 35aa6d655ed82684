// While the app closes, new requests on connections still open get a problem+json 503 (Unavailable)
// instead of Fastify's fixed plain-JSON answer; requests already past this gate run to completion.
import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'

export function registerShutdownGate(app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return
    reply.header('connection', 'close')
    throw new AppError('Unavailable', 'the service is shutting down; retry against another instance or in a moment')
  })
}
