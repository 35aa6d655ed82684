// What one app instance owns: the store, the sweep and its schedule, the clock. Nothing is module-global.
import type { LookupFunction } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import { CleanupJob } from './jobs/cleanup-job.js'
import { systemClock, type Clock } from './staging/clock.js'
import type { StagingObserver } from './staging/observer.js'
import type { DocumentPuller } from './staging/puller.js'
import { cleanupIntervalSeconds } from './metrics/cleanup-interval.js'
import { fanOut } from './metrics/fan-out.js'
import { StagingMetrics } from './metrics/staging-metrics.js'
import { createDocumentPuller } from './pulls/document-puller.js'
import type { StagingEngine, Sweeper } from './staging/engine.js'
import { LocalEngine } from './staging/local-engine.js'
import type { StagingStore } from './staging/store.js'
import { createStructuredStager, type StructuredStager } from './structured/create-stager.js'
import { AddressGuard } from './upstream/address-guard.js'
import { UpstreamClient, type UpstreamClientOptions } from './upstream/http-client.js'

export interface ServiceDeps {
  clock?: Clock
  /** An extra listener for domain events; the app's own metrics always receive them too. */
  observer?: StagingObserver
  /** Upstream client tuning (backoff, sleep); tests shrink waits with it. */
  upstream?: Pick<UpstreamClientOptions, 'backoff' | 'sleep' | 'ca'>
  /** DNS resolver for pulls (dns.lookup's signature); tests inject one instead of real DNS. */
  lookup?: LookupFunction
}

export interface StagingServices {
  config: Config
  clock: Clock
  observer: StagingObserver
  metrics: StagingMetrics
  /** The storage engine (STAGING_STORAGE) every route, puller and job goes through. */
  engine: StagingEngine
  /** The local engine's store (its tree and index); throws under the shared engine. */
  readonly store: StagingStore
  sweeper: Sweeper
  cleanupJob: CleanupJob
  puller: DocumentPuller
  /** The one HTTP client toward every upstream (pulls and structured clients); closed with the app. */
  upstream: UpstreamClient
  structured: StructuredStager
}

export async function createServices(config: Config, log: FastifyBaseLogger, deps: ServiceDeps = {}): Promise<StagingServices> {
  const clock = deps.clock ?? systemClock
  const metrics = new StagingMetrics()
  const observer = deps.observer ? fanOut(metrics, deps.observer) : metrics
  const engine = await createEngine(config, clock, observer, log)
  const sweeper = engine.createSweeper({ abandonedAfterMs: config.abandonedAfterMs, log: (msg, err) => log.warn({ err }, msg) })
  const cleanupJob = new CleanupJob({
    sweeper,
    intervalMs: config.cleanupIntervalMs,
    cronExpression: config.cleanupCron,
    onError: (err) => log.error({ err }, 'scheduled cleanup failed')
  })
  metrics.trackState({
    totals: () => engine.totals(),
    limits: engine.limits,
    cleanupIntervalSeconds: cleanupIntervalSeconds(config.cleanupIntervalMs, config.cleanupCron)
  })
  const upstream = new UpstreamClient({
    timeoutMs: config.upstreamTimeoutMs,
    retries: config.upstreamRetries,
    maxResponseBytes: config.maxDocumentBytes,
    observer,
    log,
    ...deps.upstream
  })
  const puller = createDocumentPuller({
    config,
    engine,
    upstream,
    httpGuard: new AddressGuard({ allowHosts: config.httpAllowHosts, lookup: deps.lookup }),
    frontGuard: new AddressGuard({ allowHosts: [new URL(config.frontapp.baseUrl).host], lookup: deps.lookup })
  })
  const structured = createStructuredStager(config, engine, observer, upstream)
  return {
    config,
    clock,
    observer,
    metrics,
    engine,
    get store(): StagingStore {
      if (!(engine instanceof LocalEngine)) throw new Error('the staging tree exists only under STAGING_STORAGE=local')
      return engine.store
    },
    sweeper,
    cleanupJob,
    puller,
    upstream,
    structured
  }
}

async function createEngine(config: Config, clock: Clock, observer: StagingObserver, log: FastifyBaseLogger): Promise<StagingEngine> {
  const limits = { maxTotalBytes: config.maxTotalBytes, maxDocumentBytes: config.maxDocumentBytes }
  if (config.storage.engine === 'shared') {
    // Loaded only when chosen: the AWS SDK and pg would otherwise slow every local start.
    const { SharedEngine } = await import('./staging/shared/shared-engine.js')
    return new SharedEngine({ databaseUrl: config.storage.databaseUrl, s3: config.storage.s3, clock, limits, failedRetentionMs: config.failedRetentionMs, observer, log })
  }
  const { segmentBytes, maxBytes, maxAgeMs } = config.events
  return new LocalEngine({ baseDir: config.baseDir, clock, limits, failedRetentionMs: config.failedRetentionMs, observer, eventLog: { segmentBytes, maxBytes, maxAgeMs } })
}
