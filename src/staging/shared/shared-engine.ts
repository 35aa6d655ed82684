// The `shared` engine: records in PostgreSQL, bytes in S3-compatible storage, for N replicas on one
// database and one bucket. The commit point is a database transaction on the (source, document_id)
// primary key; bytes live under a fresh object key per version, deleted only after the record that
// pointed at them is gone, so a reader never meets a half-written or missing object.
import type { Readable } from 'node:stream'
import pg from 'pg'
import { AppError } from '../../errors.js'
import { iso, type Clock } from '../clock.js'
import type { WriteOptions } from '../draft.js'
import type { CommitInput, CommitResult, EngineTotals, ItemPage, ListFilter, StagingDraft, StagingEngine, Sweeper, SweeperOptions } from '../engine.js'
import { assertTransition, statusChanged } from '../lifecycle.js'
import type { StagingObserver } from '../observer.js'
import type { QuotaLimits } from '../quota.js'
import { itemKey, type ItemRecord, type Source, type Status } from '../record.js'
import type { RemovalReason } from '../store.js'
import { CounterDeltas, ensureCounterRows, readTotals } from './counters.js'
import { checkRoom, FleetReservation } from './fleet-reservation.js'
import { deleteItem, insertItem, listItems, lockItem, selectItem, updateItem } from './item-rows.js'
import { migrateToLatest } from './migrations.js'
import { EventOutbox } from './event-outbox.js'
import type { MutationLog } from './mutation-log.js'
import { OutboxFeed } from './outbox-feed.js'
import { PushLock } from './push-lock.js'
import { ObjectStore, type ObjectStoreOptions } from './object-store.js'
import { SharedDraft } from './shared-draft.js'
import { SharedSweeper } from './shared-sweeper.js'
import { inTransaction } from './transaction.js'

export interface SharedEngineOptions {
  databaseUrl: string
  s3: ObjectStoreOptions
  clock: Clock
  limits: QuotaLimits
  failedRetentionMs: number
  observer: StagingObserver
  log: { warn(obj: object, msg: string): void }
  /** The transactional outbox hook; the event outbox by default. */
  mutationLog?: MutationLog
  /** How long the outbox keeps events. */
  eventMaxAgeMs: number
}

export class SharedEngine implements StagingEngine {
  readonly name = 'shared' as const
  /** The outbox table as a feed: every replica serves the fleet's events. */
  readonly events: OutboxFeed
  readonly pool: pg.Pool
  readonly objects: ObjectStore
  private readonly mutations: MutationLog
  private ready = false
  private totalsInFlight: Promise<EngineTotals> | null = null

