// The index against a brute-force model: every filter combination, paged, after random changes.
import t, { type Test } from 'tap'
import { ItemIndex, type ListFilter } from '../../src/staging/item-index.js'
import { LoadedRecord } from '../../src/staging/loaded-record.js'
import { KINDS, SOURCES, STATUSES, itemKey, type ItemRecord } from '../../src/staging/record.js'

let seed = 42
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed % n
}
const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)] as T

function record(id: string): ItemRecord {
  const size = rand(1000)
  return {
    document_id: id,
    source: pick(SOURCES),
    kind: pick(KINDS),
    status: pick(STATUSES),
    created_at: '2026-01-05T10:30:00.000Z',
    updated_at: '2026-01-05T10:30:00.000Z',
    file_path: `/x/${id}`,
    filename: 'f',
    original_filename: null,
    content_type: 'application/octet-stream',
    file_size_bytes: size,
    sha256: '0'.repeat(64),
    source_location: null,
    error: null,
    expires_at: null
  }
}

/** Random puts, status changes and removes of ids D-0..D-599, applied to the index and the model alike. */
function change(index: ItemIndex, model: Map<string, ItemRecord>, steps: number): void {
  for (let step = 0; step < steps; step++) {
    const id = `D-${rand(600)}`
    const op = rand(10)
    const existing = [...model.values()].find((r) => r.document_id === id)
    if (op < 6) {
      const r = record(id)
      index.put(r)
      model.set(itemKey(r.source, r.document_id), r)
    } else if (op < 8 && existing) {
      const changed = { ...existing, status: pick(STATUSES) }
      index.put(changed)
      model.set(itemKey(changed.source, changed.document_id), changed)
    } else if (existing) {
      index.remove(existing.source, existing.document_id)
      model.delete(itemKey(existing.source, existing.document_id))
    }
  }
}

/** Totals, every filter combination paged by 7, and the key order, against the model. */
function matchesModel(t: Test, index: ItemIndex, model: Map<string, ItemRecord>): void {
  t.equal(index.size, model.size)
  const all = [...model.values()]
  const totals = index.snapshot()
  t.equal(totals.count, all.length)
  t.equal(totals.bytes, all.reduce((n, r) => n + r.file_size_bytes, 0))
  for (const s of STATUSES) t.equal(totals.byStatus[s], all.filter((r) => r.status === s).length, `count ${s}`)
  for (const s of SOURCES) t.equal(totals.bytesBySource[s], all.filter((r) => r.source === s).reduce((n, r) => n + r.file_size_bytes, 0), `bytes ${s}`)

  const filters: ListFilter[] = [{}]
  for (const status of [undefined, ...STATUSES])
    for (const source of [undefined, ...SOURCES])
      for (const kind of [undefined, ...KINDS]) filters.push({ status, source, kind })
  for (const filter of filters) {
    const expected = all
      .filter((r) => (!filter.status || r.status === filter.status) && (!filter.source || r.source === filter.source) && (!filter.kind || r.kind === filter.kind))
      .map((r) => itemKey(r.source, r.document_id))
      .sort()
    const got: string[] = []
    let after: string | undefined
    for (let page = 0; page < 1000; page++) {
      const { items, nextKey } = index.list(filter, 7, after)
      got.push(...items.map((r) => itemKey(r.source, r.document_id)))
      if (nextKey === null) break
      after = nextKey
    }
    t.same(got, expected, `filter ${JSON.stringify(filter)}`)
  }
  t.same([...index.inKeyOrder()].map((r) => itemKey(r.source, r.document_id)), [...model.keys()].sort(), 'every record in key order')
}

t.test('lists, pages and totals match a brute-force model', async (t) => {
  const index = new ItemIndex()
  const model = new Map<string, ItemRecord>()
  change(index, model, 3000)
  matchesModel(t, index, model)
})

