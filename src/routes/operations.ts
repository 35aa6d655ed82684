// Operations: one cleanup sweep now, and statistics from the index.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { StagingServices } from '../services.js'
import { computeStats } from '../staging/stats.js'
import { jsonResponse } from './responses.js'
import { cleanupQuery, problems, statsResponse, sweepResultSchema } from './schemas.js'

export const operationRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  app.post('/v1/cleanup', {
    config: { access: 'operator' },
    schema: {
      summary: 'Run one cleanup sweep now (operator)',
      operationId: 'runCleanup',
      querystring: cleanupQuery,
      response: { 200: jsonResponse('What the sweep did (or, with dry_run, would do)', sweepResultSchema), ...problems(400, 401, 403) }
    }
  }, async (request) => services.sweeper.run(request.query.dry_run))

  app.get('/v1/stats', {
    config: { access: 'ingest' },
    schema: {
      summary: 'Counts, disk usage, quota and cleanup state',
      operationId: 'getStats',
      response: { 200: jsonResponse('Current counts from the index (no disk scan)', statsResponse), ...problems(401) }
    }
  }, async () =>
    computeStats(await services.engine.totals(), services.engine.limits, {
      last: services.sweeper.lastRun,
      nextRunAt: services.cleanupJob.nextRunAt()
    })
  )
}
