// Liveness and readiness.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { StagingServices } from '../services.js'

const readiness = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ staging_tree_loaded: z.boolean(), staging_tree_writable: z.boolean() })
})

export const healthRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { summary: 'Liveness', operationId: 'healthz', response: { 200: z.object({ status: z.literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { access: 'public' },
    schema: { summary: 'Readiness: the staging tree is loaded and writable', operationId: 'readyz', response: { 200: readiness, 503: readiness } }
  }, async (_request, reply) => {
    const checks = { staging_tree_loaded: services.store.loaded, staging_tree_writable: await services.store.checkWritable() }
    const ok = checks.staging_tree_loaded && checks.staging_tree_writable
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks })
  })
}
