// The cleanup sweep of API.md: remove expired failed items and success items, mark abandoned active
// items failed, remove orphans. One sweep at a time; the cron job and POST /v1/cleanup share it.
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Clock } from './clock.js'
import { forEachConcurrently } from './concurrently.js'
import { listSourceEntries } from './tree-listing.js'
import { noEvents, type StagingEventSink } from './event-sink.js'
import { silentObserver, type StagingObserver } from './observer.js'
import { SOURCES, type ItemRecord, type Source } from './record.js'
import type { StagingStore } from './store.js'

export type SweepReason = 'expired' | 'success' | 'abandoned' | 'orphan'

export interface SweepResult {
  dry_run: boolean
  scanned: number
  removed: number
  bytes_freed: number
  marked_abandoned: number
  orphans_removed: number
  errors: number
  duration_ms: number
  items: { source: Source; document_id: string; reason: SweepReason }[]
}

export interface SweepOptions {
  store: StagingStore
  clock: Clock
  abandonedAfterMs: number
  observer?: StagingObserver
  /** Told of every finished sweep (its summary), before the sweep's caller is answered. */
  events?: StagingEventSink
  /** Temp entries older than this are orphans (API.md: one hour). */
  tempMaxAgeMs?: number
  log?: (msg: string, err: unknown) => void
}

const MAX_LISTED = 1000
/**
 * Removals in flight at once. Each waits for its source directory's group-committed fsync, so more in
 * flight means more renames per directory fsync: 100k expired items took 1.54-1.63x the time of rm -rf
 * with 16, 1.10-1.32x with 64 (shared/perf cleanup case, 2026-12-02), and on a slower machine 31-47 s
 * with 64 against 23-36 s with 256 (rm -rf 29-38 s). But the removals' syscalls queue on the thread pool
 * ahead of every write's: 4 KiB uploads at 8 connections during such a sweep ran at 249 req/s (p99 59
 * ms) beside 64 removals and 106 req/s (p99 112 ms) beside 256. So the sweep takes 256 while no write
 * is in flight or began within the last second, and 64 otherwise, asked again as each removal ends.
 */
export const SWEEP_CONCURRENCY = { idle: 256, writing: 64 } as const
/** How long after a write began the sweep still counts the service as busy. */
export const SWEEP_QUIET_MS = 1000
const HOUR = 3_600_000

export class CleanupSweeper {
  private running: Promise<SweepResult> | null = null
  private last: { at: number; result: SweepResult } | null = null

  constructor(private readonly options: SweepOptions) {}

  get lastRun(): { at: number; result: SweepResult } | null {
    return this.last
  }

  get isRunning(): boolean {
    return this.running !== null
  }

  /** Runs a sweep; a call made while one runs waits for it and then runs its own. */
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
    const { store, clock } = this.options
    const started = performance.now()
    const now = clock.now()
    const result: SweepResult = {
      dry_run: dryRun,
      scanned: 0,
      removed: 0,
      bytes_freed: 0,
      marked_abandoned: 0,
      orphans_removed: 0,
      errors: 0,
      duration_ms: 0,
      items: []
    }
    const note = (source: Source, documentId: string, reason: SweepReason) => {
      if (result.items.length < MAX_LISTED) result.items.push({ source, document_id: documentId, reason })
    }
    const attempt = async (what: string, work: () => Promise<void>) => {
      try {
        await work()
      } catch (err) {
        result.errors++
        this.options.log?.(`cleanup: ${what} failed`, err)
      }
    }

