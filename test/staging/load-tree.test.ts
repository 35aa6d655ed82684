// The tree loader: reader threads read a large tree's metadata in chunks ahead of the main thread's
// parsing; however the chunks fall, the load must give exactly what one thread reading every item
// gives, in key order, with the same orphans.
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { join } from 'node:path'
import t from 'tap'
import { checkFilesInWorker } from '../../src/staging/file-check.js'
import { loadTree, verifyFiles, type LoadOptions, type VerifyOptions } from '../../src/staging/load-tree.js'
import { wholeRecord } from '../../src/staging/loaded-record.js'
import { readAllMetadata } from '../../src/staging/metadata-reader.js'
import type { ItemRecord, Source } from '../../src/staging/record.js'
import { itemRecord as record, tempDir, writeTreeItem as writeItem } from '../helper.js'

const execFileAsync = promisify(execFile)

async function load(baseDir: string, options: LoadOptions) {
  const records: ItemRecord[] = []
  const report = await loadTree(baseDir, (r) => records.push(wholeRecord(r)), options)
  return { records, report }
}

t.test('reader threads give the same records, in key order, with the same orphans', async (t) => {
  const baseDir = await tempDir(t)
  const sources: Source[] = ['http', 'frontapp', 'turvo']
  for (let i = 0; i < 60; i++) {
    const source = sources[i % 3]!
    const id = `D-${String(i).padStart(3, '0')}`
    await writeItem(baseDir, source, id, JSON.stringify(record(source, id), null, 2))
  }
  // Unreadable (a directory where the file should be), not JSON, another item's record, and one
  // longer than the reader's 64 KiB buffer, all near the end.
  await writeItem(baseDir, 'turvo', 'Z-DIR', null)
  await writeItem(baseDir, 'turvo', 'Z-JUNK', '{ not json')
  await writeItem(baseDir, 'turvo', 'Z-OTHER', JSON.stringify(record('turvo', 'SOMEONE-ELSE')))
  await writeItem(baseDir, 'turvo', 'Z-LONG', JSON.stringify(record('turvo', 'Z-LONG', { status: 'failed', error: 'é'.repeat(70_000), expires_at: '2026-01-06T10:30:00.000Z' })))

  const one = await load(baseDir, { parallelMinItems: Infinity })
  t.equal(one.records.length, 61)
  // Every chunk from the readers; chunks shared between this thread and a reader; the defaults.
  const ways: Record<string, LoadOptions> = {
    'readers only': { parallelMinItems: 0, workers: 2, chunkItems: 5, onlyWorkersRead: true },
    'shared chunks': { parallelMinItems: 0, workers: 1, chunkItems: 3 },
    defaults: { parallelMinItems: 0 }
  }
  let two = one
  for (const [way, options] of Object.entries(ways)) {
    two = await load(baseDir, options)
    t.same(two.records, one.records, `${way}: the same records`)
    t.same(two.report, one.report, `${way}: the same report`)
  }
  t.same(one.report.orphans, ['turvo/Z-DIR', 'turvo/Z-JUNK', 'turvo/Z-OTHER'])
  const keys = two.records.map((r) => `${r.source}/${r.document_id}`)
  t.same(keys, [...keys].sort(), 'in key order')
  const long = two.records.find((r) => r.document_id === 'Z-LONG')
  t.equal(long?.error, 'é'.repeat(70_000), 'a record past the buffer is read whole')
  t.equal(two.records[0]?.file_path, join(baseDir, 'frontapp', 'D-001', 'doc.pdf'), 'the path follows the tree')
  t.equal(two.records[0]?.original_filename, 'dóc ünïcode.pdf')
})

t.test('readers put together paths under a base directory that is not ASCII', async (t) => {
  const baseDir = join(await tempDir(t), 'bäse ✓ 目录')
  for (let i = 0; i < 30; i++) {
    const source: Source = i % 2 ? 'https' : 'local_upload'
    const id = `N-${i}`
    await writeItem(baseDir, source, id, JSON.stringify(record(source, id)))
  }
  const one = await load(baseDir, { parallelMinItems: Infinity })
  const readers = await load(baseDir, { parallelMinItems: 0, workers: 2, chunkItems: 4, onlyWorkersRead: true })
  t.equal(one.records.length, 30)
  t.same(readers.records, one.records, 'the readers read every item this thread reads')
  t.same(readers.report, one.report)
})

