// The shared engine's sweep, safe to run on every replica at once: candidates are claimed with
// SELECT … FOR UPDATE SKIP LOCKED in small batches, so each expired item is removed by exactly one
// replica; the bucket-wide part (dead reservations, orphan objects, stale multipart uploads) runs
// under a PostgreSQL advisory lock, so one replica does it per round while the others skip it.
import { performance } from 'node:perf_hooks'
import type pg from 'pg'
import { iso, type Clock } from '../clock.js'
import type { Sweeper, SweeperOptions } from '../engine.js'
import { statusChanged } from '../lifecycle.js'
import type { StagingObserver } from '../observer.js'
import type { ItemRecord } from '../record.js'
import type { SweepReason, SweepResult } from '../sweep.js'
import { changeReserved, CounterDeltas } from './counters.js'
import { deleteItem, updateItem } from './item-rows.js'
import type { Mutation, MutationLog } from './mutation-log.js'
import type { ObjectStore } from './object-store.js'
import { inTransaction } from './transaction.js'

const BATCH = 100
const MAX_LISTED = 1000
/** Objects and multipart uploads with no record, older than this, are orphans (API.md: one hour). */
const ORPHAN_AGE_MS = 3_600_000
/** pg_try_advisory_lock key of the bucket-wide part of the sweep ("apexswp" in ASCII). */
const RECLAIM_LOCK = 0x61706578737770n

export interface SharedSweeperOptions extends SweeperOptions {
  pool: pg.Pool
  objects: ObjectStore
  clock: Clock
  failedRetentionMs: number
  observer: StagingObserver
  mutations: MutationLog
  deleteObjects: (keys: string[]) => Promise<number>
}

type Note = (record: Pick<ItemRecord, 'source' | 'document_id'>, reason: SweepReason) => void

const CANDIDATES = `FROM staging_items
  WHERE status = 'success'
     OR (status = 'failed' AND expires_at <= $1)
     OR ($2::timestamptz IS NOT NULL AND status = 'active' AND updated_at <= $2)`

export class SharedSweeper implements Sweeper {
  private running: Promise<SweepResult> | null = null
  private last: { at: number; result: SweepResult } | null = null
  private multipartUnsupportedLogged = false

  constructor(private readonly options: SharedSweeperOptions) {}

  get lastRun(): { at: number; result: SweepResult } | null {
    return this.last
  }

  get isRunning(): boolean {
    return this.running !== null
  }

  /** Runs a sweep; a call made while one runs here waits for it and then runs its own. */
  async run(dryRun: boolean): Promise<SweepResult> {
    while (this.running) await this.running.catch(() => undefined)
    this.running = this.sweep(dryRun)
    try {
      return await this.running
    } finally {
      this.running = null
    }
  }

  private async sweep(dryRun: boolean): Promise<SweepResult> {
    const started = performance.now()
    const now = this.options.clock.now()
    const result: SweepResult = { dry_run: dryRun, scanned: 0, removed: 0, bytes_freed: 0, marked_abandoned: 0, orphans_removed: 0, errors: 0, duration_ms: 0, items: [] }
    const note: Note = (r, reason) => {
      if (result.items.length < MAX_LISTED) result.items.push({ source: r.source, document_id: r.document_id, reason })
    }
    const attempt = async (what: string, work: () => Promise<void>) => {
      try {
        await work()
      } catch (err) {
        result.errors++
        this.options.log?.(`cleanup: ${what} failed`, err)
      }
    }
    await attempt('items', () => (dryRun ? this.preview(now, result, note) : this.claimAndApply(now, result, note)))
    await attempt('orphans', () => this.reclaim(dryRun, now, result))
    result.duration_ms = Math.round(performance.now() - started)
    if (!dryRun) {
      const counts = {
        removedSuccess: result.items.filter((i) => i.reason === 'success').length,
        removedExpired: result.items.filter((i) => i.reason === 'expired').length,
        markedAbandoned: result.marked_abandoned,
        orphansRemoved: result.orphans_removed,
        errors: result.errors
      }
      this.options.observer.sweepFinished(counts, result.duration_ms / 1000, now)
      await inTransaction(this.options.pool, (tx) => this.options.mutations.append(tx, [{ type: 'swept', result }]))
    }
    this.last = { at: now, result }
    return result
  }

  private params(now: number): [string, string | null] {
    const after = this.options.abandonedAfterMs
    return [iso(now), after > 0 ? iso(now - after) : null]
  }

  private verdict(record: ItemRecord): SweepReason {
    return record.status === 'success' ? 'success' : record.status === 'failed' ? 'expired' : 'abandoned'
  }

