// prom-client's event-loop gauges (nodejs_eventloop_lag_*) summarise an HDR histogram at every scrape
// and reset it: its stddev and three percentiles walk all ~40k buckets, about 0.4 ms of a ~1 ms
// scrape on this machine. Here that summary runs on a timer instead, once per window, so a scrape
// only reads the last window's figures. The names, help texts and values are prom-client's own; the
// window is fixed rather than "since the previous scrape", which two scrapers also no longer skew.
import type { Registry } from 'prom-client'

export const EVENT_LOOP_WINDOW_MS = 5_000

/** The gauge whose `collect` prom-client uses to set all eight event-loop gauges. */
const LAG_GAUGE = 'nodejs_eventloop_lag_seconds'

interface Collectable {
  collect?: () => unknown
}

/**
 * Moves the event-loop summary of `registry` (after collectDefaultMetrics) from the scrape to a timer
 * of `windowMs`; returns the function that stops it. Leaves the scrape as it is if the gauge has no
 * collect function (another prom-client version).
 */
export function summariseEventLoopPerWindow(registry: Registry, windowMs = EVENT_LOOP_WINDOW_MS): () => void {
  const gauge = registry.getSingleMetric(LAG_GAUGE) as Collectable | undefined
  const summarise = gauge?.collect
  if (!gauge || typeof summarise !== 'function') return () => undefined
  gauge.collect = undefined
  const timer = setInterval(() => summarise.call(gauge), windowMs)
  timer.unref()
  return () => clearInterval(timer)
}
