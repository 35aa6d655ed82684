// Large bodies are written and hashed by worker threads, and adopted files hashed by workers reading
// them back as they grow (hash-workers.ts, body-digest.ts): the workers themselves against real files,
// then uploads and pulls through HTTP past the inline limit, with a Repr-Digest mismatch and with
// workers that die mid-body.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { INLINE_HASH_BYTES } from '../../src/staging/body-digest.js'
import { HashWorkers, type HashJob, type WriteSwitch } from '../../src/staging/hash-workers.js'
import { buildTestApp, multipartBody, takesDirectWrites, tempDir } from '../helper.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const MiB = 1024 * 1024
/** Past the inline limit, and not a whole number of the workers' 1 MiB reads. */
const big = () => randomBytes(INLINE_HASH_BYTES + 3 * MiB + 12345)

t.test('one worker hashes two files written in turns, each up to what was written', async (t) => {
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1 })
  t.teardown(() => workers.close())
  const a = randomBytes(5 * MiB + 7)
  const b = randomBytes(3 * MiB + 1)
  await writeFile(join(dir, 'a'), '')
  await writeFile(join(dir, 'b'), '')
  const ja = workers.start(join(dir, 'a'))
  const jb = workers.start(join(dir, 'b'))
  for (let at = 0; at < a.length; at += 700_000) {
    await appendFile(join(dir, 'a'), a.subarray(at, at + 700_000))
    ja.written(Math.min(a.length, at + 700_000))
    // b grows at half a's pace; its tail is written after the loop.
    const bEnd = Math.min(b.length, Math.floor(a.length / 2), at / 2 + 350_000)
    await appendFile(join(dir, 'b'), b.subarray(at / 2, bEnd))
    jb.written(bEnd)
  }
  const bRest = Math.min(b.length, Math.floor(a.length / 2))
  await appendFile(join(dir, 'b'), b.subarray(bRest))
  t.same(await Promise.all([ja.finish(a.length), jb.finish(b.length)]), [sha(a), sha(b)])
})

t.test('a worker idle between writes hashes each new part, and answers itself (no fallback)', async (t) => {
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1 })
  t.teardown(() => workers.close())
  const body = randomBytes(12 * MiB)
  await writeFile(join(dir, 'slow'), '')
  const job = workers.start(join(dir, 'slow'))
  for (let at = 0; at < body.length; at += 3 * MiB) {
    await appendFile(join(dir, 'slow'), body.subarray(at, at + 3 * MiB))
    job.written(at + 3 * MiB)
    // Long enough for the worker to run out of bytes and wait.
    await new Promise((resolve) => setTimeout(resolve, 60))
  }
  // finish rejects (HashWorkerGone) if the worker has gone away meanwhile.
  t.equal(await job.finish(body.length), sha(body))
})

/** `buf` cut into parts of assorted sizes (none a multiple of the worker's write piece), in batches of about `batchBytes`. */
function batches(buf: Buffer, batchBytes: number): { parts: Buffer[]; bytes: number; position: number }[] {
  const out: { parts: Buffer[]; bytes: number; position: number }[] = []
  let at = 0
  let cut = 0
  while (at < buf.length) {
    const parts: Buffer[] = []
    const position = at
    while (at < buf.length && at - position < batchBytes) {
      const part = buf.subarray(at, at + [65536, 1000, 70001, 17][cut++ % 4]!)
      parts.push(part)
      at += part.length
    }
    out.push({ parts, bytes: at - position, position })
  }
  return out
}