t.test('a reader answers null for what it cannot read and the text of the rest, in order', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'a'), 'first')
  await writeFile(join(dir, 'c'), '')
  await writeFile(join(dir, 'd'), 'fourth ✓')
  const paths = [join(dir, 'a'), join(dir, 'missing'), join(dir, 'c'), join(dir, 'd')]
  for (const options of [{ workers: 2, chunkItems: 1, onlyWorkersRead: true }, { workers: 0 }]) {
    const seen: [number, string | null][] = []
    await readAllMetadata(paths, (i, text) => seen.push([i, text]), options)
    t.same(seen, [[0, 'first'], [1, null], [2, ''], [3, 'fourth ✓']], JSON.stringify(options))
  }
})

t.test('readers open paths that are not ASCII (they get them as UTF-8 byte ranges) and reuse one buffer across chunks', async (t) => {
  const dir = join(await tempDir(t), 'dïr ✓ 目录')
  await mkdir(dir)
  const paths: string[] = []
  for (let i = 0; i < 12; i++) {
    paths.push(join(dir, `fïle-${'é'.repeat(i)}-${i}`))
    // Every fourth text is past the reader's first buffer, so later chunks follow a grown one.
    await writeFile(paths[i]!, i % 4 === 3 ? `big ${i} ${'x'.repeat(300_000)}` : `text ✓ ${i}`)
  }
  const expected = paths.map((_, i) => [i, i % 4 === 3 ? `big ${i} ${'x'.repeat(300_000)}` : `text ✓ ${i}`])
  for (const chunkItems of [1, 2, 5]) {
    const seen: [number, string | null][] = []
    await readAllMetadata(paths, (i, text) => seen.push([i, text]), { workers: 2, chunkItems, onlyWorkersRead: true })
    t.same(seen, expected, `chunks of ${chunkItems}`)
  }
})

t.test('readers that fail with chunks claimed leave them to this thread: nothing is lost or repeated', async (t) => {
  const dir = await tempDir(t)
  const paths: string[] = []
  for (let i = 0; i < 40; i++) {
    paths.push(join(dir, `m-${i}`))
    await writeFile(paths[i]!, `text ${i}`)
  }
  for (const onlyWorkersRead of [true, false]) {
    const seen: [number, string | null][] = []
    await readAllMetadata(paths, (i, text) => seen.push([i, text]), { workers: 2, chunkItems: 3, onlyWorkersRead, crashReaders: true })
    t.same(seen, paths.map((_, i) => [i, `text ${i}`]), `every text once, in order (only readers may claim: ${onlyWorkersRead})`)
  }
})

t.test('a load whose readers all fail finishes in a process with nothing else to keep it alive', async (t) => {
  // A pending Atomics.waitAsync holds no event-loop handle: a start-up left waiting on it would exit
  // silently. A child process with only the load in it shows it finishes and prints every text.
  const dir = await tempDir(t)
  for (let i = 0; i < 20; i++) await writeFile(join(dir, `m-${i}`), `t${i}`)
  const script = `
    const { readAllMetadata } = await import(${JSON.stringify(new URL('../../src/staging/metadata-reader.ts', import.meta.url).href)})
    const paths = Array.from({ length: 20 }, (_, i) => ${JSON.stringify(dir)} + '/m-' + i)
    const seen = []
    await readAllMetadata(paths, (i, text) => seen.push(text), { workers: 2, chunkItems: 2, onlyWorkersRead: true, crashReaders: true })
    console.log(seen.join(','))
  `
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
  t.equal(stdout.trim(), Array.from({ length: 20 }, (_, i) => `t${i}`).join(','))
})

t.test('a load whose listing fails ends the readers started for it before the listing, and the process exits', async (t) => {
  // The readers start before the tree is listed (the link counts say it is large: parallelMinItems 0)
  // and wait for their list; a listing that throws must end them, or they would hold the process.
  const baseDir = await tempDir(t)
  await writeItem(baseDir, 'http', 'A-1', JSON.stringify(record('http', 'A-1')))
  await writeFile(join(baseDir, 'https'), 'a file where a source directory belongs')
  const script = `
    const { startTreeLoad } = await import(${JSON.stringify(new URL('../../src/staging/load-tree.ts', import.meta.url).href)})
    try {
      startTreeLoad(${JSON.stringify(baseDir)}, { parallelMinItems: 0, workers: 2 })
      console.log('listed')
    } catch (err) {
      console.log('refused: ' + err.code)
    }
  `
  // From a file: a child evaluating the same script with -e exited here even with its readers left waiting.
  const file = join(await tempDir(t), 'listing-fails.mts')
  await writeFile(file, script)
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', file], { timeout: 20_000 })
  t.equal(stdout.trim(), 'refused: ENOTDIR', 'the listing failed, and the process ended on its own')
})

