// The batched file sink with early syncs: bytes land intact, at most one early fdatasync runs at a
// time, and a failed early sync fails the write even when the final fsync would succeed.
import fs, { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t, { type Test } from 'tap'
import { createBatchedFileWriter, type Batch, type DeferredSync } from '../../src/staging/batched-file-writer.js'
import { pieces } from '../helper.js'

const MIB = 1024 * 1024

function body(bytes: number): Buffer {
  const buf = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i += 4) buf.writeUInt32LE((i * 2654435761) >>> 0, i)
  return buf
}


/** Replaces FileHandle.prototype.datasync for one test; FileHandle itself is not exported. */
async function patchDatasync(t: Test, dir: string, replacement: (original: () => Promise<void>) => Promise<void>): Promise<void> {
  const probe = await open(join(dir, 'probe'), 'w')
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }
  await probe.close()
  const original = proto.datasync
  proto.datasync = function (this: unknown) {
    return replacement(() => original.call(this))
  }
  t.teardown(() => {
    proto.datasync = original
  })
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'batched-writer-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('early syncs overlap the writes, one at a time, and the bytes land intact', async (t) => {
  const dir = await tempDir(t)
  let calls = 0
  let inFlight = 0
  let maxInFlight = 0
  await patchDatasync(t, dir, async (original) => {
    calls++
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    try {
      await new Promise((resolve) => setTimeout(resolve, 5))
      await original()
    } finally {
      inFlight--
    }
  })
  const data = body(6 * MIB)
  const path = join(dir, 'out.bin')
  await pipeline(pieces(data), createBatchedFileWriter(path, { flags: 'wx', sync: true, earlySyncBytes: MIB }))
  // The final flush is an fsync, so every datasync was an early one; the slow sync spans several
  // 1 MiB thresholds, which must not start syncs of their own.
  t.ok(calls >= 1, `early syncs ran (${calls})`)
  t.equal(maxInFlight, 1, 'never more than one in flight')
  t.ok((await readFile(path)).equals(data), 'the file holds exactly the bytes written')
})

t.test('no early syncs without sync', async (t) => {
  const dir = await tempDir(t)
  let calls = 0
  await patchDatasync(t, dir, (original) => {
    calls++
    return original()
  })
  await pipeline(pieces(body(4 * MIB)), createBatchedFileWriter(join(dir, 'out.bin'), { earlySyncBytes: MIB }))
  t.equal(calls, 0)
})

t.test('a failed early sync fails the stream', async (t) => {
  const dir = await tempDir(t)
  await patchDatasync(t, dir, () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })))
  await t.rejects(
    pipeline(pieces(body(4 * MIB)), createBatchedFileWriter(join(dir, 'out.bin'), { sync: true, earlySyncBytes: MIB })),
    { code: 'EIO' }
  )
})

t.test('take sees every chunk before it is taken; a refusal fails the stream and takes no more', async (t) => {
  const dir = await tempDir(t)
  const data = body(3 * MIB)
  const seen: number[] = []
  await pipeline(pieces(data), createBatchedFileWriter(join(dir, 'all.bin'), { flags: 'wx', take: (chunk) => void seen.push(chunk.length) }))
  t.equal(seen.reduce((a, b) => a + b, 0), data.length, 'take saw every byte')
  t.ok((await readFile(join(dir, 'all.bin'))).equals(data), 'and the file holds them')

  let taken = 0
  const refusing = createBatchedFileWriter(join(dir, 'refused.bin'), {
    flags: 'wx',
    take: (chunk) => {
      if (taken + chunk.length > 2 * MIB) throw new Error('the body is longer than its declared 2097152 bytes')
      taken += chunk.length
    }
  })
  await t.rejects(pipeline(pieces(data), refusing), { message: /longer than its declared/ })
  t.equal(taken, 2 * MIB, 'nothing past the refused chunk was counted')
  const written = await readFile(join(dir, 'refused.bin')).catch(() => Buffer.alloc(0))
  t.ok(written.length <= 2 * MIB, `no refused byte reached the file (${written.length} bytes there; the draft removes it)`)
})

