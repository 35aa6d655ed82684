// One Prometheus registry per app instance; it implements the domain's StagingObserver with counters
// and histograms, and adds gauges that are computed from the live index at every scrape.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { StagingObserver, SweepCounts } from '../staging/observer.js'
import { SOURCES, type Source } from '../staging/record.js'
import { ATTEMPT_OUTCOMES, UPSTREAM_NAMES } from '../upstream/upstream-errors.js'
import { PACKAGE_VERSION } from '../version.js'
import { registerStateGauges, type StateSource } from './state-gauges.js'
import { summariseEventLoopPerWindow } from './event-loop-window.js'

const REMOVAL_REASONS = ['success', 'expired', 'deleted', 'orphan'] as const

export class StagingMetrics implements StagingObserver {
  readonly registry = new Registry()
  /** Unix seconds of the last finished non-dry-run sweep; 0 until one has run. */
  lastSweepAt = 0

  private readonly bytes = new Counter({
    name: 'staging_bytes_written_total',
    help: 'Bytes of committed items, by source (an overwrite counts its new bytes again)',
    labelNames: ['source'] as const,
    registers: [this.registry]
  })
  private readonly committed = new Counter({
    name: 'staging_items_committed_total',
    help: 'Items committed to the staging tree (new or replaced), by source and kind',
    labelNames: ['source', 'kind'] as const,
    registers: [this.registry]
  })
  private readonly removed = new Counter({
    name: 'staging_items_removed_total',
    help: 'Items removed from the staging tree, by source and reason (success, expired, deleted, orphan)',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry]
  })
  private readonly cleanupSuccess = new Counter({
    name: 'staging_cleanup_success_total',
    help: 'Items removed because they succeeded (per-item cleanup call or sweep)',
    registers: [this.registry]
  })
  private readonly cleanupFailed = new Counter({
    name: 'staging_cleanup_failed_total',
    help: 'Failed items removed by the sweep after their retention expired',
    registers: [this.registry]
  })
  private readonly runs = new Counter({ name: 'staging_cleanup_runs_total', help: 'Cleanup sweeps finished (dry runs excluded)', registers: [this.registry] })
  private readonly sweepErrors = new Counter({
    name: 'staging_cleanup_errors_total',
    help: 'Errors met by cleanup sweeps (an item or directory the sweep could not handle)',
    registers: [this.registry]
  })
  private readonly abandoned = new Counter({
    name: 'staging_cleanup_marked_abandoned_total',
    help: 'Active items the sweep marked failed as abandoned',
    registers: [this.registry]
  })
  private readonly orphans = new Counter({
    name: 'staging_cleanup_orphans_removed_total',
    help: 'Orphan directories and stale temp entries removed by the sweep',
    registers: [this.registry]
  })
  private readonly sweepDuration = new Histogram({
    name: 'staging_cleanup_duration_seconds',
    help: 'Duration of cleanup sweeps (dry runs excluded)',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry]
  })
  private readonly structured = new Counter({
    name: 'structured_data_fetched_total',
    help: 'Structured items fetched or received (Samsara, Turvo, Front), by source',
    labelNames: ['source'] as const,
    registers: [this.registry]
  })
  private readonly upstreamRequests = new Counter({
    name: 'staging_upstream_requests_total',
    help: 'Requests to upstreams (one per attempt), by upstream and outcome (success, redirect, rejected, rate_limited, server_error, timeout, network_error, blocked, aborted)',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [this.registry]
  })
  private readonly upstreamDuration = new Histogram({
    name: 'staging_upstream_request_duration_seconds',
    help: 'Latency of requests to upstreams, by upstream and outcome',
    labelNames: ['upstream', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry]
  })
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration, by route template ("unmatched" for unknown paths), method and status code',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry]
  })

  private readonly stopEventLoopWindow: () => void

  constructor(options: { eventLoopWindowMs?: number } = {}) {
    collectDefaultMetrics({ register: this.registry })
    this.stopEventLoopWindow = summariseEventLoopPerWindow(this.registry, options.eventLoopWindowMs)
    new Gauge({
      name: 'staging_build_info',
      help: 'Always 1; the labels name the running apex-staging version and Node.js version',
      labelNames: ['version', 'node'] as const,
      registers: [this.registry]
    }).set({ version: PACKAGE_VERSION, node: process.version }, 1)
    // Series exist from the first scrape, so rate() and the dashboard see zeros rather than gaps.
    for (const source of SOURCES) {
      this.bytes.labels(source).inc(0)
      for (const reason of REMOVAL_REASONS) this.removed.labels(source, reason).inc(0)
    }
    for (const source of ['frontapp', 'samsara', 'turvo'] as const) this.structured.labels(source).inc(0)
    // Every upstream × outcome from the start: the error-ratio alert then sees the first failures as a rise
    // from 0 instead of a series that appears with them (rate() needs two samples).
    for (const upstream of UPSTREAM_NAMES) {
      for (const outcome of ATTEMPT_OUTCOMES) this.upstreamRequests.labels(upstream, outcome).inc(0)
    }
  }

  /** Stops the event-loop summary's timer (the app is closing). */
  close(): void {
    this.stopEventLoopWindow()
  }

  /** Adds the scrape-time gauges over the app's store, once the services exist. */
  trackState(state: StateSource): void {
    registerStateGauges(this.registry, state, () => this.lastSweepAt)
  }

  bytesWritten(source: Source, bytes: number): void {
    this.bytes.labels(source).inc(bytes)
  }

  itemCommitted(source: Source, kind: 'document' | 'structured'): void {
    this.committed.labels(source, kind).inc()
  }

  itemRemoved(source: Source, reason: 'success' | 'expired' | 'deleted' | 'orphan'): void {
    this.removed.labels(source, reason).inc()
    if (reason === 'success') this.cleanupSuccess.inc()
    if (reason === 'expired') this.cleanupFailed.inc()
  }

  sweepFinished(counts: SweepCounts, durationSeconds: number, at: number): void {
    this.runs.inc()
    this.sweepErrors.inc(counts.errors)
    this.abandoned.inc(counts.markedAbandoned)
    this.orphans.inc(counts.orphansRemoved)
    this.sweepDuration.observe(durationSeconds)
    this.lastSweepAt = at / 1000
  }

  structuredFetched(source: Source): void {
    this.structured.labels(source).inc()
  }

  upstreamRequest(upstream: string, outcome: string, seconds: number): void {
    this.upstreamRequests.labels(upstream, outcome).inc()
    this.upstreamDuration.labels(upstream, outcome).observe(seconds)
  }
}