t.test('writing jobs: a worker writes the batches into the file in order and hashes them, two files in turns, two batches in flight', async (t) => {
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1, direct: 'always' })
  t.teardown(() => workers.close())
  const a = randomBytes(3 * MiB + 12345)
  const b = randomBytes(2 * MiB + 7)
  const [wantA, wantB] = [Buffer.from(a), Buffer.from(b)]
  await writeFile(join(dir, 'a'), '')
  await writeFile(join(dir, 'b'), '')
  const ja = workers.startWriting(join(dir, 'a'))
  const jb = workers.startWriting(join(dir, 'b'))
  const ba = batches(a, 700_000)
  const bb = batches(b, 300_000)
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < Math.max(ba.length, bb.length); i++) {
    for (const [job, list] of [[ja, ba], [jb, bb]] as const) {
      const batch = list[i]
      if (!batch) continue
      inFlight.push(job.write(batch.parts, batch.bytes, batch.position).written)
      // The parts are copied when the batch is handed over: overwriting them now changes nothing.
      for (const part of batch.parts) part.fill(0)
    }
    if (inFlight.length >= 4) await Promise.all(inFlight.splice(0, 2))
  }
  await Promise.all(inFlight)
  t.same(await Promise.all([ja.finish(a.length), jb.finish(b.length)]), [sha(wantA), sha(wantB)])
  if (takesDirectWrites(dir)) {
    // The first batch starts on a block boundary: its whole blocks go with O_DIRECT, its tail and
    // every later batch (none starts on a boundary) through the page cache.
    t.equal(ja.directBytes, ba[0]!.bytes - (ba[0]!.bytes % 4096), 'a: the first batch\'s whole blocks with O_DIRECT')
    t.equal(jb.directBytes, bb[0]!.bytes - (bb[0]!.bytes % 4096), 'b: the first batch\'s whole blocks with O_DIRECT')
  }
  t.same(await readFile(join(dir, 'a')), wantA, 'a: the bytes as handed over')
  t.same(await readFile(join(dir, 'b')), wantB, 'b: the bytes as handed over')
})

t.test('writing jobs: a batch out of order, a missing file or a dead worker reject the writes, and the next job is served', async (t) => {
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1, crashAt: 2 * MiB })
  t.teardown(() => workers.close())
  const body = randomBytes(3 * MiB)
  await writeFile(join(dir, 'f'), '')
  const skipped = workers.startWriting(join(dir, 'f'))
  await t.rejects(skipped.write([body.subarray(0, 1000)], 1000, 5000).written, { name: 'HashWorkerGone' }, 'a batch that leaves a gap')
  await t.rejects(skipped.write([body.subarray(0, 1000)], 1000, 0).written, { name: 'HashWorkerGone' }, 'the failed job takes no more')
  await t.rejects(workers.startWriting(join(dir, 'missing')).write([body.subarray(0, 10)], 10, 0).written, { name: 'HashWorkerGone' }, 'no file to open')
  const doomed = workers.startWriting(join(dir, 'f'))
  const [first, second] = batches(body, 1.5 * MiB)
  await doomed.write(first!.parts, first!.bytes, first!.position).written
  const lost = doomed.write(second!.parts, second!.bytes, second!.position)
  t.same(lost.copy, body.subarray(first!.bytes), 'the batch as handed over, for the caller to write itself')
  await t.rejects(lost.written, { name: 'HashWorkerGone' }, 'the worker died on the batch that reaches 2 MiB')
  await t.rejects(doomed.finish(body.length), { name: 'HashWorkerGone' })
  // Several batches in flight, below the crash offset: a new worker takes them all.
  const small = randomBytes(1.5 * MiB)
  await writeFile(join(dir, 's'), '')
  const next = workers.startWriting(join(dir, 's'))
  await writeInFlight(next, batches(small, 200_000), 3)
  t.equal(await next.finish(small.length), sha(small), 'a new worker serves the next job')
  t.same(await readFile(join(dir, 's')), small)
})

/** Hands the batches to the job with at most `inFlight` unanswered, as body-digest does. */
async function writeInFlight(job: HashJob, list: { parts: Buffer[]; bytes: number; position: number }[], inFlight: number): Promise<void> {
  const waiting: Promise<void>[] = []
  for (const batch of list) {
    waiting.push(job.write(batch.parts, batch.bytes, batch.position).written)
    if (waiting.length >= inFlight) await waiting.shift()
  }
  await Promise.all(waiting)
}

/** `buf` in batches as the file writer makes them: every one but the last ends on a 4 KiB boundary. */
function alignedBatches(buf: Buffer, batchBytes: number): { parts: Buffer[]; bytes: number; position: number }[] {
  const out: { parts: Buffer[]; bytes: number; position: number }[] = []
  let position = 0
  for (const b of batches(buf, batchBytes)) {
    const end = Math.min(buf.length, Math.ceil((b.position + b.bytes) / 4096) * 4096)
    if (end <= position) continue
    out.push({ parts: [buf.subarray(position, end)], bytes: end - position, position })
    position = end
  }
  return out
}

