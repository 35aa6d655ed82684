// Fleet-wide quota: a draft's bytes are reserved in PostgreSQL (its own row plus the one quota row),
// claimed in blocks so that a large upload asks the database once per block, not once per chunk.
// The quota decision locks the quota row, so replicas together can never overshoot the quota.
import { randomUUID } from 'node:crypto'
import type { Pool, PoolClient } from 'pg'
import { AppError } from '../../errors.js'
import { iso, type Clock } from '../clock.js'
import { QuotaLedger, type QuotaLimits } from '../quota.js'
import { changeReserved, readTotals } from './counters.js'
import { inTransaction } from './transaction.js'

const BLOCK = 8 * 1024 * 1024
/** A draft that has not claimed a block for this long is presumed dead; the sweep frees its bytes. */
export const LEASE_MS = 3_600_000

export interface ReservationDeps {
  pool: Pool
  clock: Clock
  limits: QuotaLimits
}

/** Refuses `n` more bytes (on top of `held` for this item) against the fleet's committed + reserved bytes. */
export function checkRoom(limits: QuotaLimits, usedBytes: number, held: number, n: number): void {
  new QuotaLedger(limits, () => usedBytes).claim(held, n)
}

export class FleetReservation {
  private granted = 0
  private released = false

  private constructor(
    private readonly deps: ReservationDeps,
    readonly id: string,
    readonly objectKey: string
  ) {}

  static async open(deps: ReservationDeps, objectKey: string): Promise<FleetReservation> {
    const reservation = new FleetReservation(deps, randomUUID(), objectKey)
    await deps.pool.query('INSERT INTO staging_reservations (id, object_key, bytes, lease_until) VALUES ($1, $2, 0, $3)', [
      reservation.id,
      objectKey,
      iso(deps.clock.now() + LEASE_MS)
    ])
    return reservation
  }

  get bytes(): number {
    return this.granted
  }

  /** Makes sure `total` bytes are reserved; throws PayloadTooLarge or QuotaExceeded. */
  async ensure(total: number): Promise<void> {
    if (total <= this.granted) return
    const need = total - this.granted
    const { limits, clock } = this.deps
    checkRoom({ ...limits, maxTotalBytes: Number.MAX_SAFE_INTEGER }, 0, this.granted, need)
    const grant = await inTransaction(this.deps.pool, async (tx) => {
      // Locks in the order every transaction takes them (reservation, then the quota row): no deadlock with the sweep.
      const renewed = await tx.query('UPDATE staging_reservations SET lease_until = $2 WHERE id = $1', [this.id, iso(clock.now() + LEASE_MS)])
      if (renewed.rowCount !== 1) throw expired()
      await tx.query('SELECT reserved_bytes FROM staging_quota WHERE id = 1 FOR UPDATE')
      const totals = await readTotals(tx)
      const used = totals.bytes + totals.reservedBytes
      checkRoom(limits, used, this.granted, need)
      // A whole block when it fits, else exactly what is needed (never past the caps).
      const grant = Math.max(need, Math.min(BLOCK, limits.maxTotalBytes - used, limits.maxDocumentBytes - this.granted))
      await tx.query('UPDATE staging_reservations SET bytes = bytes + $2 WHERE id = $1', [this.id, grant])
      await changeReserved(tx, grant)
      return grant
    })
    this.granted += grant
  }

  /** Inside a commit: ends the reservation, its bytes becoming the item's. False when the sweep took it. */
  async consume(tx: PoolClient): Promise<void> {
    const gone = await tx.query<{ bytes: string }>('DELETE FROM staging_reservations WHERE id = $1 RETURNING bytes', [this.id])
    if (gone.rowCount !== 1) throw expired()
    await changeReserved(tx, -Number(gone.rows[0]!.bytes))
  }

  markConsumed(): void {
    this.released = true
    this.granted = 0
  }

  /** Gives the bytes back; safe to call more than once and after the sweep took the row. */
  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    await inTransaction(this.deps.pool, async (tx) => {
      const gone = await tx.query<{ bytes: string }>('DELETE FROM staging_reservations WHERE id = $1 RETURNING bytes', [this.id])
      if (gone.rowCount === 1) await changeReserved(tx, -Number(gone.rows[0]!.bytes))
    })
    this.granted = 0
  }
}

function expired(): AppError {
  return new AppError('StagingError', 'the upload outlived its quota reservation; send it again')
}
