// What one app instance owns: the store, the sweep and its schedule, the clock. Nothing is module-global.
import type { LookupFunction } from 'node:net'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import { CleanupJob } from './jobs/cleanup-job.js'
import { systemClock, type Clock } from './staging/clock.js'
import type { StagingObserver } from './staging/observer.js'
import type { DocumentPuller } from './staging/puller.js'
import { cleanupIntervalSeconds } from './metrics/cleanup-interval.js'
import { fanOut } from './metrics/fan-out.js'
import { EventMetrics } from './metrics/event-metrics.js'
import { StagingMetrics } from './metrics/staging-metrics.js'
import { EventPusher } from './events/event-pusher.js'
import { FleetPusher } from './events/fleet-pusher.js'
import { FilePushCursor, type PushCursor } from './events/push-cursor.js'
import { WebhookSigner } from './events/webhook-signer.js'
import type { BackoffOptions } from './upstream/retry-policy.js'
import { createDocumentPuller } from './pulls/document-puller.js'
import type { StagingEngine, Sweeper } from './staging/engine.js'
import type { SharedEngine } from './staging/shared/shared-engine.js'
import { EVENTS_DIR, LocalEngine } from './staging/local-engine.js'
import { TMP_DIR } from './staging/load-tree.js'
import type { HashWorkers, HashWorkersOptions } from './staging/hash-workers.js'
import type { PreparedTree } from './staging/prepared-tree.js'
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
  /** Backoff between failed event-push rounds; tests shrink it. */
  pushBackoff?: Partial<Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'random'>>
  /** Shared engine: how often a standby replica tries for the push lock (default 3 s); tests shrink it. */
  pushLockRetryMs?: number
  /** Local engine: where drafts hash large bodies (default: the store's own); tests pass failing ones. */
  hashWorkers?: HashWorkers
  /** Local engine: the store's own hash workers' 'auto' threshold, window and spell; tests shrink them. */
  autoCheck?: HashWorkersOptions['autoCheck']
  /** Local engine: the tree already taken and being read by the process entry (src/server.ts). */
  preparedTree?: PreparedTree
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
  /**
   * Push delivery of the event feed (STAGING_EVENTS_URL); null when not configured or no feed. Under
   * the shared engine a FleetPusher: it delivers only while this replica holds the fleet's push lock.
   */
  pusher: EventPusher | FleetPusher | null
}

export async function createServices(config: Config, log: FastifyBaseLogger, deps: ServiceDeps = {}): Promise<StagingServices> {
  const clock = deps.clock ?? systemClock
  const metrics = new StagingMetrics()
  const observer = deps.observer ? fanOut(metrics, deps.observer) : metrics
  const engine = await createEngine(config, clock, observer, log, deps)
  const sweeper = engine.createSweeper({ abandonedAfterMs: config.abandonedAfterMs, log: (msg, err) => log.warn({ err }, msg) })
  const cleanupJob = new CleanupJob({
    sweeper,
    intervalMs: config.cleanupIntervalMs,
    cronExpression: config.cleanupCron,
    log
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
  // Caller-supplied URLs and the configured push receiver are held to the same SSRF policy.
  const httpGuard = new AddressGuard({ allowHosts: config.httpAllowHosts, lookup: deps.lookup })
  const pusher = createPusher(config, engine, upstream, httpGuard, log, deps)
  const puller = createDocumentPuller({
    config,
    engine,
    upstream,
    httpGuard,
    frontGuard: new AddressGuard({ allowHosts: [new URL(config.frontapp.baseUrl).host], lookup: deps.lookup })
  })
  const structured = createStructuredStager(config, engine, observer, upstream)
  const eventMetrics = new EventMetrics(metrics.registry, {
    head: () => engine.events?.head ?? 0,
    delivered: () => pusher?.delivered ?? 0,
    pending: () => pusher?.pending ?? 0,
    standby: () => pusher instanceof FleetPusher && pusher.standby
  })
  pusher?.observe(eventMetrics)
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
    structured,
    pusher
  }
}

function createPusher(
  config: Config,
  engine: StagingEngine,
  upstream: UpstreamClient,
  guard: AddressGuard,
  log: FastifyBaseLogger,
  deps: ServiceDeps
): EventPusher | FleetPusher | null {
  if (config.events.pushUrl === '') return null
  if (!engine.events) {
    log.warn({ engine: engine.name }, 'STAGING_EVENTS_URL is set but this engine writes no event feed; nothing is pushed')
    return null
  }
  const feed = engine.events
  const origin = new URL(config.events.pushUrl).origin
  const pusherOn = (cursor: PushCursor) =>
    new EventPusher({ feed, url: config.events.pushUrl, signer: new WebhookSigner(config.events.secret), cursor, upstream, guard, log, backoff: deps.pushBackoff })
  if (engine instanceof LocalEngine) return pusherOn(new FilePushCursor(join(config.baseDir, EVENTS_DIR, 'push-cursor.json'), join(config.baseDir, TMP_DIR), origin))
  // Shared: every replica has the feed, but only the holder of the fleet's push lock delivers.
  const retryMs = deps.pushLockRetryMs ?? 3000
  const lock = (engine as SharedEngine).pushLock(origin, retryMs)
  return new FleetPusher({ feed, lock, createPusher: pusherOn, retryMs, log })
}

async function createEngine(config: Config, clock: Clock, observer: StagingObserver, log: FastifyBaseLogger, deps: ServiceDeps): Promise<StagingEngine> {
  const limits = { maxTotalBytes: config.maxTotalBytes, maxDocumentBytes: config.maxDocumentBytes }
  if (config.storage.engine === 'shared') {
    // Loaded only when chosen: the AWS SDK and pg would otherwise slow every local start.
    const { SharedEngine } = await import('./staging/shared/shared-engine.js')
    return new SharedEngine({ databaseUrl: config.storage.databaseUrl, s3: config.storage.s3, clock, limits, failedRetentionMs: config.failedRetentionMs, observer, log, eventMaxAgeMs: config.events.maxAgeMs })
  }
  const { segmentBytes, maxBytes, maxAgeMs } = config.events
  return new LocalEngine({ baseDir: config.baseDir, clock, limits, failedRetentionMs: config.failedRetentionMs, observer, eventLog: { segmentBytes, maxBytes, maxAgeMs }, hashWorkers: deps.hashWorkers, autoCheck: deps.autoCheck, directWrites: config.directWrites, log, prepared: deps.preparedTree })
}