t.test('writing jobs: aligned batches go with O_DIRECT where the filesystem takes it, the tail and a buffered worker\'s batches through the page cache', async (t) => {
  const body = randomBytes(3 * MiB + 100)
  const list = alignedBatches(body, MiB)
  t.ok(list.slice(0, -1).every((b) => (b.position + b.bytes) % 4096 === 0) && list.length >= 3, 'batches but the last end on a block boundary')
  const dir = await tempDir(t)
  for (const direct of ['always', 'never'] as const) {
    const workers = new HashWorkers({ threads: 1, direct })
    t.teardown(() => workers.close())
    const path = join(dir, `body-${direct}`)
    await writeFile(path, '')
    const job = workers.startWriting(path)
    await writeInFlight(job, list, 3)
    t.equal(await job.finish(body.length), sha(body), `${direct}: the digest`)
    t.same(await readFile(path), body, `${direct}: the stored bytes`)
    const bytes = direct === 'always' && takesDirectWrites(dir) ? body.length - (body.length % 4096) : 0
    if (direct === 'always' && !takesDirectWrites(dir)) t.comment(`${dir} is on a filesystem this test does not know to take O_DIRECT`)
    else t.equal(job.directBytes, bytes, `${direct}: ${bytes} bytes with O_DIRECT`)
  }
})

t.test('auto: O_DIRECT while the disk keeps up; a slow window of it starts a spell of buffered writes, which a slow page cache cuts short', async (t) => {
  const dir = await tempDir(t)
  if (!takesDirectWrites(dir)) {
    t.comment(`${dir} is on a filesystem this test does not know to take O_DIRECT`)
    return
  }
  const body = randomBytes(6 * MiB + 100)
  // Whole MiBs, then 100 bytes: each batch fills a window or a spell by itself.
  const list = Array.from({ length: 7 }, (_, i) => ({ parts: [body.subarray(i * MiB, (i + 1) * MiB)], bytes: Math.min(MiB, body.length - i * MiB), position: i * MiB }))
  /** One batch at a time, so that each is timed before the next is taken; the bytes written with O_DIRECT. */
  const write = async (workers: HashWorkers, name: string) => {
    const path = join(dir, name)
    await writeFile(path, '')
    const job = workers.startWriting(path)
    await writeInFlight(job, list, 1)
    t.equal(await job.finish(body.length), sha(body), `${name}: the digest`)
    t.same(await readFile(path), body, `${name}: the stored bytes`)
    return job.directBytes
  }
  const auto = (autoCheck: { slowDirectMBps: number; slowMsPerMiB: number; spellBytes: number }) => {
    const notices: WriteSwitch[] = []
    const workers = new HashWorkers({ threads: 1, autoCheck: { windowBytes: MiB, ...autoCheck }, onWriteSwitch: (n) => notices.push(n) })
    t.teardown(() => workers.close())
    return { workers, notices }
  }
  // No disk is that slow: every whole block with O_DIRECT, the last 100 bytes buffered.
  const quick = auto({ slowDirectMBps: 0, slowMsPerMiB: 1e9, spellBytes: 2 * MiB })
  t.equal(await write(quick.workers, 'quick-disk'), 6 * MiB, 'a quick disk: every whole block with O_DIRECT')
  t.equal(quick.notices.length, 0, 'and nothing told')
  // No disk is that quick: each 1 MiB window of O_DIRECT starts a 2 MiB spell through the quick page cache.
  const slowDisk = auto({ slowDirectMBps: 1e12, slowMsPerMiB: 1e9, spellBytes: 2 * MiB })
  t.equal(await write(slowDisk.workers, 'slow-disk'), 2 * MiB, 'the first and fourth MiB with O_DIRECT, each followed by a spell of two')
  t.same(slowDisk.notices.map((n) => n.to), ['page cache', 'page cache'], 'each switch is told')
  for (const n of slowDisk.notices) {
    if (n.to !== 'page cache') continue
    t.ok(n.windowBytes === MiB && n.bufferedBytes === 2 * MiB && Number.isFinite(n.mbPerS) && n.mbPerS > 0, `with its window, its spell and the MB/s (${n.mbPerS})`)
  }
  // Neither quick: a 4 MiB spell ends after its first 1 MiB window, and O_DIRECT is timed again.
  const neither = auto({ slowDirectMBps: 1e12, slowMsPerMiB: 0, spellBytes: 4 * MiB })
  t.equal(await write(neither.workers, 'neither'), 3 * MiB, 'the first, third and fifth MiB with O_DIRECT')
  t.same(neither.notices.map((n) => n.to), ['page cache', 'O_DIRECT', 'page cache', 'O_DIRECT', 'page cache', 'O_DIRECT'], 'every switch is told, in turn')
  for (const n of neither.notices) {
    if (n.to !== 'O_DIRECT') continue
    t.ok(n.windowBytes === MiB && Number.isFinite(n.msPerMiB) && n.msPerMiB >= 0, `with its window and the system time per MiB (${n.msPerMiB})`)
  }
})

