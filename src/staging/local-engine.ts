// The `local` engine: today's StagingStore (files under STAGING_BASE_DIR, .metadata.json per item,
// the in-memory index) and its CleanupSweeper, adapted to the StagingEngine seam without changes.
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { AppError } from '../errors.js'
import { EventLog, type EventLogOptions } from '../events/event-log.js'
import { EventRecorder } from '../events/event-recorder.js'
import { recoverMissingEvents, type RecoveredEvents } from '../events/event-recovery.js'
import { Draft, type WriteOptions } from './draft.js'
import type { CommitInput, CommitResult, EngineTotals, ItemPage, StagingDraft, StagingEngine, Sweeper, SweeperOptions } from './engine.js'
import type { ListFilter } from './item-index.js'
import type { StagingObserver } from './observer.js'
import type { QuotaLimits } from './quota.js'
import type { ItemRecord, Source, Status } from './record.js'
import { StagingStore, type RemovalReason, type StoreOptions } from './store.js'
import { CleanupSweeper } from './sweep.js'

/** The event log's directory in the tree; the tree's loader and sweep leave dot entries alone. */
export const EVENTS_DIR = '.events'

export interface LocalEngineOptions extends Omit<StoreOptions, 'events'> {
  observer: StagingObserver
  /** The event log's sizes (its directory is {baseDir}/.events); null writes no events. */
  eventLog: Omit<EventLogOptions, 'dir'> | null
}

export class LocalEngine implements StagingEngine {
  readonly name = 'local' as const
  readonly store: StagingStore
  readonly events: EventLog | null
  private readonly recorder: EventRecorder | undefined

  constructor(private readonly options: LocalEngineOptions) {
    this.events = options.eventLog ? new EventLog({ ...options.eventLog, dir: join(options.baseDir, EVENTS_DIR) }) : null
    this.recorder = this.events ? new EventRecorder(this.events, options.clock) : undefined
    this.store = new StagingStore({ ...options, events: this.recorder })
  }

  get limits(): QuotaLimits {
    return this.store.quota.limits
  }

  async init(): Promise<{ items: number; index: 'tree' | 'snapshot'; recoveredEvents?: RecoveredEvents; fileCheck?: Promise<string[]> }> {
    const report = await this.store.init()
    let recoveredEvents: RecoveredEvents | undefined
    try {
      await this.events?.open()
      if (this.events && this.recorder) recoveredEvents = await recoverMissingEvents(this.events, this.store.index, this.recorder)
    } catch (err) {
      await this.store.close()
      throw err
    }
    const loadedOrphans = report.orphans.length
    const fileCheck = this.store.filesChecked.then(() => report.orphans.slice(loadedOrphans))
    return { items: report.items, index: report.from, ...(recoveredEvents ? { recoveredEvents } : {}), fileCheck }
  }

  warm(): void {
    this.store.warm()
  }

  async close(): Promise<void> {
    try {
      await this.events?.close()
    } finally {
      await this.store.close()
    }
  }

  async readiness() {
    return { staging_tree_loaded: this.store.loaded, staging_tree_writable: await this.store.checkWritable() }
  }

  async checkDeclared(bytes: number): Promise<void> {
    this.store.quota.checkDeclared(bytes)
  }

  openDraft(): Promise<StagingDraft> {
    return this.store.openDraft()
  }

  stage(input: CommitInput & { filename: string }, body: Readable | AsyncIterable<Buffer>, write?: WriteOptions): Promise<CommitResult> {
    return this.store.stage(input, body, write)
  }

  commit(draft: StagingDraft, input: CommitInput): Promise<CommitResult> {
    if (!(draft instanceof Draft)) throw new Error('the local engine commits only its own drafts')
    return this.store.commit(draft, input)
  }

  async get(source: Source, documentId: string): Promise<ItemRecord | undefined> {
    return this.store.get(source, documentId)
  }

  async require(source: Source, documentId: string): Promise<ItemRecord> {
    return this.store.require(source, documentId)
  }

  /** Opened before the range is served: a concurrent delete cannot pull the file away mid-read. */
  async readRange(record: ItemRecord, start: number, end: number): Promise<Readable> {
    const handle = await open(record.file_path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new AppError('NotFound', `no item ${record.source}/${record.document_id}`)
      throw new AppError('StagingError', 'could not open the staged file', { cause: err })
    })
    return createReadStream('', { fd: handle, start, end })
  }

  setStatus(source: Source, documentId: string, status: Status, error?: string | null): Promise<ItemRecord> {
    return this.store.setStatus(source, documentId, status, error)
  }

  remove(source: Source, documentId: string, reason: RemovalReason, check?: (r: ItemRecord) => boolean): Promise<ItemRecord | undefined> {
    return this.store.remove(source, documentId, reason, check)
  }

  async list(filter: ListFilter, limit: number, afterKey?: string): Promise<ItemPage> {
    return this.store.index.list(filter, limit, afterKey)
  }

  async totals(): Promise<EngineTotals> {
    return { ...this.store.index.snapshot(), reservedBytes: this.store.quota.reservedBytes }
  }

  createSweeper(options: SweeperOptions): Sweeper {
    return new CleanupSweeper({ ...options, store: this.store, clock: this.options.clock, observer: this.options.observer, events: this.recorder })
  }
}

