// What the domain reports as it works; the metrics adapter (src/metrics) turns it into Prometheus series.
import type { Source } from './record.js'

export interface SweepCounts {
  removedSuccess: number
  removedExpired: number
  markedAbandoned: number
  orphansRemoved: number
  errors: number
}

export interface StagingObserver {
  bytesWritten(source: Source, bytes: number): void
  itemCommitted(source: Source, kind: 'document' | 'structured'): void
  itemRemoved(source: Source, reason: 'success' | 'expired' | 'deleted' | 'orphan'): void
  sweepFinished(counts: SweepCounts, durationSeconds: number, at: number): void
  structuredFetched(source: Source): void
  upstreamRequest(upstream: string, outcome: string, seconds: number): void
}

export const silentObserver: StagingObserver = {
  bytesWritten: () => undefined,
  itemCommitted: () => undefined,
  itemRemoved: () => undefined,
  sweepFinished: () => undefined,
  structuredFetched: () => undefined,
  upstreamRequest: () => undefined
}