    // Removals run a few at a time: their directory fsyncs are shared (the store's group commit) and
    // the deletes overlap on the thread pool, which a strictly sequential walk left idle.
    const work: (() => Promise<void>)[] = []
    // Indexed fields only: a record the start-up load kept as loaded is parsed only if acted on.
    for (const record of store.index.allEntries()) {
      result.scanned++
      const reason = this.verdict(record, now)
      if (!reason) continue
      const { source, document_id: id } = record
      if (dryRun) {
        note(source, id, reason)
        if (reason === 'abandoned') result.marked_abandoned++
        else {
          result.removed++
          result.bytes_freed += record.file_size_bytes
        }
        continue
      }
      work.push(() =>
        attempt(`${reason} ${source}/${id}`, async () => {
          if (reason === 'abandoned') {
            const current = store.get(source, id)
            if (!current || this.verdict(current, clock.now()) !== 'abandoned') return
            await store.setStatus(source, id, 'failed', 'abandoned', 'abandoned')
            result.marked_abandoned++
          } else {
            // Re-checked under the item's lock: a PATCH may have changed it since the snapshot.
            const removed = await store.remove(source, id, reason, (r) => this.verdict(r, clock.now()) === reason)
            if (!removed) return
            result.removed++
            result.bytes_freed += removed.file_size_bytes
          }
          note(source, id, reason)
        })
      )
    }
    const limit = () => (store.writing(SWEEP_QUIET_MS) ? SWEEP_CONCURRENCY.writing : SWEEP_CONCURRENCY.idle)
    await forEachConcurrently(work, limit, (task) => task())

    await this.sweepOrphans(dryRun, result, note, attempt)
    result.duration_ms = Math.round(performance.now() - started)
    if (!dryRun) {
      const counts = {
        removedSuccess: result.items.filter((i) => i.reason === 'success').length,
        removedExpired: result.items.filter((i) => i.reason === 'expired').length,
        markedAbandoned: result.marked_abandoned,
        orphansRemoved: result.orphans_removed,
        errors: result.errors
      }
      ;(this.options.observer ?? silentObserver).sweepFinished(counts, result.duration_ms / 1000, now)
      await (this.options.events ?? noEvents).swept(result)
    }
    this.last = { at: now, result }
    return result
  }

  private verdict(record: Pick<ItemRecord, 'status' | 'expires_at' | 'updated_at'>, now: number): SweepReason | null {
    if (record.status === 'success') return 'success'
    if (record.status === 'failed') {
      return record.expires_at !== null && Date.parse(record.expires_at) <= now ? 'expired' : null
    }
    const after = this.options.abandonedAfterMs
    return after > 0 && now - Date.parse(record.updated_at) >= after ? 'abandoned' : null
  }

  private async sweepOrphans(
    dryRun: boolean,
    result: SweepResult,
    note: (source: Source, id: string, reason: SweepReason) => void,
    attempt: (what: string, work: () => Promise<void>) => Promise<void>
  ): Promise<void> {
    const { store } = this.options
    for (const source of SOURCES) {
      let names: string[] = []
      await attempt(`listing ${source}`, async () => {
        names = await listSourceEntries(store.baseDir, source)
      })
      for (const name of names) {
        if (store.get(source, name)) continue
        result.scanned++
        if (dryRun) {
          result.orphans_removed++
          note(source, name, 'orphan')
          continue
        }
        await attempt(`orphan ${source}/${name}`, async () => {
          if (await store.removeOrphan(source, name)) {
            result.orphans_removed++
            note(source, name, 'orphan')
          }
        })
      }
    }
    // Temp entries of writes that died: older than an hour and not a draft in flight.
    const maxAge = this.options.tempMaxAgeMs ?? HOUR
    const inFlight = store.draftDirs()
    let temps: string[] = []
    await attempt('listing .tmp', async () => {
      temps = await readdir(store.tmpDir)
    })
    for (const name of temps) {
      const path = join(store.tmpDir, name)
      if (inFlight.has(path)) continue
      result.scanned++
      await attempt(`temp ${name}`, async () => {
        const info = await stat(path).catch(() => null)
        // mtimes are wall-clock time, so the age uses the wall clock too.
        if (!info || Date.now() - info.mtimeMs < maxAge) return
        if (!dryRun) await rm(path, { recursive: true, force: true })
        result.orphans_removed++
      })
    }
  }
}
