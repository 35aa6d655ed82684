// buildApp(config, deps) → a Fastify instance with every route; no side effects beyond the instance.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { pino } from 'pino'
import type { Config } from './config.js'
import { registerAuth } from './http/auth.js'
import { registerOpenApi } from './http/openapi.js'
import { registerBodyGuard } from './http/body-guard.js'
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.js'
import { problemErrorHandler } from './http/problem.js'
import { registerRequestLog, requestId } from './http/request-log.js'
import { MAX_PARAM_LENGTH, registerRouteNotFound } from './http/route-not-found.js'
import { registerShutdownGate } from './http/shutdown-gate.js'
import { registerHttpMetrics } from './metrics/http-metrics.js'
import { documentRoutes } from './routes/documents.js'
import { eventRoutes } from './routes/events.js'
import { healthRoutes } from './routes/health.js'
import { itemRoutes } from './routes/items.js'
import { metricsRoutes } from './routes/metrics.js'
import { operationRoutes } from './routes/operations.js'
import { rawUploadRoutes } from './routes/raw-upload.js'
import { structuredRoutes } from './routes/structured.js'
import { webhookRoutes } from './routes/webhooks.js'
import { createServices, type ServiceDeps, type StagingServices } from './services.js'

/** How long after ready the upstream HTTP client is loaded (UpstreamClient.warm). */
const UPSTREAM_WARM_DELAY_MS = 2000

export interface AppDeps extends ServiceDeps {
  logger?: FastifyBaseLogger
  /** Start the in-process cleanup schedule on ready (default true). */
  schedule?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    staging: StagingServices
  }
}

/** Header and field names whose values must never reach a log line. */
export const REDACTED = [
  'req.headers.authorization',
  'req.headers["x-front-signature"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  // Plugins log option objects that carry the request headers (@fastify/multipart at trace level).
  'headers.authorization',
  '*.headers.authorization',
  '*.headers["x-front-signature"]',
  '*.headers["x-api-key"]',
  '*.headers.cookie',
  '*.auth_token',
  '*.token',
  '*.apiToken',
  '*.apiSecret',
  '*.appSecret',
  '*.apiKey',
  '*.databaseUrl',
  '*.secret',
  '*.headers["webhook-signature"]'
]

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): FastifyBaseLogger {
  const options = { level: config.logLevel, redact: { paths: REDACTED, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = deps.logger ?? createLogger(config)
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    bodyLimit: 1024 * 1024,
    // Ids are up to 128 characters (384 percent-encoded); find-my-way's default of 100 answered 414.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    // Deliberate timeouts (README, Settings): headers must arrive promptly, a whole request within a
    // bound, idle keep-alive sockets go; request bodies are watched by the body guard.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMs)
    },
    clientErrorHandler: clientErrorHandler(logger),
    // Our own gate answers requests that arrive while closing, as problem+json (src/http/shutdown-gate.ts).
    return503OnClosing: false,
    // Loading a large staging tree in onReady may take longer than avvio's 10 s default.
    pluginTimeout: 0
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(problemErrorHandler)
  registerRouteNotFound(app)

  const services = await createServices(config, app.log, deps)
  app.decorate('staging', services)
  registerBodyGuard(app, config.bodyGuard)
  registerRequestLog(app)
  registerShutdownGate(app)
  registerAuth(app, config)
  registerHttpMetrics(app, services.metrics)
  await registerOpenApi(app)

  await app.register(healthRoutes, { services })
  await app.register(documentRoutes, { services })
  await app.register(itemRoutes, { services })
  await app.register(rawUploadRoutes, { services })
  await app.register(operationRoutes, { services })
  await app.register(eventRoutes, { services })
  await app.register(structuredRoutes, { services })
  await app.register(webhookRoutes, { services })
  await app.register(metricsRoutes, { services })

  let warmTimer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    const report = await services.engine.init()
    app.log.info({ items: report.items, engine: services.engine.name, ...(report.index ? { index_from: report.index } : {}) }, 'staging store ready')
    const recovered = report.recoveredEvents
    if (recovered && recovered.staged + recovered.status_changed + recovered.removed > 0) {
      app.log.warn({ recovered_events: recovered }, 'events appended for changes that reached the tree without their event (an unclean stop)')
    }
    void report.fileCheck?.then((mismatched) => {
      if (mismatched.length > 0) app.log.warn({ items: mismatched.slice(0, 100), count: mismatched.length }, 'items whose data file does not match their record left the index; the next sweep removes them as orphans')
    })
    services.engine.warm()
    if (deps.schedule !== false) services.cleanupJob.start()
    // The upstream client's HTTP stack (undici) is loaded a moment after ready, off the start's path
    // and after the start's own work (the file check begins 1 s after ready); a pull before that waits for it.
    warmTimer = setTimeout(() => {
      services.upstream.warm().catch((err: unknown) => app.log.error({ err }, 'loading the upstream HTTP client failed'))
    }, UPSTREAM_WARM_DELAY_MS).unref()
    await services.pusher?.start()
  })
  // Push stops first: the feed's long-polls end on close, and the loop must not outlive the log.
  app.addHook('preClose', async () => {
    await services.pusher?.stop()
  })
  app.addHook('onClose', async () => {
    clearTimeout(warmTimer)
    await services.cleanupJob.stop()
    await services.upstream.close()
    await services.engine.close()
    services.metrics.close()
  })
  return app
}
