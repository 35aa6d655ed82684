// Several observers as one: the app's metrics always see every event, and a test may listen too.
import type { StagingObserver } from '../staging/observer.js'

export function fanOut(...observers: StagingObserver[]): StagingObserver {
  return {
    bytesWritten: (source, bytes) => observers.forEach((o) => o.bytesWritten(source, bytes)),
    itemCommitted: (source, kind) => observers.forEach((o) => o.itemCommitted(source, kind)),
    itemRemoved: (source, reason) => observers.forEach((o) => o.itemRemoved(source, reason)),
    sweepFinished: (counts, seconds, at) => observers.forEach((o) => o.sweepFinished(counts, seconds, at)),
    structuredFetched: (source) => observers.forEach((o) => o.structuredFetched(source)),
    upstreamRequest: (upstream, outcome, seconds) => observers.forEach((o) => o.upstreamRequest(upstream, outcome, seconds))
  }
}
