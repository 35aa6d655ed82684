// The shared engine's running totals: one counter row per (source, status) plus the fleet's reserved
// bytes, changed in the same transactions as the items, so stats and gauges read a handful of rows.
import type { Pool, PoolClient } from 'pg'
import type { EngineTotals } from '../engine.js'
import { SOURCES, STATUSES, type ItemRecord, type Source, type Status } from '../record.js'

interface Delta {
  source: Source
  status: Status
  items: number
  bytes: number
}

/** Counter changes of one transaction, applied in key order so concurrent transactions never deadlock. */
export class CounterDeltas {
  private readonly deltas = new Map<string, Delta>()

  add(record: Pick<ItemRecord, 'source' | 'status' | 'file_size_bytes'>, sign: 1 | -1): this {
    const key = `${record.source}/${record.status}`
    const d = this.deltas.get(key) ?? { source: record.source, status: record.status, items: 0, bytes: 0 }
    d.items += sign
    d.bytes += sign * record.file_size_bytes
    this.deltas.set(key, d)
    return this
  }

  async apply(tx: PoolClient): Promise<void> {
    const ordered = [...this.deltas.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d)
    for (const d of ordered) {
      if (d.items === 0 && d.bytes === 0) continue
      await tx.query('UPDATE staging_counters SET items = items + $3, bytes = bytes + $4 WHERE source = $1 AND status = $2', [d.source, d.status, d.items, d.bytes])
    }
  }
}

/** Creates any missing counter rows (a source or status added since the last start). */
export async function ensureCounterRows(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT INTO staging_counters (source, status)
     SELECT s, t FROM unnest($1::text[]) AS s CROSS JOIN unnest($2::text[]) AS t
     ON CONFLICT DO NOTHING`,
    [SOURCES, STATUSES]
  )
}

export async function changeReserved(tx: PoolClient, bytes: number): Promise<void> {
  if (bytes !== 0) await tx.query('UPDATE staging_quota SET reserved_bytes = reserved_bytes + $1 WHERE id = 1', [bytes])
}

const zeroBy = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>

/** The totals from the counter rows: a constant number of rows whatever the number of items. */
export async function readTotals(db: Pool | PoolClient): Promise<EngineTotals> {
  const { rows } = await db.query<{ source: string; status: string; items: string; bytes: string }>(
    `SELECT source, status, items, bytes FROM staging_counters
     UNION ALL SELECT '', '', 0, reserved_bytes FROM staging_quota WHERE id = 1`
  )
  const totals: EngineTotals = {
    count: 0,
    bytes: 0,
    byStatus: zeroBy(STATUSES),
    bySource: zeroBy(SOURCES),
    bytesBySource: zeroBy(SOURCES),
    reservedBytes: 0
  }
  for (const row of rows) {
    const items = Number(row.items)
    const bytes = Number(row.bytes)
    if (row.source === '') {
      totals.reservedBytes = bytes
      continue
    }
    if (!(SOURCES as readonly string[]).includes(row.source) || !(STATUSES as readonly string[]).includes(row.status)) continue
    totals.count += items
    totals.bytes += bytes
    totals.byStatus[row.status as Status] += items
    totals.bySource[row.source as Source] += items
    totals.bytesBySource[row.source as Source] += bytes
  }
  return totals
}
