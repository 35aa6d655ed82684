// The storage seam (tusd's DataStore, in spirit): every operation the routes, pullers, structured
// stager, sweep and metrics need from the store, behind one interface with two engines —
// `local` (files under STAGING_BASE_DIR, src/staging/local-engine.ts) and `shared` (PostgreSQL
// records + S3 bytes, src/staging/shared/). Both keep the same contract: one conformance suite
// (test/staging/conformance.test.ts) runs against each.
import type { RecoveredEvents } from '../events/event-recovery.js'
import type { FileHandle } from 'node:fs/promises'
import type { EventFeed } from '../events/event-feed.js'
import type { Readable } from 'node:stream'
import type { WriteOptions, WrittenFile } from './draft.js'
import type { IndexTotals, ListFilter } from './item-index.js'
import type { QuotaLimits } from './quota.js'
import type { ItemRecord, Source, Status } from './record.js'
import type { CommitInput, CommitResult, RemovalReason } from './store.js'
import type { SweepResult } from './sweep.js'

export type { CommitInput, CommitResult, ListFilter, RemovalReason, WriteOptions, WrittenFile }

export const STORAGE_ENGINES = ['local', 'shared'] as const
export type StorageEngineName = (typeof STORAGE_ENGINES)[number]

/** An item being written: bytes stream in (hashed, counted, quota-claimed) before the commit. */
export interface StagingDraft {
  readonly written: WrittenFile
  writeFile(filename: string, body: Readable | AsyncIterable<Buffer>, options?: WriteOptions): Promise<WrittenFile>
  /** Takes an opened file in (a hard link where the engine can, else a streamed copy). */
  adoptFile(source: FileHandle, sourcePath: string, filename: string): Promise<{ file: WrittenFile; linked: boolean }>
  /** Drops the draft and its quota reservation; safe after a commit and more than once. */
  discard(): Promise<void>
}

/** Counts and bytes of committed items plus bytes reserved by writes in flight. */
export interface EngineTotals extends IndexTotals {
  reservedBytes: number
}

export interface ItemPage {
  items: ItemRecord[]
  /** The key (`source/document_id`) of the last item when more may follow. */
  nextKey: string | null
}

/** The sweep as the cleanup job and POST /v1/cleanup see it. */
export interface Sweeper {
  readonly isRunning: boolean
  readonly lastRun: { at: number; result: SweepResult } | null
  run(dryRun: boolean): Promise<SweepResult>
}

export interface SweeperOptions {
  abandonedAfterMs: number
  log?: (msg: string, err: unknown) => void
}

/**
 * Every mutation (commit, status change, removal) goes through one of these methods, and each engine
 * records its event there: the local engine through its StagingEventSink (src/staging/event-sink.ts,
 * the log in src/events/), the shared engine as an outbox row written in the same database
 * transaction (`MutationLog` and `EventOutbox` in src/staging/shared/).
 */
export interface StagingEngine {
  readonly name: StorageEngineName
  readonly limits: QuotaLimits
  /** The durable event feed (GET /v1/events, push); null where the engine does not write one yet. */
  readonly events: EventFeed | null
  /** Prepares the engine (loads the tree / runs migrations); returns how many items it holds. */
  /** `index`: where the local engine's index came from (the tree, or the snapshot of a clean stop). */
  /** `fileCheck` (local engine): the items whose data file did not match their record, found after ready. */
  init(): Promise<{ items: number; index?: 'tree' | 'snapshot'; recoveredEvents?: RecoveredEvents; fileCheck?: Promise<string[]> }>
  close(): Promise<void>
  /**
   * Starts, off any request's path, what the first large body would otherwise wait for (the local
   * engine's hash workers); the app calls it once the engine is ready.
   */
  warm(): void
  /** Readiness checks as /readyz reports them. */
  readiness(): Promise<{ staging_tree_loaded: boolean; staging_tree_writable: boolean }>

  /** Refuses up front a write whose announced size cannot fit (PayloadTooLarge / QuotaExceeded). */
  checkDeclared(bytes: number): Promise<void>
  openDraft(): Promise<StagingDraft>
  /** Streams one body into a draft and commits it; nothing is left behind on failure. */
  stage(input: CommitInput & { filename: string }, body: Readable | AsyncIterable<Buffer>, write?: WriteOptions): Promise<CommitResult>
  /** The commit point: 201 new / 200 same bytes / 409 different bytes unless overwrite. */
  commit(draft: StagingDraft, input: CommitInput): Promise<CommitResult>

  get(source: Source, documentId: string): Promise<ItemRecord | undefined>
  require(source: Source, documentId: string): Promise<ItemRecord>
  /** The bytes start..end (inclusive) of a committed item, as a stream; NotFound once it is gone. */
  readRange(record: ItemRecord, start: number, end: number): Promise<Readable>
  setStatus(source: Source, documentId: string, status: Status, error?: string | null): Promise<ItemRecord>
  /** Removes an item now; undefined when it is already gone. `check` may veto it under the item's lock. */
  remove(source: Source, documentId: string, reason: RemovalReason, check?: (r: ItemRecord) => boolean): Promise<ItemRecord | undefined>
  /** Records in key order after `afterKey` matching `filter`. */
  list(filter: ListFilter, limit: number, afterKey?: string): Promise<ItemPage>
  /** Running totals, in constant time whatever the number of items. */
  totals(): Promise<EngineTotals>
  /** The engine's sweep: the same rules, its own way of claiming candidates. */
  createSweeper(options: SweeperOptions): Sweeper
}
