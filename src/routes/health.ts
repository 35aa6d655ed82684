// Liveness and readiness.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { StagingServices } from '../services.js'
import { PACKAGE_VERSION } from '../version.js'

const readiness = z.object({
  status: z.enum(['ok', 'unavailable']).meta({ description: '`ok` when every check passes', example: 'ok' }),
  checks: z.object({
    staging_tree_loaded: z.boolean().meta({ description: 'The staging tree was read into the index at start', example: true }),
    staging_tree_writable: z.boolean().meta({ description: 'The staging temp directory under STAGING_BASE_DIR is writable', example: true })
  }).meta({ description: 'Each readiness check and whether it passed' })
})

const liveness = z.object({
  status: z.literal('ok').meta({ description: 'Always `ok` while the process runs' }),
  version: z.string().meta({ description: 'The running version of apex-staging (package.json)', example: PACKAGE_VERSION })
}).meta({ description: 'The process is alive' })

export const healthRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { summary: 'Liveness', operationId: 'healthz', response: { 200: liveness } }
  }, async () => ({ status: 'ok' as const, version: PACKAGE_VERSION }))

  app.get('/readyz', {
    config: { access: 'public' },
    schema: { summary: 'Readiness: the staging tree is loaded and writable', operationId: 'readyz', response: { 200: readiness.meta({ description: 'Ready: the staging tree is loaded and writable' }), 503: readiness.meta({ description: 'Not ready; `checks` says which check failed' }) } }
  }, async (_request, reply) => {
    const checks = await services.engine.readiness()
    const ok = checks.staging_tree_loaded && checks.staging_tree_writable
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks })
  })
}
