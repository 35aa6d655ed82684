// The staging store: items on the local filesystem under {base}/{source}/{document_id}/, built in
// {base}/.tmp and renamed into place, with an in-memory index kept current on every change.
import { randomUUID } from 'node:crypto'
import { renameSync } from 'node:fs'
import { access, constants, mkdir, rename, rm, rmdir, statfs, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { AppError } from '../errors.js'
import { iso, type Clock } from './clock.js'
import { DirSyncBatcher } from './dir-sync-batcher.js'
import { Draft, type WriteOptions } from './draft.js'
import { fsyncPath, writeFileAtomic } from './durable-fs.js'
import { METADATA_FILE } from './filename.js'
import { deleteIndexSnapshot, takeIndexSnapshot, writeIndexSnapshot } from './index-snapshot.js'
import { ItemIndex } from './item-index.js'
import { KeyedMutex } from './keyed-mutex.js'
import { assertTransition, statusChanged } from './lifecycle.js'
import { TMP_DIR, fileMatches, finishTreeLoad, loadTree, prepareTemp, verifyFiles, type LoadReport } from './load-tree.js'
import { noEvents, type StagingEventSink } from './event-sink.js'
import { silentObserver, type StagingObserver } from './observer.js'
import { QuotaLedger, type QuotaLimits } from './quota.js'
import { storageError } from './storage-errors.js'
import type { DirectWrites } from './large-body-constants.js'
import { HashWorkers, type HashWorkersOptions } from './hash-workers.js'
import { logWriteSwitch } from './write-switch-log.js'
import { TreeLock } from './tree-lock.js'
import type { PreparedTree } from './prepared-tree.js'
import type { IndexEntry, IndexedFields } from './loaded-record.js'
import { itemKey, type ItemRecord, type Kind, type Source, type Status } from './record.js'

export interface StoreOptions {
  baseDir: string
  clock: Clock
  limits: QuotaLimits
  failedRetentionMs: number
  observer?: StagingObserver
  /** The event feed; every change waits for its event to be durable before it is answered. */
  events?: StagingEventSink
  /** Where drafts hash large bodies (default: a pool of its own); close ends it either way. */
  hashWorkers?: HashWorkers
  /** How the default pool's workers write large bodies (STAGING_DIRECT_WRITES; hash-worker-program.ts). Default 'auto'. */
  directWrites?: DirectWrites
  /** Where the default pool's workers report a switch of the way they write ('auto'): the app's logger. */
  log?: { info(fields: object, message: string): void }
  /** Tests: the default pool's 'auto' thresholds, window and spell (HashWorkersOptions.autoCheck). */
  autoCheck?: HashWorkersOptions['autoCheck']
  /** The tree taken and its load begun before the store existed (prepared-tree.ts): the first init uses both. */
  prepared?: PreparedTree
}

export interface CommitInput {
  source: Source
  documentId: string
  kind: Kind
  contentType: string
  originalFilename: string | null
  sourceLocation: string | null
  overwrite: boolean
}

export interface CommitResult {
  record: ItemRecord
  created: boolean
}

/** How long after a start the data-file check begins (checkFiles). */
const FILE_CHECK_DELAY_MS = 1000

/** Below this much free space a write of an item and its metadata cannot succeed: not ready. */
const MIN_FREE_BYTES = 64 * 1024

export type RemovalReason = 'success' | 'expired' | 'deleted' | 'orphan'

export class StagingStore {
  readonly index = new ItemIndex()
  readonly quota: QuotaLedger
  readonly tmpDir: string
  private readonly mutex = new KeyedMutex()
  private readonly drafts = new Set<Draft>()
  /** When the last draft was opened (clock ms); -Infinity: never. */
  private lastDraftAt = -Infinity
  private readonly dirSync = new DirSyncBatcher()
  /** Source directories made (and their entry fsynced) or being made, so a commit skips the mkdir. */
  private readonly sourceDirs = new Map<string, Promise<void>>()
  private readonly observer: StagingObserver
  private readonly events: StagingEventSink
  private readonly hashWorkers: HashWorkers
  private loadReport: LoadReport | null = null
  /** The check of every loaded item's data file, after each start; resolves true when complete. */
  private fileCheck: Promise<boolean> = Promise.resolve(true)
  private closing = false
  private fileCheckTimer: NodeJS.Timeout | undefined
  private fileCheckNow: () => void = () => {}
  private lock: TreeLock | null = null
  /** Changes under way, each from before its first step on the tree to after its index update. */
  private changing = 0
  /** Set by close: the snapshot being written (true once on disk); the next change deletes it first. */
  private snapshot: Promise<boolean> | null = null
  private droppingSnapshot: Promise<void> | null = null

  constructor(private readonly options: StoreOptions) {
    if (options.prepared && options.prepared.baseDir !== options.baseDir) throw new Error(`a tree prepared at ${options.prepared.baseDir} cannot serve a store at ${options.baseDir}`)
    this.tmpDir = join(options.baseDir, TMP_DIR)
    this.quota = new QuotaLedger(options.limits, () => this.index.snapshot().bytes)
    this.observer = options.observer ?? silentObserver
    this.events = options.events ?? noEvents
    this.hashWorkers = options.hashWorkers ?? new HashWorkers({
      direct: options.directWrites,
      autoCheck: options.autoCheck,
      onWriteSwitch: (n) => logWriteSwitch(options.log, n)
    })
  }

  get baseDir(): string {
    return this.options.baseDir
  }

  /** Starts the hash workers now rather than on the first large body (StagingEngine.warm). */
  warm(): void {
    this.hashWorkers.warm()
  }

  get loaded(): boolean {
    return this.loadReport !== null
  }

  get lastLoad(): LoadReport | null {
    return this.loadReport
  }

  /** Resolves once every loaded item has had its data file checked (true), or close stopped the check (false). */
  get filesChecked(): Promise<boolean> {
    return this.fileCheck
  }

  /** The same, starting the check now if its delay after the start has not run out (for tests and tools). */
  checkFilesNow(): Promise<boolean> {
    clearTimeout(this.fileCheckTimer)
    this.fileCheckNow()
    return this.fileCheck
  }

  /**
   * Takes the tree's lock (one process per tree: TreeLockedError names the holder, nothing touched),
   * then creates the tree, clears leftovers of interrupted writes and loads the index from disk.
   */
  async init(): Promise<LoadReport> {
    // A prepared tree (the first init only) is already locked, its .tmp cleared and its reading begun.
    const prepared = this.options.prepared?.take() ?? null
    this.lock ??= prepared?.lock ?? (await TreeLock.acquire(this.options.baseDir))
    try {
      if (!prepared) await prepareTemp(this.options.baseDir)
      const put = (entry: IndexEntry) => this.index.put(entry)
      // The snapshot of a clean stop when it holds (and it is deleted either way), else every item.
      const fromSnapshot = prepared?.load ? null : await takeIndexSnapshot(this.options.baseDir, put)
      this.snapshot = null
      const report: LoadReport =
        fromSnapshot !== null
          ? { items: fromSnapshot, from: 'snapshot', orphans: [] }
          : prepared?.load
            ? await finishTreeLoad(prepared.load, put)
            : await loadTree(this.options.baseDir, put)
      this.loadReport = report
      this.fileCheck = this.checkFilesSoon(report)
      return report
    } catch (err) {
      prepared?.load?.reading.cancel()
      await this.close()
      throw err
    }
  }

  /**
   * Gives the tree up for the next process. When no change is under way, it first writes the index
   * snapshot (index-snapshot.ts), so that the next start reads one file; a change that comes after
   * deletes it before touching the tree.
   */
  async close(): Promise<void> {
    // The file check stops where it is (or never begins): every start checks again, from the snapshot too.
    this.closing = true
    await this.checkFilesNow()
    if (this.lock && this.loadReport && this.changing === 0 && !this.snapshot) {
      // A failed write (a full disk, say) only costs the next start a read of the whole tree.
      this.snapshot = writeIndexSnapshot(this.options.baseDir, this.tmpDir, this.index.inKeyOrder()).then(
        () => true,
        () => false
      )
      await this.snapshot
    }
    await this.lock?.release()
    this.lock = null
    // Closed before its first init: the prepared tree is given up unused.
    await this.options.prepared?.release()
    await this.hashWorkers.close()
  }

  /**
   * The data-file check of every start (from the tree or the snapshot), in the background once the
   * service is ready: an item whose file is missing or of another size leaves the index (and its
   * quota) and is an orphan for the next sweep, as the load itself used to decide. Under the item's
   * lock and re-checked there, so a change that replaced the item meanwhile is never undone.
   */
  private checkFilesSoon(report: LoadReport): Promise<boolean> {
    // Once the start is over: the check must not compete with the index load, the event recovery and listen.
    return new Promise<void>((resolve) => {
      this.fileCheckTimer = setTimeout(resolve, FILE_CHECK_DELAY_MS)
      this.fileCheckNow = resolve
    }).then(() => (this.closing ? false : this.checkFiles(this.index.entries(), report)))
  }

  private async checkFiles(records: readonly IndexedFields[], report: LoadReport): Promise<boolean> {
    const mismatch = (loaded: IndexedFields) =>
      this.mutex.run(itemKey(loaded.source, loaded.document_id), async () => {
        const current = this.index.get(loaded.source, loaded.document_id)
        if (!current || current.file_path !== loaded.file_path || (await fileMatches(current))) return
        this.index.remove(current.source, current.document_id)
        report.orphans.push(`${current.source}/${current.document_id}`)
      })
    const current = (loaded: IndexedFields) => this.index.peek(loaded.source, loaded.document_id)?.file_path === loaded.file_path
    return verifyFiles(records, mismatch, () => this.closing, current).catch(() => false)
  }

  /** Whether the tree can take a write now: the temp area is writable and its filesystem not full. */
  async checkWritable(): Promise<boolean> {
    try {
      await access(this.tmpDir, constants.W_OK)
      const fs = await statfs(this.tmpDir)
      return fs.bavail * fs.bsize >= MIN_FREE_BYTES && fs.ffree !== 0
    } catch {
      return false
    }
  }

  itemDir(source: Source, documentId: string): string {
    return join(this.options.baseDir, source, documentId)
  }

  get(source: Source, documentId: string): ItemRecord | undefined {
    return this.index.get(source, documentId)
  }

  require(source: Source, documentId: string): ItemRecord {
    const record = this.index.get(source, documentId)
    if (!record) throw new AppError('NotFound', `no item ${source}/${documentId}`)
    return record
  }

  /** Temp directories of writes in flight; the sweep must leave them alone. */
  draftDirs(): Set<string> {
    return new Set([...this.drafts].map((d) => d.dir))
  }

  /** Whether a write is in flight, or one began within the last `quietMs` (the sweep yields to them). */
  writing(quietMs: number): boolean {
    return this.drafts.size > 0 || this.options.clock.now() - this.lastDraftAt < quietMs
  }

  async openDraft(): Promise<Draft> {
    this.lastDraftAt = this.options.clock.now()
    const draft = new Draft(join(this.tmpDir, `draft-${randomUUID()}`), this.quota.reserve(), (d) => this.drafts.delete(d), this.hashWorkers)
    this.drafts.add(draft)
    try {
      await draft.create()
    } catch (err) {
      await draft.discard()
      throw storageError(err, 'could not create a temporary item')
    }
    return draft
  }

  /** Streams one body into a new draft and commits it; nothing is left behind on failure. */
  async stage(input: CommitInput & { filename: string }, body: Readable | AsyncIterable<Buffer>, write: WriteOptions = {}): Promise<CommitResult> {
    if (write.declaredBytes != null) this.quota.checkDeclared(write.declaredBytes)
    const draft = await this.openDraft()
    try {
      await draft.writeFile(input.filename, body, write)
      return await this.commit(draft, input)
    } finally {
      await draft.discard()
    }
  }

  /**
   * Commits a written draft as {source}/{documentId}. A repeat of identical bytes of an active item
   * returns the existing record; different content is a Conflict unless `overwrite`.
   */
  async commit(draft: Draft, input: CommitInput): Promise<CommitResult> {
    const file = draft.written
    return this.change(itemKey(input.source, input.documentId), async () => {
      const existing = this.index.get(input.source, input.documentId)
      if (existing && !input.overwrite) {
        if (existing.sha256 === file.sha256 && existing.status === 'active') {
          await draft.discard()
          return { record: existing, created: false }
        }
        throw new AppError('Conflict', `${input.source}/${input.documentId} exists with different content or status ${existing.status}; send overwrite=true to replace it`)
      }
      const now = iso(this.options.clock.now())
      const finalDir = this.itemDir(input.source, input.documentId)
      const record: ItemRecord = {
        document_id: input.documentId,
        source: input.source,
        kind: input.kind,
        status: 'active',
        created_at: now,
        updated_at: now,
        file_path: join(finalDir, file.filename),
        filename: file.filename,
        original_filename: input.originalFilename,
        content_type: input.contentType,
        file_size_bytes: file.size,
        sha256: file.sha256,
        source_location: input.sourceLocation,
        error: null,
        expires_at: null
      }
      // The event's append and fdatasync overlap the directory fsync of the rename (both are awaited
      // before the answer): one disk round trip on the path instead of two.
      // Readers of the feed see the event only once the item is in the index (or the commit failed).
      let eventFailure: unknown = null
      let shown = () => {}
      const visible = new Promise<void>((resolve) => (shown = resolve))
      const recordEvent = () =>
        this.events.staged(record, existing !== undefined, visible).catch((err: unknown) => {
          eventFailure = err ?? new Error('the event could not be recorded')
        })
      try {
        try {
          await draft.seal(METADATA_FILE, JSON.stringify(record, null, 2))
          await this.renameIntoPlace(draft.dir, input.source, input.documentId, existing !== undefined, recordEvent)
        } catch (err) {
          throw storageError(err, `could not commit ${input.source}/${input.documentId}`)
        }
        draft.markCommitted()
        this.index.put(record)
      } finally {
        // On failure too: a held event keeps every later one from readers.
        shown()
      }
      this.observer.bytesWritten(input.source, file.size)
      this.observer.itemCommitted(input.source, input.kind)
      // The item is in place either way; the caller learns that its event is not.
      if (eventFailure !== null) throw storageError(eventFailure, `${input.source}/${input.documentId} was staged but its event could not be recorded`)
      return { record, created: true }
    })
  }

  /** Changes an item's status per the transition table; a status to itself refreshes updated_at. */
  async setStatus(source: Source, documentId: string, status: Status, error?: string | null, reason?: 'abandoned'): Promise<ItemRecord> {
    return this.change(itemKey(source, documentId), async () => {
      const current = this.require(source, documentId)
      assertTransition(current.status, status)
      const record = statusChanged(current, status, this.options.clock.now(), this.options.failedRetentionMs, error)
      await this.writeRecord(record)
      if (current.status !== status) await this.events.statusChanged(record, current.status, reason)
      return record
    })
  }

  /** Removes an item now; undefined when it is already gone. `check` may veto under the item's lock. */
  async remove(source: Source, documentId: string, reason: RemovalReason, check?: (r: ItemRecord) => boolean): Promise<ItemRecord | undefined> {
    return this.change(itemKey(source, documentId), async () => {
      const current = this.index.get(source, documentId)
      if (!current || (check && !check(current))) return undefined
      await this.removeDir(this.itemDir(source, documentId), [current.filename, METADATA_FILE])
      this.index.remove(source, documentId)
      this.observer.itemRemoved(source, reason)
      await this.events.removed(current, reason)
      return current
    })
  }

  /** Removes a directory under a source that has no item in the index (an orphan), under its lock. */
  async removeOrphan(source: Source, name: string): Promise<boolean> {
    return this.change(itemKey(source, name), async () => {
      if (this.index.get(source, name)) return false
      await this.removeDir(join(this.options.baseDir, source, name))
      this.observer.itemRemoved(source, 'orphan')
      await this.events.removed({ source, document_id: name }, 'orphan')
      return true
    })
  }

  /** Every change to the tree runs here: under the item's lock, and only once a snapshot written at close is gone. */
  private change<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, async () => {
      this.changing++
      try {
        await this.dropSnapshot()
        return await work()
      } finally {
        this.changing--
      }
    })
  }

  /** Shared by every change that starts while the snapshot is being written or on disk. */
  private dropSnapshot(): Promise<void> {
    const written = this.snapshot
    if (!written) return Promise.resolve()
    this.droppingSnapshot ??= written
      .then(async (onDisk) => {
        if (onDisk) await deleteIndexSnapshot(this.options.baseDir)
        this.snapshot = null
      })
      .finally(() => {
        this.droppingSnapshot = null
      })
    return this.droppingSnapshot
  }

  private async writeRecord(record: ItemRecord): Promise<void> {
    const dir = this.itemDir(record.source, record.document_id)
    try {
      await writeFileAtomic(join(dir, METADATA_FILE), JSON.stringify(record, null, 2), this.tmpDir)
    } catch (err) {
      throw storageError(err, `could not update ${record.source}/${record.document_id}`)
    }
    this.index.put(record)
  }

  /**
   * Renames the item away in one step (so it vanishes whole), then deletes it. With the item's known
   * files that is two unlinks and an rmdir, instead of the walk (readdir, lstat per entry) of rm -r.
   */
  private async removeDir(dir: string, knownFiles: string[] = []): Promise<void> {
    const doomed = join(this.tmpDir, `delete-${randomUUID()}`)
    try {
      await rename(dir, doomed)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw storageError(err, 'could not remove the item')
    }
    // Shared with every removal or commit whose rename landed before it (group commit).
    await this.dirSync.sync(join(dir, '..'))
    if (knownFiles.length > 0) {
      const gone = await Promise.all(knownFiles.map((f) => unlink(join(doomed, f)).then(() => true, () => false)))
      if (gone.every(Boolean) && (await rmdir(doomed).then(() => true, () => false))) return
    }
    await rm(doomed, { recursive: true, force: true })
  }

  /**
   * The commit point. A replaced item is first parked as .tmp/old~{source}~{id}; should the process
   * die between the two renames, start-up recovery puts it back, so a crash leaves old or new.
   * The draft is already durable (Draft.seal); the source directory's fsync is shared by every
   * commit whose rename landed before it started (group commit), and the caller is answered only
   * after it.
   */
  private async renameIntoPlace(draftDir: string, source: Source, documentId: string, replacing: boolean, alongsideSync: () => Promise<void>): Promise<void> {
    const sourceDir = join(this.options.baseDir, source)
    await this.ensureSourceDir(sourceDir)
    const finalDir = join(sourceDir, documentId)
    const parked = join(this.tmpDir, `old~${source}~${documentId}`)
    // The item the index holds is parked first, inline (a rename within the tree's filesystem). A new
    // item skips that step: even a rename that fails with ENOENT takes the filesystem's rename lock
    // and both directories' locks, which the pool's renames hold while they wait for the journal (the
    // main thread spun on them). A directory the index does not know (an orphan) then fails the
    // rename into place with ENOTEMPTY, and is parked at that point. The draft's rename into place
    // goes to the pool: it waits for the journal while fsyncs commit, as creating calls do (durable-fs).
    let replaced = replacing && parkOld(finalDir, parked)
    try {
      try {
        await rename(draftDir, finalDir)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (replaced || (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw err
        if (code === 'ENOENT') {
          // The source directory was removed behind our back: make it again, once.
          this.sourceDirs.delete(sourceDir)
          await this.ensureSourceDir(sourceDir)
        } else {
          replaced = parkOld(finalDir, parked)
        }
        await rename(draftDir, finalDir)
      }
    } catch (err) {
      // The new item did not land (a full disk, say): the old one goes back now, not at the next start.
      if (replaced) await rename(parked, finalDir).catch(() => undefined)
      throw err
    }
    if (replaced) {
      await Promise.all([this.dirSync.sync(sourceDir), this.dirSync.sync(this.tmpDir), alongsideSync()])
      await rm(parked, { recursive: true, force: true })
    } else {
      await Promise.all([this.dirSync.sync(sourceDir), alongsideSync()])
    }
  }

  /** Every commit waits for the same mkdir and base-directory fsync, so none answers before it. */
  private ensureSourceDir(sourceDir: string): Promise<void> {
    let made = this.sourceDirs.get(sourceDir)
    if (!made) {
      made = mkdir(sourceDir, { recursive: true, mode: 0o750 }).then(() => fsyncPath(this.options.baseDir))
      made.catch(() => this.sourceDirs.delete(sourceDir))
      this.sourceDirs.set(sourceDir, made)
    }
    return made
  }
}

/** Moves an item's directory aside before its replacement lands; false when there is none. */
function parkOld(finalDir: string, parked: string): boolean {
  try {
    renameSync(finalDir, parked)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return false
  }
}
