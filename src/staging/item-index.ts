// The in-memory index of staged items: records by key, kept sorted for cursor paging,
// with running totals so stats and metrics never walk the items.
//
// The sorted keys are B+ trees (sorted-btree), not sorted arrays: removing one key from the middle of
// a 100k-element array with splice took ~175 µs here, so a sweep of 100k items spent ~17 s of the
// main thread on its index alone and every status change at 100k items ~190 µs; in the tree both are
// a few µs. A load (keys in ascending order) appends to arrays and the trees are built from them in
// one pass (bulk load) at the first other use: inserting 100k keys one by one into two trees cost
// ~90 ms more than the arrays' appends.
import type btree from 'sorted-btree'
import bulk from 'sorted-btree/extended/bulkLoad.js'
import { LoadedRecord, wholeRecord, type IndexEntry, type IndexedFields } from './loaded-record.js'
import { SOURCES, STATUSES, itemKey, type ItemRecord, type Kind, type Source, type Status } from './record.js'

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
/** The trees' branching factor (the package's default). */
const NODE_SIZE = 32
/** A sorted set of item keys (values unused). */
type KeySet = btree.default<string, undefined>
/** The set of `keys`, which must be in strictly ascending order (bulkLoad: a CommonJS module's export). */
const keySet = (keys: string[] = []): KeySet => bulk.bulkLoad<string, undefined>(keys, new Array<undefined>(keys.length), NODE_SIZE, compareKeys)

interface PendingKeys {
  all: string[]
  byStatus: Record<Status, string[]>
}

export interface IndexTotals {
  count: number
  bytes: number
  byStatus: Record<Status, number>
  bySource: Record<Source, number>
  bytesBySource: Record<Source, number>
}

export interface ListFilter {
  status?: Status | undefined
  source?: Source | undefined
  kind?: Kind | undefined
}

const zeroBy = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>
const perStatus = <T>(make: (status: Status) => T) => Object.fromEntries(STATUSES.map((s) => [s, make(s)])) as Record<Status, T>

export class ItemIndex {
  /** Whole records, and records as the start-up load left them (LoadedRecord), made whole on first use. */
  private readonly records = new Map<string, IndexEntry>()
  private sortedKeys = keySet()
  /** The same keys split by status, so a status filter walks only its own items. */
  private keysByStatus = perStatus(() => keySet())
  /** While every put has added a key above all before it, the keys wait here (settle builds the trees). */
  private pending: PendingKeys | null = { all: [], byStatus: perStatus(() => []) }
  private readonly totals: IndexTotals = {
    count: 0,
    bytes: 0,
    byStatus: zeroBy(STATUSES),
    bySource: zeroBy(SOURCES),
    bytesBySource: zeroBy(SOURCES)
  }

  get size(): number {
    return this.records.size
  }

  get(source: Source, documentId: string): ItemRecord | undefined {
    const key = itemKey(source, documentId)
    const entry = this.records.get(key)
    return entry && this.whole(key, entry)
  }

  /** The item's indexed fields without making a loaded record whole (the file check after a start). */
  peek(source: Source, documentId: string): IndexedFields | undefined {
    return this.records.get(itemKey(source, documentId))
  }

  /** Inserts or replaces a record, adjusting the totals. */
  put(record: IndexEntry): void {
    const key = itemKey(record.source, record.document_id)
    const old = this.records.get(key)
    if (old || !this.appendPending(key, record.status)) {
      this.settle()
      if (old) {
        this.count(old, -1)
        if (old.status !== record.status) this.keysByStatus[old.status].delete(key)
      } else {
        this.sortedKeys.set(key, undefined)
      }
      if (old?.status !== record.status) this.keysByStatus[record.status].set(key, undefined)
    }
    this.records.set(key, record)
    this.count(record, 1)
  }

