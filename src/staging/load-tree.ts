// Start-up: recover interrupted commits in .tmp, then read every item's metadata into the index:
// startTreeLoad (tree-listing.ts) lists the tree and sets the readers going (early, from
// prepared-tree.ts, in a process that runs the service), finishTreeLoad checks each record and hands it over. Each item's
// data file is checked against its record after the service is ready (verifyFiles).
import { stat } from 'node:fs/promises'
import { forEachConcurrently } from './concurrently.js'
import { LoadedRecord, itemFilePath, type IndexEntry, type IndexedFields } from './loaded-record.js'
import { checkFilesInWorker } from './file-check.js'
import { ID_PATTERN, itemRecordSchema, type ItemRecord, type Source } from './record.js'
import { isPlainRecord, isOneComponent } from './record-check.js'
import { startTreeLoad, type LoadOptions, type StartedLoad } from './tree-listing.js'

export { TMP_DIR, prepareTemp, recoverTemp, startTreeLoad, type LoadOptions, type StartedLoad } from './tree-listing.js'

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
