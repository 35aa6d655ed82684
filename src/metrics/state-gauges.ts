// Gauges read from the engine's running totals (the local index, or the shared engine's counter
// rows) at scrape time, so they are current at every scrape and cost the same whatever the number
// of items; /v1/stats reads the same numbers.
import { Gauge, type Registry } from 'prom-client'
import type { EngineTotals } from '../staging/engine.js'
import type { QuotaLimits } from '../staging/quota.js'

export interface StateSource {
  totals: () => Promise<EngineTotals>
  limits: QuotaLimits
  /** Seconds between scheduled sweeps (the widest gap for a cron expression). */
  cleanupIntervalSeconds: number
}

export function registerStateGauges(registry: Registry, state: StateSource, lastSweepAt: () => number): void {
  const registers = [registry]
  new Gauge({
    name: 'staging_disk_usage_bytes',
    help: 'Bytes of staged items, by source',
    labelNames: ['source'] as const,
    registers,
    async collect() {
      for (const [source, bytes] of Object.entries((await state.totals()).bytesBySource)) this.set({ source }, bytes)
    }
  })
  new Gauge({
    name: 'staging_documents_by_status',
    help: 'Staged items, by status',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      for (const [status, n] of Object.entries((await state.totals()).byStatus)) this.set({ status }, n)
    }
  })
  new Gauge({
    name: 'staging_documents_by_source',
    help: 'Staged items, by source',
    labelNames: ['source'] as const,
    registers,
    async collect() {
      for (const [source, n] of Object.entries((await state.totals()).bySource)) this.set({ source }, n)
    }
  })
  new Gauge({
    name: 'staging_quota_bytes',
    help: 'Quota for all staged bytes together (STAGING_MAX_SIZE_GB)',
    registers,
    collect() {
      this.set(state.limits.maxTotalBytes)
    }
  })
  new Gauge({
    name: 'staging_reserved_bytes',
    help: 'Bytes reserved by writes in flight, not yet committed',
    registers,
    async collect() {
      this.set((await state.totals()).reservedBytes)
    }
  })
  new Gauge({
    name: 'staging_cleanup_last_run_timestamp_seconds',
    help: 'Unix time of the last finished cleanup sweep (dry runs excluded); 0 until one has run',
    registers,
    collect() {
      this.set(lastSweepAt())
    }
  })
  new Gauge({
    name: 'staging_cleanup_interval_seconds',
    help: 'Seconds between scheduled cleanup sweeps (for a cron expression, the widest gap between its next runs)',
    registers,
    collect() {
      this.set(state.cleanupIntervalSeconds)
    }
  })
}