  /** Batches of candidates, each claimed, changed and committed in one transaction. */
  private async claimAndApply(now: number, result: SweepResult, note: Note): Promise<void> {
    const { pool, observer, mutations, failedRetentionMs } = this.options
    for (;;) {
      const batch = await inTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ record: ItemRecord; object_key: string }>(
          `SELECT record, object_key ${CANDIDATES} ORDER BY source, document_id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
          this.params(now)
        )
        const deltas = new CounterDeltas()
        const changes: Mutation[] = []
        for (const { record, object_key } of rows) {
          deltas.add(record, -1)
          if (this.verdict(record) === 'abandoned') {
            const failed = statusChanged(record, 'failed', now, failedRetentionMs, 'abandoned')
            await updateItem(tx, failed, object_key)
            deltas.add(failed, 1)
            changes.push({ type: 'status_changed', record: failed, from: record.status, reason: 'abandoned' })
          } else {
            await deleteItem(tx, record.source, record.document_id)
            changes.push({ type: 'removed', record, reason: this.verdict(record) === 'success' ? 'success' : 'expired' })
          }
        }
        await deltas.apply(tx)
        await mutations.append(tx, changes)
        return rows
      })
      result.scanned += batch.length
      const gone = batch.filter((r) => this.verdict(r.record) !== 'abandoned')
      if (gone.length > 0) result.errors += await this.options.deleteObjects(gone.map((r) => r.object_key))
      for (const { record } of batch) {
        const reason = this.verdict(record)
        note(record, reason)
        if (reason === 'abandoned') {
          result.marked_abandoned++
          continue
        }
        result.removed++
        result.bytes_freed += record.file_size_bytes
        observer.itemRemoved(record.source, reason === 'success' ? 'success' : 'expired')
      }
      if (batch.length < BATCH) return
    }
  }

  /** A dry run: what claimAndApply would do now, changing nothing. */
  private async preview(now: number, result: SweepResult, note: Note): Promise<void> {
    const { pool } = this.options
    const sums = await pool.query<{ status: string; n: string; bytes: string }>(`SELECT status, count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes ${CANDIDATES} GROUP BY status`, this.params(now))
    for (const row of sums.rows) {
      result.scanned += Number(row.n)
      if (row.status === 'active') result.marked_abandoned += Number(row.n)
      else {
        result.removed += Number(row.n)
        result.bytes_freed += Number(row.bytes)
      }
    }
    const listed = await pool.query<{ record: ItemRecord }>(`SELECT record ${CANDIDATES} ORDER BY source, document_id LIMIT ${MAX_LISTED}`, this.params(now))
    for (const { record } of listed.rows) note(record, this.verdict(record))
  }

  /** The bucket-wide part, by one replica at a time: dead reservations, orphan objects, stale uploads. */
  private async reclaim(dryRun: boolean, now: number, result: SweepResult): Promise<void> {
    const client = await this.options.pool.connect()
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RECLAIM_LOCK.toString()])
      if (!rows[0]?.locked) return
      try {
        if (!dryRun) await this.freeDeadReservations(now)
        await this.removeOrphanObjects(dryRun, now, result)
        await this.abortStaleUploads(dryRun, now, result)
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [RECLAIM_LOCK.toString()])
      }
    } finally {
      client.release()
    }
  }

  /** Reservations whose lease ran out (a replica died mid-upload): their bytes go back to the quota. */
  private async freeDeadReservations(now: number): Promise<void> {
    await inTransaction(this.options.pool, async (tx) => {
      const gone = await tx.query<{ bytes: string }>('DELETE FROM staging_reservations WHERE lease_until <= $1 RETURNING bytes', [iso(now)])
      await changeReserved(tx, -gone.rows.reduce((sum, r) => sum + Number(r.bytes), 0))
    })
  }

  /** Object keys in use: by a record, or by a draft whose lease is still live. */
  private async keysInUse(keys: string[], now: number): Promise<Set<string>> {
    const { rows } = await this.options.pool.query<{ object_key: string }>(
      `SELECT object_key FROM staging_items WHERE object_key = ANY($1)
       UNION SELECT object_key FROM staging_reservations WHERE object_key = ANY($1) AND lease_until > $2`,
      [keys, iso(now)]
    )
    return new Set(rows.map((r) => r.object_key))
  }

  private async removeOrphanObjects(dryRun: boolean, now: number, result: SweepResult): Promise<void> {
    for await (const page of this.options.objects.listBlobs()) {
      const old = page.filter((o) => o.lastModified <= now - ORPHAN_AGE_MS).map((o) => o.key)
      result.scanned += page.length
      if (old.length === 0) continue
      const inUse = await this.keysInUse(old, now)
      const orphans = old.filter((k) => !inUse.has(k))
      if (dryRun || orphans.length === 0) {
        result.orphans_removed += orphans.length
        continue
      }
      const failed = await this.options.deleteObjects(orphans)
      result.orphans_removed += orphans.length - failed
      result.errors += failed
    }
  }

  private async abortStaleUploads(dryRun: boolean, now: number, result: SweepResult): Promise<void> {
    const stale = await this.options.objects.staleMultipartUploads(now - ORPHAN_AGE_MS)
    if (stale === null) {
      if (!this.multipartUnsupportedLogged) this.options.log?.('cleanup: this object store does not list multipart uploads; rely on a bucket lifecycle rule (AbortIncompleteMultipartUpload)', null)
      this.multipartUnsupportedLogged = true
      return
    }
    if (stale.length === 0) return
    const inUse = await this.keysInUse(stale.map((u) => u.key), now)
    for (const upload of stale.filter((u) => !inUse.has(u.key))) {
      result.scanned++
      if (!dryRun) await this.options.objects.abortMultipart(upload.key, upload.uploadId)
      result.orphans_removed++
    }
  }
}
