// The HTTP request duration histogram: every answered request, labelled by route template so that
// ids in paths never become label values; requests that matched no route are labelled "unmatched".
import type { FastifyInstance } from 'fastify'
import type { StagingMetrics } from './staging-metrics.js'

export const UNMATCHED_ROUTE = 'unmatched'

export function registerHttpMetrics(app: FastifyInstance, metrics: StagingMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { route: request.routeOptions.url ?? UNMATCHED_ROUTE, method: request.method, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000
    )
  })
}