t.test('a load in key order (built in one pass) and then changes match the model', async (t) => {
  // Ids the changes also use (D-…), so that they replace, re-file and remove loaded items.
  const loaded = Array.from({ length: 400 }, (_, i) => record(`D-${i}`)).sort((a, b) => (itemKey(a.source, a.document_id) < itemKey(b.source, b.document_id) ? -1 : 1))
  for (const firstUse of ['list', 'put', 'remove', 'inKeyOrder'] as const) {
    const index = new ItemIndex()
    const model = new Map<string, ItemRecord>()
    for (const r of loaded) {
      index.put(r)
      model.set(itemKey(r.source, r.document_id), r)
    }
    // The first use after the load builds the sorted sets; every kind of use must see them whole.
    const first = loaded[137]!
    if (firstUse === 'list') t.equal(index.list({}, 1000).items.length, loaded.length, 'the load, listed')
    if (firstUse === 'put') {
      const failed = { ...first, status: first.status === 'failed' ? ('active' as const) : ('failed' as const) }
      index.put(failed)
      model.set(itemKey(failed.source, failed.document_id), failed)
    }
    if (firstUse === 'remove') {
      index.remove(first.source, first.document_id)
      model.delete(itemKey(first.source, first.document_id))
    }
    if (firstUse === 'inKeyOrder') t.equal([...index.inKeyOrder()].length, loaded.length)
    matchesModel(t, index, model)
    change(index, model, 1500)
    matchesModel(t, index, model)
  }
})

t.test('records as the load left them count at once, and every use gives the whole record, parsed from their text', async (t) => {
  // As finishTreeLoad hands them over: the fields the index reads, and the text in a shared chunk.
  const sourceDir = (source: string) => `/tree/${source}`
  const wholes = Array.from({ length: 300 }, (_, i) => ({
    ...record(`L-${i}`),
    filename: `f-${i}.pdf`,
    original_filename: i % 2 ? 'ünïcode.pdf' : null,
    updated_at: `2026-01-0${1 + (i % 9)}T10:30:00.000Z`,
    expires_at: i % 4 ? null : '2026-02-01T00:00:00.000Z'
  }))
    .map((r) => ({ ...r, file_path: `${sourceDir(r.source)}/${r.document_id}/${r.filename}` }))
    .sort((a, b) => (itemKey(a.source, a.document_id) < itemKey(b.source, b.document_id) ? -1 : 1))
  const index = new ItemIndex()
  const model = new Map<string, ItemRecord>()
  for (let c = 0; c < wholes.length; c += 64) {
    const texts = wholes.slice(c, c + 64).map((r) => Buffer.from(JSON.stringify({ ...r, file_path: '/where/it/was/written' }, null, 2)))
    const chunk = Buffer.concat(texts)
    let at = 0
    texts.forEach((text, i) => {
      const r = wholes[c + i]!
      index.put(new LoadedRecord(r.source, r.document_id, r.status, r.kind, r.file_size_bytes, r.updated_at, r.expires_at, sourceDir(r.source), r.filename, chunk, at, at + text.length))
      model.set(itemKey(r.source, r.document_id), r)
      at += text.length
    })
  }
  const [a, b, c] = [wholes[3]!, wholes[150]!, wholes[299]!]
  t.ok(index.peek(a.source, a.document_id) instanceof LoadedRecord, 'kept as loaded until used')
  t.same(
    index.entries().map((e) => [e.source, e.document_id, e.status, e.kind, e.file_size_bytes, e.file_path]),
    wholes.map((r) => [r.source, r.document_id, r.status, r.kind, r.file_size_bytes, r.file_path]),
    'the file check sees every item, its path following the tree'
  )
  t.same(
    index.allEntries().map((e) => [e.source, e.document_id, e.status, e.updated_at, e.expires_at]).sort(),
    wholes.map((r) => [r.source, r.document_id, r.status, r.updated_at, r.expires_at]).sort(),
    'the sweep and the event recovery see what they decide on'
  )
  t.same([...index.inKeyOrder()], wholes, 'the snapshot gets whole records')
  t.ok(index.peek(a.source, a.document_id) instanceof LoadedRecord, 'which are not kept: the index stays small')
  t.same(index.get(a.source, a.document_id), a, 'get gives the whole record')
  t.equal(index.get(a.source, a.document_id), index.get(a.source, a.document_id), 'parsed once, then kept')
  t.notOk(index.peek(a.source, a.document_id) instanceof LoadedRecord)
  t.same(index.remove(b.source, b.document_id), b, 'a removal answers the whole record')
  model.delete(itemKey(b.source, b.document_id))
  const changed = { ...c, status: c.status === 'failed' ? ('active' as const) : ('failed' as const) }
  index.put(changed)
  model.set(itemKey(c.source, c.document_id), changed)
  matchesModel(t, index, model)
  t.same(index.all().sort((x, y) => (itemKey(x.source, x.document_id) < itemKey(y.source, y.document_id) ? -1 : 1)), [...model.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, r]) => r), 'the sweep gets whole records')
  t.same(index.list({}, 1000).items, [...model.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, r]) => r), 'so does a list')
  change(index, model, 1500)
  matchesModel(t, index, model)
})
