// The start-up load checks the common record by hand instead of with zod; what the hand check accepts,
// the schema must accept too, or a record the API would refuse could enter the index.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadTree } from '../../src/staging/load-tree.js'
import { wholeRecord } from '../../src/staging/loaded-record.js'
import { isPlainRecord } from '../../src/staging/record-check.js'
import { itemRecordSchema, type ItemRecord } from '../../src/staging/record.js'
import { tempDir } from '../helper.js'

const valid = (): Record<string, unknown> => ({
  document_id: 'DOC-1',
  source: 'frontapp',
  kind: 'document',
  status: 'active',
  created_at: '2026-01-05T10:30:00.000Z',
  updated_at: '2026-01-05T10:30:00.000Z',
  file_path: '/elsewhere/frontapp/DOC-1/doc.pdf',
  filename: 'doc.pdf',
  original_filename: 'dóc.pdf',
  content_type: 'application/pdf',
  file_size_bytes: 3,
  sha256: 'a'.repeat(64),
  source_location: null,
  error: null,
  expires_at: null
})

/** Values that are wrong somewhere, or right only for some fields. */
const ODD_VALUES: unknown[] = [
  undefined, null, '', 'x', 0, -1, 1.5, 2 ** 53, -0, true, [], {}, ['a'],
  '2026-02-30T10:30:00.000Z', '2024-02-29T10:30:00.000Z', '2026-01-05T10:30:00Z', '2026-01-05T10:30:00.000+01:00',
  '2026-01-05T24:00:00.000Z', '2026-01-05 10:30:00.000Z', '2026-01-05T10:30:00.0000Z', '2026-01-05T10:30:00.000z',
  'A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64), 'a'.repeat(65),
  'document', 'structured', 'folder', 'active', 'success', 'failed', 'gone', 'frontapp', 'http',
  'DOC-1', 'doc.pdf', '../doc.pdf', 'a/b', '.', '..', '.hidden', 'a\0b'
]

t.test('whatever the hand check accepts, the schema accepts', async (t) => {
  t.ok(isPlainRecord(valid(), 'frontapp', 'DOC-1'), 'a record as the store writes it takes the fast path')
  t.ok(isPlainRecord({ ...valid(), status: 'failed', error: 'x', expires_at: '2026-01-06T10:30:00.000Z', extra: { a: 1 } }, 'frontapp', 'DOC-1'), 'failed, with an unknown field kept')
  let accepted = 0
  let checked = 0
  for (const field of Object.keys(valid())) {
    for (const odd of ODD_VALUES) {
      const value = valid()
      if (odd === undefined) delete value[field]
      else value[field] = odd
      checked++
      if (!isPlainRecord(value, 'frontapp', 'DOC-1')) continue
      accepted++
      const parsed = itemRecordSchema.safeParse(value)
      if (!parsed.success) t.fail(`${field} = ${JSON.stringify(odd)} passed the hand check but not the schema`)
    }
  }
  t.ok(accepted > 0 && accepted < checked, `${accepted} of ${checked} variants accepted, each one by the schema too`)
  for (const odd of [null, [], 'x', 3]) t.notOk(isPlainRecord(odd, 'frontapp', 'DOC-1'), `${JSON.stringify(odd)} is no record`)
  t.notOk(isPlainRecord(valid(), 'http', 'DOC-1'), 'another source')
  t.notOk(isPlainRecord(valid(), 'frontapp', 'DOC-2'), 'another id')
})

t.test('the load keeps what the schema accepts and refuses a filename that leaves its directory', async (t) => {
  const baseDir = await tempDir(t)
  const write = async (id: string, record: Record<string, unknown>) => {
    const dir = join(baseDir, 'frontapp', id)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, '.metadata.json'), JSON.stringify({ ...record, document_id: id }))
  }
  await write('A-PLAIN', valid())
  // A leading dot (sanitiseFilename no longer makes one) is still one path component: kept.
  await write('B-DOT', { ...valid(), filename: '.hidden' })
  await write('C-ESCAPE', { ...valid(), filename: '../../../etc/passwd' })
  await write('D-SLASH', { ...valid(), filename: 'a/b.pdf' })
  await write('E-BADDATE', { ...valid(), created_at: '2026-02-30T10:30:00.000Z' })
  const records: ItemRecord[] = []
  const report = await loadTree(baseDir, (r) => records.push(wholeRecord(r)))
  t.same(records.map((r) => [r.document_id, r.file_path]), [
    ['A-PLAIN', join(baseDir, 'frontapp', 'A-PLAIN', 'doc.pdf')],
    ['B-DOT', join(baseDir, 'frontapp', 'B-DOT', '.hidden')]
  ])
  t.same(report.orphans, ['frontapp/C-ESCAPE', 'frontapp/D-SLASH', 'frontapp/E-BADDATE'])
})
