// What one app instance owns: the store, the sweep and its schedule, the clock. Nothing is module-global.
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import { CleanupJob } from './jobs/cleanup-job.js'
import { systemClock, type Clock } from './staging/clock.js'
import { silentObserver, type StagingObserver } from './staging/observer.js'
import type { DocumentPuller } from './staging/puller.js'
import { AppError } from './errors.js'
import { StagingStore } from './staging/store.js'
import { CleanupSweeper } from './staging/sweep.js'
import { createStructuredStager, type StructuredStager } from './structured/create-stager.js'

export interface ServiceDeps {
  clock?: Clock
  observer?: StagingObserver
}

export interface StagingServices {
  config: Config
  clock: Clock
  observer: StagingObserver
  store: StagingStore
  sweeper: CleanupSweeper
  cleanupJob: CleanupJob
  puller: DocumentPuller
  structured: StructuredStager
}

export function createServices(config: Config, log: FastifyBaseLogger, deps: ServiceDeps = {}): StagingServices {
  const clock = deps.clock ?? systemClock
  const observer = deps.observer ?? silentObserver
  const store = new StagingStore({
    baseDir: config.baseDir,
    clock,
    limits: { maxTotalBytes: config.maxTotalBytes, maxDocumentBytes: config.maxDocumentBytes },
    failedRetentionMs: config.failedRetentionMs,
    observer
  })
  const sweeper = new CleanupSweeper({
    store,
    clock,
    abandonedAfterMs: config.abandonedAfterMs,
    observer,
    log: (msg, err) => log.warn({ err }, msg)
  })
  const cleanupJob = new CleanupJob({
    sweeper,
    intervalMs: config.cleanupIntervalMs,
    cronExpression: config.cleanupCron,
    onError: (err) => log.error({ err }, 'scheduled cleanup failed')
  })
  const puller: DocumentPuller = {
    pull: async (body) => {
      throw new AppError('SourceNotAllowed', `pulls from ${body.source} are not enabled in this build`)
    }
  }
  const structured = createStructuredStager(config, store, observer)
  return { config, clock, observer, store, sweeper, cleanupJob, puller, structured }
}
