// The in-memory index of staged items: records by key, kept sorted for cursor paging,
// with running totals so stats and metrics never walk the items.
import { SOURCES, STATUSES, itemKey, type ItemRecord, type Kind, type Source, type Status } from './record.js'

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

export class ItemIndex {
  private readonly records = new Map<string, ItemRecord>()
  private readonly sortedKeys: string[] = []
  /** The same keys split by status, so a status filter walks only its own items. */
  private readonly keysByStatus: Record<Status, string[]> = { active: [], success: [], failed: [] }
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
    return this.records.get(itemKey(source, documentId))
  }

  /** Inserts or replaces a record, adjusting the totals. */
  put(record: ItemRecord): void {
    const key = itemKey(record.source, record.document_id)
    const old = this.records.get(key)
    if (old) {
      this.count(old, -1)
      if (old.status !== record.status) removeSorted(this.keysByStatus[old.status], key)
    } else {
      insertSorted(this.sortedKeys, key)
    }
    if (old?.status !== record.status) insertSorted(this.keysByStatus[record.status], key)
    this.records.set(key, record)
    this.count(record, 1)
  }

  remove(source: Source, documentId: string): ItemRecord | undefined {
    const key = itemKey(source, documentId)
    const old = this.records.get(key)
    if (!old) return undefined
    this.records.delete(key)
    removeSorted(this.sortedKeys, key)
    removeSorted(this.keysByStatus[old.status], key)
    this.count(old, -1)
    return old
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
    const items: ItemRecord[] = []
    // Keys sort by source first, so a source filter is one contiguous run of the (status) array.
    const keys = filter.status ? this.keysByStatus[filter.status] : this.sortedKeys
    const prefix = filter.source ? `${filter.source}/` : ''
    let i = Math.max(afterKey === undefined ? 0 : position(keys, afterKey), position(keys, prefix))
    if (afterKey !== undefined && keys[i] === afterKey) i++
    for (; i < keys.length; i++) {
      const key = keys[i] as string
      if (!key.startsWith(prefix)) break
      const record = this.records.get(key) as ItemRecord
      if (filter.kind && record.kind !== filter.kind) continue
      if (items.length === limit) return { items, nextKey: itemKey(items[items.length - 1]!.source, items[items.length - 1]!.document_id) }
      items.push(record)
    }
    return { items, nextKey: null }
  }

  /** Every record in key order, not copied: for a reader that finishes before the next change. */
  *inKeyOrder(): IterableIterator<ItemRecord> {
    for (const key of this.sortedKeys) yield this.records.get(key) as ItemRecord
  }

  /** Every record, for the sweep; a copy so that changes during iteration are safe. */
  all(): ItemRecord[] {
    return [...this.records.values()]
  }

  private count(record: ItemRecord, sign: 1 | -1): void {
    this.totals.count += sign
    this.totals.bytes += sign * record.file_size_bytes
    this.totals.byStatus[record.status] += sign
    this.totals.bySource[record.source] += sign
    this.totals.bytesBySource[record.source] += sign * record.file_size_bytes
  }
}

/** Binary search: the index of the first key >= `key`. */
function position(keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((keys[mid] as string) < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

function insertSorted(keys: string[], key: string): void {
  // Loading inserts in key order: then every insertion is an append, with no search.
  if (keys.length === 0 || (keys[keys.length - 1] as string) < key) keys.push(key)
  else keys.splice(position(keys, key), 0, key)
}

function removeSorted(keys: string[], key: string): void {
  const i = position(keys, key)
  if (keys[i] === key) keys.splice(i, 1)
}
