// Statistics for GET /v1/stats, from the index totals: constant time whatever the number of items.
import { iso } from './clock.js'
import type { EngineTotals } from './engine.js'
import type { QuotaLimits } from './quota.js'
import type { Source } from './record.js'
import type { SweepResult } from './sweep.js'

const GB = 1024 ** 3

function nonZero(counts: Record<Source, number>): Partial<Record<Source, number>> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))
}

export function computeStats(
  t: EngineTotals,
  limits: QuotaLimits,
  cleanup: { last: { at: number; result: SweepResult } | null; nextRunAt: number | null }
) {
  const max = limits.maxTotalBytes
  return {
    total_documents: t.count,
    by_status: t.byStatus,
    by_source: nonZero(t.bySource),
    disk_usage: {
      total_bytes: t.bytes,
      total_gb: Math.round((t.bytes / GB) * 1e6) / 1e6,
      document_count: t.count,
      by_source: nonZero(t.bytesBySource)
    },
    quota: { max_bytes: max, used_ratio: Math.round((t.bytes / max) * 1e6) / 1e6, reserved_bytes: t.reservedBytes },
    cleanup: {
      last_run_at: cleanup.last ? iso(cleanup.last.at) : null,
      last_result: cleanup.last?.result ?? null,
      next_run_at: cleanup.nextRunAt === null ? null : iso(cleanup.nextRunAt)
    }
  }
}
