// Start-up: recover interrupted commits in .tmp, then read every item's metadata into the index:
// startTreeLoad lists the tree and sets the readers going (early, from prepared-tree.ts, in a
// process that runs the service), finishTreeLoad checks each record and hands it over. Each item's
// data file is checked against its record after the service is ready (verifyFiles).
import { readdirSync, statSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { forEachConcurrently } from './concurrently.js'
import { LoadedRecord, itemFilePath, type IndexEntry, type IndexedFields } from './loaded-record.js'
import { checkFilesInWorker } from './file-check.js'
import { METADATA_FILE } from './filename.js'
import { defaultReaders, startReaders, startReading, type MetadataReading, type ReadAllOptions } from './metadata-reader.js'
import { packItemPathsShared } from './packed-paths.js'
import { ID_PATTERN, SOURCES, itemRecordSchema, type ItemRecord, type Source } from './record.js'
import { isPlainRecord, isOneComponent } from './record-check.js'

export interface LoadReport {
  items: number
  /** Where the index came from: every item's metadata, or the snapshot of a clean stop (index-snapshot.ts). */
  from: 'tree' | 'snapshot'
  /**
   * `{source}/{name}` directories without readable metadata, and (appended when the store's file
   * check after ready finds them) items whose data file does not match: left for the sweep to remove.
   */
  orphans: string[]
}

const PARKED = /^old~([a-z_]+)~(.+)$/

/** The tree's temp area, `{base}/.tmp`: drafts, parked items, metadata being written. */
export const TMP_DIR = '.tmp'

/** Makes the temp area and recovers what it holds (recoverTemp): the first step on a tree, under its lock. */
export async function prepareTemp(baseDir: string): Promise<void> {
  const tmpDir = join(baseDir, TMP_DIR)
  await mkdir(tmpDir, { recursive: true, mode: 0o750 })
  await recoverTemp(baseDir, tmpDir)
}

/**
 * Nothing is in flight at start, so every entry in .tmp is a leftover. A parked old item whose
 * replacement never arrived is renamed back: the crash then leaves the old state.
 */
export async function recoverTemp(baseDir: string, tmpDir: string): Promise<void> {
  for (const name of await readdir(tmpDir)) {
    const parked = PARKED.exec(name)
    if (parked) {
      const finalDir = join(baseDir, parked[1] as string, parked[2] as string)
      const present = await stat(finalDir).then(() => true, () => false)
      if (!present) {
        await rename(join(tmpDir, name), finalDir)
        continue
      }
    }
    await rm(join(tmpDir, name), { recursive: true, force: true })
  }
}

/**
 * One item from its metadata text (null: unreadable), or null when it is not a valid item of that
 * name: the record, and whether it was accepted as parsed (plain) or is zod's output. The data file
 * is not looked at here: a stat per item was a third of the load, and a committed item always has its
 * file (the draft is renamed in whole), so the check runs after ready (verifyFiles). A record whose
 * filename is not one path component is not an item either: its file_path would point outside its
 * directory.
 */
function checkItem(source: Source, name: string, text: string | null): { record: ItemRecord; plain: boolean } | null {
  if (text === null || !ID_PATTERN.test(name)) return null
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  // The common record is checked in place; anything else is zod's to decide (record-check.ts).
  if (isPlainRecord(value, source, name)) return { record: value, plain: true }
  const parsed = itemRecordSchema.safeParse(value)
  if (!parsed.success || parsed.data.source !== source || parsed.data.document_id !== name || !isOneComponent(parsed.data.filename)) return null
  return { record: parsed.data, plain: false }
}

/** Whether the record's data file is there with the recorded size. */
export async function fileMatches(record: Pick<ItemRecord, 'file_path' | 'file_size_bytes'>): Promise<boolean> {
  const file = await stat(record.file_path).catch(() => null)
  return file !== null && file.isFile() && file.size === record.file_size_bytes
}

/** From this many records on, the check runs on a worker thread (file-check.ts); below, a worker's start costs more than it saves. */
const WORKER_CHECK_MIN_ITEMS = 1024

export interface VerifyOptions {
  /** From this many records on, a worker stats the files (tests: 0, or Infinity for this thread). */
  workerMinItems?: number
  /** Tests: the worker fails at once, and the check falls back to this thread. */
  crashWorker?: boolean
}

/**
 * Checks every loaded record's data file and hands each mismatch to `mismatch`, which decides under
 * the item's lock (and stats the file again there); records that are no longer `current` are
 * skipped. A large list is statted on a worker thread; a small one, or the whole list after a
 * failed worker, a few files at a time on this thread, so the thread pool stays free for the
 * requests the service answers meanwhile. Stops early when `stopped()` says so; resolves true when
 * every file was checked.
 */
export async function verifyFiles(
  records: readonly IndexedFields[],
  mismatch: (record: IndexedFields) => Promise<void>,
  stopped: () => boolean,
  current: (record: IndexedFields) => boolean,
  options: VerifyOptions = {}
): Promise<boolean> {
  if (records.length >= (options.workerMinItems ?? WORKER_CHECK_MIN_ITEMS)) {
    const found = await checkFilesInWorker(records, stopped, { crash: options.crashWorker }).catch(() => null)
    if (found) {
      for (const i of found.mismatched) {
        if (stopped()) return false
        const record = records[i]!
        if (current(record)) await mismatch(record)
      }
      return found.complete && !stopped()
    }
  }
  return forEachConcurrently(
    records,
    4,
    async (record) => {
      // Replaced or removed since the load (a sweep running meanwhile, say): nothing to check.
      if (current(record) && !(await fileMatches(record))) await mismatch(record)
    },
    stopped
  )
}

export async function listSourceEntries(baseDir: string, source: Source): Promise<string[]> {
  try {
    return await readdir(join(baseDir, source))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Below this many items the tree is read on the main thread alone: a worker costs tens of milliseconds to start. */
const PARALLEL_LOAD_MIN_ITEMS = 4096

export interface LoadOptions extends ReadAllOptions {
  /** From this many items on, reader threads help (tests: 0). */
  parallelMinItems?: number
}

/** A load under way (startTreeLoad): the tree's items in key order, their metadata being read. */
export interface StartedLoad {
  /** Item i is `names[i]` in source `sources[sourceAt[i]]`. */
  readonly names: readonly string[]
  readonly sourceAt: Uint8Array
  readonly sources: readonly Source[]
  /** `{base}/{source}` for each of `sources`. */
  readonly sourceDirs: readonly string[]
  readonly reading: MetadataReading
}

function listSourceEntriesSync(baseDir: string, source: Source): string[] {
  try {
    return readdirSync(join(baseDir, source))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/**
 * How many items the source directories hold, by their link counts (2 plus one per subdirectory on
 * ext4, xfs and tmpfs), before they are listed; Infinity when a count says nothing (1: btrfs, or ext4
 * past 65,000 subdirectories).
 */
function itemsByLinkCount(sourceDirs: readonly string[]): number {
  let items = 0
  for (const dir of sourceDirs) {
    const info = statSync(dir, { throwIfNoEntry: false })
    if (!info) continue
    if (info.nlink < 2) return Infinity
    items += info.nlink - 2
  }
  return items
}

/**
 * Lists the tree's items in key order (so that every insertion into the index's sorted key arrays is
 * an append) and sets the metadata readers going; finishTreeLoad hands the records over. Synchronous
 * on purpose: this runs only at start-up, before the server listens, and sync calls cost a fifth of
 * the promise round trips; for a large tree, reader threads read ahead of this thread's parsing
 * (metadata-reader.ts), from here on. Where the directories' link counts say the tree is large, the
 * readers are started before the listing, so that their start (~0.1 s each) overlaps it.
 */
export function startTreeLoad(baseDir: string, options: LoadOptions = {}): StartedLoad {
  const sources = [...SOURCES].sort()
  const sourceDirs = sources.map((source) => join(baseDir, source))
  const parallelMin = options.parallelMinItems ?? PARALLEL_LOAD_MIN_ITEMS
  const readerOptions = { ...options, workers: options.workers ?? defaultReaders() }
  const early = itemsByLinkCount(sourceDirs) >= parallelMin ? startReaders(readerOptions) : null
  try {
    const perSource = sources.map((source) => listSourceEntriesSync(baseDir, source).sort())
    const count = perSource.reduce((n, list) => n + list.length, 0)
    const names = new Array<string>(count)
    const sourceAt = new Uint8Array(count)
    for (let s = 0, i = 0; s < sources.length; s++) {
      for (const name of perSource[s]!) {
        sourceAt[i] = s
        names[i++] = name
      }
    }
    const paths = packItemPathsShared(sourceDirs, perSource, METADATA_FILE)
    // Readers started early read even a tree smaller than their threshold: their start is paid for.
    const readers = early ?? startReaders({ ...readerOptions, workers: count >= parallelMin ? readerOptions.workers : 0 })
    const reading = startReading(paths, options, readers)
    return { names, sourceAt, sources, sourceDirs, reading }
  } catch (err) {
    early?.end()
    throw err
  }
}

/**
 * Checks every item of a started load and hands it to `add`, in key order; what is not an item is an
 * orphan. A record the load's own check accepted as parsed is handed over as loaded (LoadedRecord:
 * its text kept, parsed again on first use); one that took zod to accept, whole.
 */
export async function finishTreeLoad(load: StartedLoad, add: (entry: IndexEntry) => void): Promise<LoadReport> {
  const report: LoadReport = { items: 0, from: 'tree', orphans: [] }
  const { names, sourceAt, sources, sourceDirs } = load
  await load.reading.each((i, text, chunk, start, end) => {
    const s = sourceAt[i]!
    const source = sources[s]!
    const name = names[i]!
    const checked = checkItem(source, name, text)
    if (!checked) {
      report.orphans.push(`${source}/${name}`)
      return
    }
    const { record, plain } = checked
    if (plain) {
      add(new LoadedRecord(source, name, record.status, record.kind, record.file_size_bytes, record.updated_at, record.expires_at, sourceDirs[s]!, record.filename, chunk, start, end))
    } else {
      // The tree may have moved since the record was written: the path follows the tree.
      record.file_path = itemFilePath(sourceDirs[s]!, name, record.filename)
      add(record)
    }
    report.items++
  })
  return report
}

/** Reads every item's metadata into `add`, in key order (startTreeLoad, then finishTreeLoad). */
export async function loadTree(baseDir: string, add: (entry: IndexEntry) => void, options: LoadOptions = {}): Promise<LoadReport> {
  return finishTreeLoad(startTreeLoad(baseDir, options), add)
}