t.test('batches writeBatch hands back, at once or when they settle, are written by the writer at their offsets', async (t) => {
  const dir = await tempDir(t)
  const data = body(5 * MIB + 4320)
  const path = join(dir, 'mixed.bin')
  // Takes every other batch and writes it itself, on its own descriptor (as a worker would); hands
  // back the third at once and the last when asked to settle.
  const own = await open(path, 'w')
  t.teardown(() => own.close())
  const seen: number[] = []
  let deferred: Batch | null = null
  const writeBatch = async (batch: Batch): Promise<readonly Batch[]> => {
    seen.push(batch.position)
    const n = seen.length
    if (n === 3) return [batch]
    if (batch.position + batch.bytes >= data.length) {
      deferred = batch
      return []
    }
    if (n % 2 === 1) return [batch]
    await own.writev(batch.parts, batch.position)
    return []
  }
  const settleBatches = async () => (deferred ? [deferred] : [])
  await pipeline(pieces(data), createBatchedFileWriter(path, { sync: true, writeBatch, settleBatches }))
  t.ok(deferred, 'the last batch was handed back only when settling')
  t.same(seen, [...new Set(seen)].sort((a, b) => a - b), 'batches came in order, each once')
  t.ok((await readFile(path)).equals(data), 'the file holds every byte in its place')
})

t.test('every batch but the last ends on a 4 KiB boundary of the file, whatever the chunk sizes', async (t) => {
  const dir = await tempDir(t)
  const data = body(3 * MIB + 5000)
  const path = join(dir, 'aligned.bin')
  // Chunks of odd sizes, as a multipart parser hands them over.
  const chunks: Buffer[] = []
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = [65_533, 1, 40_000, 9_999][i % 4]!
    chunks.push(data.subarray(at, at + size))
    at += size
  }
  const own = await open(path, 'w')
  t.teardown(() => own.close())
  const taken: Batch[] = []
  const writeBatch = async (batch: Batch): Promise<readonly Batch[]> => {
    taken.push({ ...batch, parts: [...batch.parts] })
    await own.writev(batch.parts, batch.position)
    return []
  }
  await pipeline(Readable.from(chunks), createBatchedFileWriter(path, { sync: true, writeBatch, settleBatches: async () => [] }))
  t.ok(taken.length >= 3, `${taken.length} batches`)
  let at = 0
  for (const [i, batch] of taken.entries()) {
    t.equal(batch.position, at, `batch ${i} starts where the previous ended`)
    t.equal(batch.parts.reduce((n, p) => n + p.length, 0), batch.bytes, `batch ${i}: its parts hold its bytes`)
    if (i < taken.length - 1) t.equal((batch.position + batch.bytes) % 4096, 0, `batch ${i} ends on a block boundary`)
    at += batch.bytes
  }
  t.equal(at, data.length)
  t.ok((await readFile(path)).equals(data), 'the file holds every byte in its place')
})

t.test("a small body's final fsync waits for deferSync's sync(), which closes the file after it; drop() closes it without one", { skip: existsSync('/proc/self/fd') ? false : 'needs /proc/self/fd' }, async (t) => {
  const dir = await tempDir(t)
  // Every fsync(2) the writer asks the thread pool for (durable-fs imports node:fs's fsync).
  const fsyncs: number[] = []
  const original = fs.fsync
  fs.fsync = ((fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
    fsyncs.push(fd)
    original(fd, done)
  }) as typeof fs.fsync
  syncBuiltinESMExports()
  t.teardown(() => {
    fs.fsync = original
    syncBuiltinESMExports()
  })
  const openFiles = () => readdirSync('/proc/self/fd').length
  for (const end of ['sync', 'drop'] as const) {
    const path = join(dir, end)
    const handed: DeferredSync[] = []
    const before = openFiles()
    await pipeline(Readable.from([Buffer.from('a small body')]), createBatchedFileWriter(path, { flags: 'wx', sync: true, deferSync: (d) => handed.push(d) }))
    t.equal(handed.length, 1, `${end}: the final fsync is handed over once`)
    t.same(fsyncs, [], `${end}: and not started`)
    t.equal(openFiles(), before + 1, `${end}: the file stays open for it`)
    const deferred = handed[0]!
    if (end === 'sync') {
      const first = deferred.sync()
      t.equal(deferred.sync(), first, 'sync() starts it once')
      await first
      t.equal(fsyncs.length, 1, 'one fsync')
      await deferred.drop()
    } else {
      await deferred.drop()
      t.same(fsyncs, [], 'drop() makes no fsync')
      await t.rejects(deferred.sync(), /dropped before its fsync/, 'nor can one start after it')
    }
    t.equal(openFiles(), before, `${end}: the file is closed`)
    t.equal(await readFile(path, 'utf8'), 'a small body', `${end}: the bytes are in the file`)
    fsyncs.length = 0
  }
})