/** Records with real data files under `dir`: each name's file holds 3 bytes unless `spoil` says otherwise. */
async function filesFor(dir: string, names: string[], spoil: Record<string, 'missing' | 'short' | 'directory'>): Promise<ItemRecord[]> {
  const records: ItemRecord[] = []
  for (const name of names) {
    const itemDir = join(dir, name)
    await mkdir(itemDir, { recursive: true })
    const file_path = join(itemDir, 'dóc.pdf')
    const how = spoil[name]
    if (how === 'short') await writeFile(file_path, 'pd')
    else if (how === 'directory') await mkdir(file_path)
    else if (how !== 'missing') await writeFile(file_path, 'pdf')
    records.push(record('local_upload', name, { file_path, filename: 'dóc.pdf' }))
  }
  return records
}

const SPOILED = { 'ID-1': 'missing', 'ID-4': 'short', 'ID-6': 'directory' } as const
const ids = (n: number) => Array.from({ length: n }, (_, i) => `ID-${i}`)

t.test('the file check finds the same mismatches on a worker thread, on this thread, and after a worker fails', async (t) => {
  const dir = await tempDir(t)
  const records = await filesFor(dir, ids(9), SPOILED)
  const runs: [string, VerifyOptions][] = [
    ['worker', { workerMinItems: 0 }],
    ['this thread', { workerMinItems: Infinity }],
    ['worker failing, then this thread', { workerMinItems: 0, crashWorker: true }]
  ]
  for (const [how, options] of runs) {
    const handed: string[] = []
    const complete = await verifyFiles(records, async (r) => void handed.push(r.document_id), () => false, () => true, options)
    t.equal(complete, true, `${how}: every file checked`)
    t.same(handed.sort(), ['ID-1', 'ID-4', 'ID-6'], `${how}: the missing, the short and the directory (non-ASCII paths)`)
  }
})

t.test('the worker check skips records that are no longer current, and a stopped check hands over nothing', async (t) => {
  const dir = await tempDir(t)
  const records = await filesFor(dir, ids(9), SPOILED)
  const handed: string[] = []
  const complete = await verifyFiles(records, async (r) => void handed.push(r.document_id), () => false, (r) => r.document_id !== 'ID-4', { workerMinItems: 0 })
  t.equal(complete, true)
  t.same(handed.sort(), ['ID-1', 'ID-6'], 'ID-4 was replaced meanwhile: not handed over')

  const stopped = await verifyFiles(records, async (r) => void handed.push(r.document_id), () => true, () => true, { workerMinItems: 0 })
  t.equal(stopped, false, 'a stopped check is not complete')
  t.same(handed.sort(), ['ID-1', 'ID-6'], 'and hands nothing over')
})

t.test('a worker told to stop answers before it has checked every file', async (t) => {
  // Paths that do not exist, three chunks and one more; the stop is seen at the first answer or the
  // first poll, whichever comes first.
  const dir = await tempDir(t)
  const files = Array.from({ length: 3 * 4096 + 1 }, (_, i) => ({ file_path: join(dir, `absent-${i}`), file_size_bytes: 1 }))
  const found = await checkFilesInWorker(files, () => true)
  t.equal(found.complete, false)
  t.ok(found.mismatched.length < files.length, `stopped after ${found.mismatched.length} of ${files.length}`)
  t.same(found.mismatched, found.mismatched.map((_, i) => i), 'what was found before the stop: the first positions, in order')
  const all = await checkFilesInWorker(files, () => false)
  t.same(all, { mismatched: files.map((_, i) => i), complete: true }, 'unstopped: every position, across chunks, in order')
})

t.test('a worker that fails is a rejection, not a hang', async (t) => {
  const dir = await tempDir(t)
  await t.rejects(checkFilesInWorker([{ file_path: join(dir, 'x'), file_size_bytes: 1 }], () => false, { crash: true }), /failing on purpose/)
})
