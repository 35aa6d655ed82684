// Start-up's first steps on a local tree, taken before the rest of the service is loaded (the head
// start, prepared-tree.ts): recover interrupted commits in .tmp, list the items in key order and set
// the metadata readers going. What is read is checked and indexed by load-tree.ts. Nothing here
// loads the record's schema (zod): the head start begins before that is compiled.
import { readdirSync, statSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { METADATA_FILE } from './filename.js'
import { defaultReaders, startReaders, startReading, type MetadataReading, type ReadAllOptions } from './metadata-reader.js'
import { packPathListShared } from './packed-paths.js'
import type { Source } from './record.js'
import { SOURCES } from './record-names.js'

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

/** A source directory's entries (the start-up listing); none while the directory does not exist. */
function listSourceEntriesSync(baseDir: string, source: Source): string[] {
  try {
    return readdirSync(join(baseDir, source))
  } catch (err) {
    return noneIfMissing(err)
  }
}

/** The same, off this thread (the sweep's orphan scan, while the service runs). */
export async function listSourceEntries(baseDir: string, source: Source): Promise<string[]> {
  try {
    return await readdir(join(baseDir, source))
  } catch (err) {
    return noneIfMissing(err)
  }
}

function noneIfMissing(err: unknown): string[] {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
  throw err
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
    // A builtin, not a loop of this thread's: at start-up the loop would run cold, in the interpreter.
    const names = perSource.flat()
    const count = names.length
    const paths = packPathListShared(
      sourceDirs.map((dir) => `${dir}/`),
      perSource.map((list) => list.length),
      names,
      `/${METADATA_FILE}`
    )
    const sourceAt = paths.headAt
    // Readers started early read even a tree smaller than their threshold: their start is paid for.
    const readers = early ?? startReaders({ ...readerOptions, workers: count >= parallelMin ? readerOptions.workers : 0 })
    const reading = startReading({ shared: paths, names }, options, readers)
    return { names, sourceAt, sources, sourceDirs, reading }
  } catch (err) {
    early?.end()
    throw err
  }
}