  constructor(private readonly options: SharedEngineOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 })
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', (err) => options.log.warn({ err }, 'postgres: idle client error'))
    this.objects = new ObjectStore(options.s3)
    this.mutations = options.mutationLog ?? new EventOutbox(options.clock)
    this.events = new OutboxFeed(this.pool, { maxAgeMs: options.eventMaxAgeMs })
  }

  /** The fleet's push lock and cursor row, for push to the receiver at `origin`. */
  pushLock(origin: string, checkMs: number): PushLock {
    return new PushLock({ databaseUrl: this.options.databaseUrl, pool: this.pool, origin, checkMs })
  }

  get limits(): QuotaLimits {
    return this.options.limits
  }

  async init(): Promise<{ items: number }> {
    await migrateToLatest(this.pool)
    await ensureCounterRows(this.pool)
    await this.events.start()
    this.ready = true
    return { items: (await this.totals()).count }
  }

  /** Nothing to start: this engine runs no worker threads. */
  warm(): void {}

  async close(): Promise<void> {
    this.events.stop()
    await this.pool.end()
    this.objects.close()
  }

  async readiness() {
    const database = await this.pool.query('SELECT 1').then(() => true, () => false)
    return { staging_tree_loaded: this.ready && database, staging_tree_writable: database && (await this.objects.bucketReachable()) }
  }

  async checkDeclared(bytes: number): Promise<void> {
    const t = await this.totals()
    checkRoom(this.limits, t.bytes + t.reservedBytes, 0, bytes)
  }

  async openDraft(): Promise<SharedDraft> {
    const reservation = await FleetReservation.open({ pool: this.pool, clock: this.options.clock, limits: this.limits }, this.objects.newKey()).catch((err: unknown) => {
      throw new AppError('StagingError', 'could not start a write (database unavailable)', { cause: err })
    })
    return new SharedDraft(this.objects, reservation, (msg, err) => this.options.log.warn({ err }, msg))
  }

  async stage(input: CommitInput & { filename: string }, body: Readable | AsyncIterable<Buffer>, write: WriteOptions = {}): Promise<CommitResult> {
    if (write.declaredBytes != null) await this.checkDeclared(write.declaredBytes)
    const draft = await this.openDraft()
    try {
      await draft.writeFile(input.filename, body, write)
      return await this.commit(draft, input)
    } finally {
      await draft.discard()
    }
  }

  async commit(draft: StagingDraft, input: CommitInput): Promise<CommitResult> {
    if (!(draft instanceof SharedDraft)) throw new Error('the shared engine commits only its own drafts')
    const file = draft.written
    const now = iso(this.options.clock.now())
    const record: ItemRecord = {
      document_id: input.documentId,
      source: input.source,
      kind: input.kind,
      status: 'active',
      created_at: now,
      updated_at: now,
      file_path: this.objects.locationOf(draft.objectKey),
      filename: file.filename,
      original_filename: input.originalFilename,
      content_type: input.contentType,
      file_size_bytes: file.size,
      sha256: file.sha256,
      source_location: input.sourceLocation,
      error: null,
      expires_at: null
    }
    const outcome = await this.write(`commit ${itemKey(input.source, input.documentId)}`, (tx) => this.commitRow(tx, draft, record, input.overwrite))
    if (outcome.kind === 'repeat') return { record: outcome.record, created: false }
    draft.markCommitted()
    if (outcome.replacedKey) await this.deleteObjects([outcome.replacedKey])
    this.options.observer.bytesWritten(input.source, file.size)
    this.options.observer.itemCommitted(input.source, input.kind)
    return { record, created: true }
  }

  /** In one transaction: the item row decides new / repeat / conflict / overwrite; counters and quota follow. */
  private async commitRow(
    tx: pg.PoolClient,
    draft: SharedDraft,
    record: ItemRecord,
    overwrite: boolean
  ): Promise<{ kind: 'repeat'; record: ItemRecord } | { kind: 'created'; replacedKey: string | null }> {
    for (;;) {
      if (await insertItem(tx, record, draft.objectKey)) {
        await draft.reservation.consume(tx)
        await new CounterDeltas().add(record, 1).apply(tx)
        await this.mutations.append(tx, [{ type: 'staged', record, replaced: false }])
        return { kind: 'created', replacedKey: null }
      }
      const existing = await lockItem(tx, record.source, record.document_id)
      if (!existing) continue // removed between the two statements: try the insert again
      const old = existing.record
      if (!overwrite) {
        if (old.sha256 === record.sha256 && old.status === 'active') return { kind: 'repeat', record: old }
        throw new AppError('Conflict', `${record.source}/${record.document_id} exists with different content or status ${old.status}; send overwrite=true to replace it`)
      }
      await updateItem(tx, record, draft.objectKey)
      await draft.reservation.consume(tx)
      await new CounterDeltas().add(old, -1).add(record, 1).apply(tx)
      await this.mutations.append(tx, [{ type: 'staged', record, replaced: true }])
      return { kind: 'created', replacedKey: existing.objectKey }
    }
  }

  async get(source: Source, documentId: string): Promise<ItemRecord | undefined> {
    return (await this.read(() => selectItem(this.pool, source, documentId)))?.record
  }

  async require(source: Source, documentId: string): Promise<ItemRecord> {
    const record = await this.get(source, documentId)
    if (!record) throw new AppError('NotFound', `no item ${source}/${documentId}`)
    return record
  }

  /** Reads the very version the record names (its file_path is the object's s3:// location), never a newer one. */
  async readRange(record: ItemRecord, start: number, end: number): Promise<Readable> {
    const what = itemKey(record.source, record.document_id)
    const key = this.objects.keyOf(record.file_path)
    if (key === null) throw new AppError('NotFound', `no item ${what}`)
    return this.objects.readRange(key, start, end, what)
  }

  async setStatus(source: Source, documentId: string, status: Status, error?: string | null): Promise<ItemRecord> {
    return this.write(`update ${itemKey(source, documentId)}`, async (tx) => {
      const current = await lockItem(tx, source, documentId)
      if (!current) throw new AppError('NotFound', `no item ${source}/${documentId}`)
      assertTransition(current.record.status, status)
      const record = statusChanged(current.record, status, this.options.clock.now(), this.options.failedRetentionMs, error)
      await updateItem(tx, record, current.objectKey)
      await new CounterDeltas().add(current.record, -1).add(record, 1).apply(tx)
      await this.mutations.append(tx, [{ type: 'status_changed', record, from: current.record.status }])
      return record
    })
  }

  async remove(source: Source, documentId: string, reason: RemovalReason, check?: (r: ItemRecord) => boolean): Promise<ItemRecord | undefined> {
    const removed = await this.write(`remove ${itemKey(source, documentId)}`, async (tx) => {
      const current = await lockItem(tx, source, documentId)
      if (!current || (check && !check(current.record))) return undefined
      await deleteItem(tx, source, documentId)
      await new CounterDeltas().add(current.record, -1).apply(tx)
      await this.mutations.append(tx, [{ type: 'removed', record: current.record, reason }])
      return current
    })
    if (!removed) return undefined
    await this.deleteObjects([removed.objectKey])
    this.options.observer.itemRemoved(source, reason)
    return removed.record
  }

  list(filter: ListFilter, limit: number, afterKey?: string): Promise<ItemPage> {
    return this.read(() => listItems(this.pool, filter, limit, afterKey))
  }

  /** Counter rows, one query; concurrent callers (a scrape's gauges) share it. */
  totals(): Promise<EngineTotals> {
    this.totalsInFlight ??= this.read(() => readTotals(this.pool)).finally(() => {
      this.totalsInFlight = null
    })
    return this.totalsInFlight
  }

  createSweeper(options: SweeperOptions): Sweeper {
    return new SharedSweeper({
      ...options,
      pool: this.pool,
      objects: this.objects,
      clock: this.options.clock,
      failedRetentionMs: this.options.failedRetentionMs,
      observer: this.options.observer,
      mutations: this.mutations,
      deleteObjects: (keys) => this.deleteObjects(keys)
    })
  }

  /** Best effort: a key left behind has no record and is reclaimed by the orphan sweep. */
  private async deleteObjects(keys: string[]): Promise<number> {
    const failed = await this.objects.remove(keys)
    if (failed.length > 0) this.options.log.warn({ keys: failed }, 'object deletion failed; the sweep will reclaim them')
    return failed.length
  }

  private read<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((err: unknown) => {
      if (err instanceof AppError) throw err
      throw new AppError('StagingError', 'the staging database could not be read', { cause: err })
    })
  }

  private write<T>(what: string, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work).catch((err: unknown) => {
      if (err instanceof AppError) throw err
      throw new AppError('StagingError', `could not ${what}`, { cause: err })
    })
  }
}
