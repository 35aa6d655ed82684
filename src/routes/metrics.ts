// GET /metrics: this app's registry in the Prometheus text format (open unless STAGING_METRICS_TOKEN).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { StagingServices } from '../services.js'
import { problems } from './schemas.js'

export const metricsRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const { registry } = services.metrics
  app.get('/metrics', {
    config: { access: 'metrics' },
    schema: {
      summary: 'Prometheus metrics (needs the metrics token when STAGING_METRICS_TOKEN is set)',
      operationId: 'metrics',
      response: {
        200: {
          description: 'This instance\'s metrics in the Prometheus text exposition format (version 0.0.4)',
          content: { 'text/plain': { schema: z.string().meta({ example: 'staging_quota_bytes 10737418240' }) } }
        },
        ...problems(401)
      }
    }
  }, async (_request, reply) => {
    const text = await registry.metrics()
    return reply.type(registry.contentType).send(text)
  })
}