t.test('writing jobs on tmpfs, which takes O_DIRECT at any alignment (or refuses it): the bytes land intact', { skip: !existsSync('/dev/shm') && 'no /dev/shm' }, async (t) => {
  const dir = await mkdtemp('/dev/shm/hash-workers-')
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const workers = new HashWorkers({ threads: 1, direct: 'always' })
  t.teardown(() => workers.close())
  const body = randomBytes(2 * MiB + 5000)
  const path = join(dir, 'body')
  await writeFile(path, '')
  const job = workers.startWriting(path)
  await writeInFlight(job, alignedBatches(body, 700_000), 3)
  t.equal(await job.finish(body.length), sha(body))
  t.same(await readFile(path), body)
})

t.test('warm starts the workers before any job, once; the first job runs on them; after close it starts none', { skip: !existsSync('/proc/self/task') && 'no /proc' }, async (t) => {
  const threadsNow = () => readdirSync('/proc/self/task').length
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1 })
  const before = threadsNow()
  workers.warm()
  t.equal(threadsNow(), before + 1, 'one thread more')
  workers.warm()
  t.equal(threadsNow(), before + 1, 'warm again: none more')
  const body = randomBytes(2 * MiB + 3)
  await writeFile(join(dir, 'f'), '')
  const job = workers.startWriting(join(dir, 'f'))
  await writeInFlight(job, alignedBatches(body, MiB), 3)
  t.equal(await job.finish(body.length), sha(body))
  t.equal(threadsNow(), before + 1, 'the job ran on the warmed worker')
  await workers.close()
  // A terminated thread may take a moment to be reaped.
  for (let i = 0; i < 50 && threadsNow() > before; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  workers.warm()
  t.equal(threadsNow(), before, 'closed: warm starts nothing')
})

t.test('the app warms the store\'s hash workers once it is ready', async (t) => {
  class CountingWorkers extends HashWorkers {
    warmed = 0
    override warm(): void {
      this.warmed++
      super.warm()
    }
  }
  const hashWorkers = new CountingWorkers({ threads: 1 })
  const { app } = await buildTestApp(t, {}, { hashWorkers })
  t.equal(hashWorkers.warmed, 1)
  const content = big()
  const res = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/WARM', payload: content, headers: { 'content-type': 'application/octet-stream' } })
  t.equal(res.json().sha256, sha(content))
})

t.test('a job told of bytes the file does not hold fails; the worker serves the next job', async (t) => {
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1 })
  t.teardown(() => workers.close())
  await writeFile(join(dir, 'short'), Buffer.alloc(100))
  await t.rejects(workers.start(join(dir, 'short')).finish(200), { name: 'HashWorkerGone' })
  await t.rejects(workers.start(join(dir, 'missing')).finish(1), { name: 'HashWorkerGone' })
  // Failing on a part written before the end: the worker answers the failure at once, and the
  // finish that follows rejects instead of waiting for an answer that will not come.
  const early = workers.start(join(dir, 'short'))
  early.written(200)
  await new Promise((resolve) => setTimeout(resolve, 100))
  await t.rejects(early.finish(200), { name: 'HashWorkerGone' })
  const body = randomBytes(1000)
  await writeFile(join(dir, 'ok'), body)
  t.equal(await workers.start(join(dir, 'ok')).finish(body.length), sha(body))
})