  remove(source: Source, documentId: string): ItemRecord | undefined {
    const key = itemKey(source, documentId)
    const old = this.records.get(key)
    if (!old) return undefined
    this.settle()
    this.records.delete(key)
    this.sortedKeys.delete(key)
    this.keysByStatus[old.status].delete(key)
    this.count(old, -1)
    return wholeRecord(old)
  }

  /** A copy of the running totals. */
  snapshot(): IndexTotals {
    return {
      count: this.totals.count,
      bytes: this.totals.bytes,
      byStatus: { ...this.totals.byStatus },
      bySource: { ...this.totals.bySource },
      bytesBySource: { ...this.totals.bytesBySource }
    }
  }

  /** Records in key order after `afterKey`, matching `filter`, at most `limit`; `nextKey` when more may follow. */
  list(filter: ListFilter, limit: number, afterKey?: string): { items: ItemRecord[]; nextKey: string | null } {
    this.settle()
    const items: ItemRecord[] = []
    // Keys sort by source first, so a source filter is one contiguous run of the (status) set.
    const keys = filter.status ? this.keysByStatus[filter.status] : this.sortedKeys
    const prefix = filter.source ? `${filter.source}/` : ''
    const from = afterKey !== undefined && afterKey > prefix ? afterKey : prefix
    for (const key of keys.keys(from)) {
      if (key === afterKey) continue
      if (!key.startsWith(prefix)) break
      const entry = this.records.get(key) as IndexEntry
      if (filter.kind && entry.kind !== filter.kind) continue
      if (items.length === limit) return { items, nextKey: itemKey(items[items.length - 1]!.source, items[items.length - 1]!.document_id) }
      items.push(this.whole(key, entry))
    }
    return { items, nextKey: null }
  }

  /**
   * Every record in key order, not copied: for a reader that finishes before the next change (the
   * snapshot). A loaded record is parsed for it and left as it is in the index.
   */
  *inKeyOrder(): IterableIterator<ItemRecord> {
    this.settle()
    for (const key of this.sortedKeys.keys()) yield wholeRecord(this.records.get(key) as IndexEntry)
  }

  /** Every item's indexed fields in key order, nothing made whole (the file check after a start). */
  entries(): IndexedFields[] {
    this.settle()
    const out: IndexedFields[] = []
    for (const key of this.sortedKeys.keys()) out.push(this.records.get(key) as IndexEntry)
    return out
  }

  /**
   * Every item's indexed fields, nothing made whole, in the map's order; a copy so that changes during
   * iteration are safe (the sweep, and the event recovery, which make whole only what they act on).
   */
  allEntries(): IndexedFields[] {
    return [...this.records.values()]
  }

  /** Every record, made whole. */
  all(): ItemRecord[] {
    const out: ItemRecord[] = []
    for (const [key, entry] of this.records) out.push(this.whole(key, entry))
    return out
  }

  /** The whole record of an entry; a loaded one is parsed once and replaces its entry. */
  private whole(key: string, entry: IndexEntry): ItemRecord {
    if (!(entry instanceof LoadedRecord)) return entry
    const record = entry.parse()
    this.records.set(key, record)
    return record
  }

  /** A new key above every key so far, while the trees are not built yet: appended for settle. */
  private appendPending(key: string, status: Status): boolean {
    const pending = this.pending
    if (!pending || (pending.all.length > 0 && (pending.all[pending.all.length - 1] as string) >= key)) return false
    pending.all.push(key)
    pending.byStatus[status].push(key)
    return true
  }

  /** Builds the trees from the keys a load appended (a no-op once built). */
  private settle(): void {
    const pending = this.pending
    if (!pending) return
    this.pending = null
    this.sortedKeys = keySet(pending.all)
    this.keysByStatus = perStatus((s) => keySet(pending.byStatus[s]))
  }

  private count(record: IndexedFields, sign: 1 | -1): void {
    this.totals.count += sign
    this.totals.bytes += sign * record.file_size_bytes
    this.totals.byStatus[record.status] += sign
    this.totals.bySource[record.source] += sign
    this.totals.bytesBySource[record.source] += sign * record.file_size_bytes
  }
}
