// Request ids (an incoming X-Request-Id is kept when it is sane) and one log line per request.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID()
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The catalogue code of the error this request was answered with, for the request log line. */
    problemCode: string | null
  }
}

export function registerRequestLog(app: FastifyInstance): void {
  app.decorateRequest('problemCode', null)
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        // Who called (src/http/auth.ts): ingest, operator, metrics or anonymous, and the token's name when it has one.
        role: request.caller?.role ?? 'anonymous',
        ...(request.caller?.token_name ? { token_name: request.caller.token_name } : {}),
        ...(request.problemCode ? { code: request.problemCode } : {}),
        duration_ms: Math.round(reply.elapsedTime * 10) / 10
      },
      'request'
    )
  })
}