t.test('a worker that dies fails its open jobs; the next job gets a new worker; close fails the rest', async (t) => {
  const dir = await tempDir(t)
  const workers = new HashWorkers({ threads: 1, crashAt: 2 * MiB })
  const body = randomBytes(3 * MiB)
  await writeFile(join(dir, 'f'), body)
  const doomed = workers.start(join(dir, 'f'))
  doomed.written(2 * MiB)
  await t.rejects(doomed.finish(body.length), { name: 'HashWorkerGone' })
  // Below the crash offset, a new worker answers.
  const small = randomBytes(1000)
  await writeFile(join(dir, 's'), small)
  t.equal(await workers.start(join(dir, 's')).finish(small.length), sha(small))
  const open = workers.start(join(dir, 's'))
  const answered = t.rejects(open.finish(small.length + 1), { name: 'HashWorkerGone' })
  await workers.close()
  await answered
  t.throws(() => workers.start(join(dir, 's')), { name: 'HashWorkerGone' })
})

t.test('multipart and raw uploads past the inline limit answer the sha-256 of their bytes', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const content = big()
  const form = multipartBody({ source: 'local_upload', document_id: 'BIG-1' }, { filename: 'big.bin', content })
  const up = await app.inject({ method: 'POST', url: '/v1/documents', payload: form.payload, headers: form.headers })
  t.equal(up.statusCode, 201)
  t.match(up.json(), { file_size_bytes: content.length, sha256: sha(content) })
  const raw = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/BIG-2', payload: content, headers: { 'content-type': 'application/octet-stream' } })
  t.equal(raw.statusCode, 201)
  t.match(raw.json(), { file_size_bytes: content.length, sha256: sha(content) })
  t.same((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/BIG-1/content' })).rawPayload, content, 'multipart: the stored bytes')
  t.same((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/BIG-2/content' })).rawPayload, content, 'raw: the stored bytes')
  t.same(await readdir(join(baseDir, '.tmp')), [])
})

t.test('a streamed raw upload past the inline limit, in small pieces over a socket', async (t) => {
  const { app } = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const content = big()
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/v1/staging/http/STREAMED', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    let at = 0
    const more = () => {
      while (at < content.length) {
        const piece = content.subarray(at, at + 100_000)
        at += piece.length
        if (!req.write(piece)) return void req.once('drain', more)
      }
      req.end()
    }
    more()
  })
  t.equal(answer.status, 201)
  t.match(JSON.parse(answer.body), { file_size_bytes: content.length, sha256: sha(content) })
})

t.test('a large body whose Repr-Digest differs is refused with nothing stored and no quota held', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const content = big()
  const wrong = `sha-256=:${createHash('sha256').update('other bytes').digest('base64')}:`
  const res = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/BAD', payload: content, headers: { 'content-type': 'application/octet-stream', 'repr-digest': wrong } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'DigestMismatch', actual_sha256: sha(content) })
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/BAD' })).statusCode, 404)
  t.same(await readdir(join(baseDir, '.tmp')), [])
  t.match((await app.inject({ method: 'GET', url: '/v1/stats' })).json(), { disk_usage: { total_bytes: 0 }, quota: { reserved_bytes: 0 } })
})

t.test('with the hash workers dying mid-body, uploads and pulls still answer the right sha-256', async (t) => {
  const hashWorkers = new HashWorkers({ threads: 1, crashAt: 2 * MiB })
  const origin = createServer((req, res) => res.end(pulled))
  const pulled = big()
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  t.teardown(() => origin.close())
  const host = `127.0.0.1:${(origin.address() as AddressInfo).port}`
  const { app } = await buildTestApp(t, { STAGING_HTTP_ALLOW_HOSTS: host }, { hashWorkers })
  const content = big()
  const raw = await app.inject({ method: 'PUT', url: '/v1/staging/local_upload/CRASH-1', payload: content, headers: { 'content-type': 'application/octet-stream' } })
  t.equal(raw.statusCode, 201)
  t.equal(raw.json().sha256, sha(content))
  const pull = await app.inject({ method: 'POST', url: '/v1/documents', payload: { source: 'http', document_id: 'CRASH-2', source_location: `http://${host}/big.bin` } })
  t.equal(pull.statusCode, 201)
  t.match(pull.json(), { file_size_bytes: pulled.length, sha256: sha(pulled) })
  // The batches the dead workers had not written were written by the file writer itself.
  t.same((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/CRASH-1/content' })).rawPayload, content, 'upload: the stored bytes')
  t.same((await app.inject({ method: 'GET', url: '/v1/staging/http/CRASH-2/content' })).rawPayload, pulled, 'pull: the stored bytes')
})
