// The program the hash workers run (hash-workers.ts starts them): it writes the batches it is given
// and hashes them, or hashes a file written by others by reading it back as it grows.
//
// How a worker writes (STAGING_DIRECT_WRITES, DirectWrites below): through the page cache, or with
// O_DIRECT from its own block-aligned copy of the batch, on the thread pool while it hashes the batch.
// Neither is best everywhere. Buffered writes cost ~0.25-0.35 s of system time per 512 MiB, and the
// file writer's fdatasync every 8 MiB keeps the disk streaming: on the eleventh benchmark VM they
// ran 1.3x faster than O_DIRECT in every round (there, extending O_DIRECT writes wait on each other
// and the final fsync still flushes the host's cache). On the tenth, once the kernel's free memory had
// gone back to the host (free page reporting: every page first touched costs a host fault;
// bench/RESULTS.md, "Large writes and the VM's cold pages"), the same buffered writes cost up to ~1.6 s
// and uploads and pulls ran at half speed one run in two, where O_DIRECT cost ~0.02 s. So by default
// ('auto') a worker writes buffered and reads its own system time (which is what cold pages cost, and
// unlike wall time not swayed by the other threads): after a window of PAGE_CACHE_WINDOW_BYTES that
// cost at least SLOW_BUFFERED_MS_PER_MIB it writes with O_DIRECT for the next DIRECT_SPELL_BYTES, then
// times the page cache again. Bytes written with O_DIRECT are not left in the page cache.
//
// O_DIRECT wants the file offset, the length and the memory address block-aligned. The file writer
// ends every batch but the last on a BLOCK_BYTES boundary (batched-file-writer.ts); the last one's
// tail, a batch that does not start on a boundary, and every write on a filesystem that refuses
// O_DIRECT (tmpfs) are buffered, in pieces of at most WRITE_PIECE_BYTES: the kernel takes a buffered
// write into page-cache folios as large as the write, and large folios come from the host-reported
// memory. A batch is written with O_DIRECT from where it lies when its shared buffer is page-aligned
// (hash-workers.ts makes it a shared WebAssembly.Memory's buffer, which V8 maps on a page boundary),
// else from a page-aligned copy the worker makes in such memory of its own (~0.1 s of this thread per
// 512 MiB). JavaScript cannot see an address, and a Buffer's memory is only 16-byte aligned. Memory
// that is merely aligned to the disk's logical block (512 bytes on virtio disks) is taken too, but
// the kernel then splits every page across two segments: 1 MiB writes from it ran at ~90 MB/s against
// ~500 MB/s from page-aligned memory on the benchmark VM (bench/RESULTS.md, the eleventh machine).
// The first O_DIRECT write of a worker is a probe: a filesystem that opens with O_DIRECT but refuses
// the write sends that batch and every later one through the page cache.

import {
  BATCH_BUFFER_BYTES,
  BLOCK_BYTES,
  DIRECT_SPELL_BYTES,
  PAGE_CACHE_WINDOW_BYTES,
  SLOW_BUFFERED_MS_PER_MIB,
  WASM_PAGE_BYTES,
  WRITES_IN_FLIGHT
} from './large-body-constants.js'

/** The largest buffered write a worker makes: page-cache folios of at most 16 pages (see the header). */
const WRITE_PIECE_BYTES = 64 * 1024

/**
 * The workers' program: plain CommonJS evaluated by the Worker, so that it runs the same from the
 * sources (tsx) and from the bundle, which has no worker file of its own to point at.
 * Messages: {id, path} opens a job that reads the file, {id, path, write} one that writes it;
 * {id, buffer, length, position, aligned} writes a batch (in a SharedArrayBuffer, page-aligned where
 * aligned is true) at the end of what the job
 * has written, hashes it and answers {id, written} once it is in the file, in order; {id, upTo} hashes
 * the file up to that offset; {id, upTo, end} answers {id, sha256, direct} (direct: bytes written
 * with O_DIRECT) after every earlier answer; {id, abort} drops the job. 'auto' tells of each switch
 * to O_DIRECT with {slowPageCache: {msPerMiB, windowBytes, directBytes}}. A failure answers {id, error}
 * at once, and the worker forgets the job. workerData: {crashOn} (tests: exit once a job reaches
 * that offset), {direct} (DirectWrites), {slowMsPerMiB, windowBytes, spellBytes} (tests: 'auto''s
 * threshold, window and spell).
 */
export const WORKER_PROGRAM = `
const { closeSync, constants, openSync, readFileSync, readSync, write, writeSync } = require('node:fs')
const { createHash } = require('node:crypto')
const { parentPort, workerData } = require('node:worker_threads')
const BLOCK = ${BLOCK_BYTES}
const readBuffer = Buffer.allocUnsafeSlow(${1024 * 1024})
const jobs = new Map()
// Page-aligned copies of batches (Buffers over WebAssembly memory), kept for later batches.
const copies = []
// Aligned copies kept for later batches: one per batch in flight.
const SPARE_COPIES = ${WRITES_IN_FLIGHT}
const mode = workerData.direct || 'auto'
let directRefused = mode === 'never'
// This thread's system time in ms (/proc/thread-self/stat: stime, in USER_HZ ticks of 10 ms), or
// null without /proc. Its only system calls of note are its buffered writes: O_DIRECT writes run on
// the thread pool, and hashing is user time.
const systemMs = () => {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 10
  } catch {
    return null
  }
}
// 'auto': the buffered bytes of this window and this thread's system time when it began, and the
// O_DIRECT bytes left in a spell. Without /proc the page cache cannot be timed, and auto stays buffered.
const pageCache = {
  windowBytes: workerData.windowBytes || ${PAGE_CACHE_WINDOW_BYTES},
  slowMsPerMiB: workerData.slowMsPerMiB === undefined ? ${SLOW_BUFFERED_MS_PER_MIB} : workerData.slowMsPerMiB,
  spellBytes: workerData.spellBytes || ${DIRECT_SPELL_BYTES},
  bytes: 0,
  since: mode === 'auto' ? systemMs() : null,
  directLeft: mode === 'always' ? Infinity : 0
}
// Whether this worker has seen an O_DIRECT write succeed (before that, the first one is the probe).
let directTaken = false

const openDirect = (path) => {
  if (directRefused) return null
  try {
    return openSync(path, constants.O_WRONLY | constants.O_DIRECT)
  } catch {
    return null
  }
}
const drop = (id) => {
  const job = jobs.get(id)
  if (!job) return
  jobs.delete(id)
  job.failed = true
  // After the writes in flight, so that none lands on a descriptor number reused meanwhile.
  job.io.then(() => {
    try { closeSync(job.fd) } catch {}
    if (job.direct != null) try { closeSync(job.direct) } catch {}
  })
}
const fail = (id, err) => {
  drop(id)
  parentPort.postMessage({ id, error: String(err && err.message || err) })
}
const writeBuffered = (fd, bytes, from, to, position) => {
  for (let done = from; done < to; ) {
    const n = writeSync(fd, bytes, done, Math.min(${WRITE_PIECE_BYTES}, to - done), position + done)
    if (n === 0) throw new Error('the file took no bytes at ' + (position + done))
    done += n
  }
}
// A job's steps after its earlier ones; the first failure fails the job (and later steps see it).
const inTurn = (id, job, step) => {
  job.io = job.io.then(step).catch((err) => {
    if (!job.failed) fail(id, err)
  })
}
// 'auto': counts a buffered write's bytes; at the end of a window whose writes cost this thread at
// least slowMsPerMiB of system time per MiB, O_DIRECT for the next spellBytes.
const timeBuffered = (bytes) => {
  if (pageCache.since === null || pageCache.directLeft > 0 || directRefused) return
  pageCache.bytes += bytes
  if (pageCache.bytes < pageCache.windowBytes) return
  const now = systemMs()
  const msPerMiB = ((now - pageCache.since) * ${1024 * 1024}) / pageCache.bytes
  if (msPerMiB >= pageCache.slowMsPerMiB) {
    pageCache.directLeft = pageCache.spellBytes
    parentPort.postMessage({ slowPageCache: { msPerMiB, windowBytes: pageCache.bytes, directBytes: pageCache.spellBytes } })
  }
  pageCache.bytes = 0
  pageCache.since = now
}
// 'auto': a spell's O_DIRECT bytes; once it is over, the next window starts.
const spendSpell = (bytes) => {
  pageCache.directLeft -= bytes
  if (pageCache.directLeft <= 0 && pageCache.since !== null) pageCache.since = systemMs()
}
const writeDirect = (fd, bytes, at, length, position) =>
  new Promise((resolve, reject) => write(fd, bytes, at, length, position, (err, n) => (err ? reject(err) : resolve(n))))
const alignedCopy = (length) => {
  const pages = Math.ceil(Math.max(length, ${BATCH_BUFFER_BYTES}) / ${WASM_PAGE_BYTES})
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer)
}
const takeCopy = (length) => {
  const copy = copies.pop()
  return copy && copy.length >= length ? copy : alignedCopy(length)
}
const giveBack = (copy) => {
  if (copies.length < SPARE_COPIES) copies.push(copy)
}
// The worker's first O_DIRECT write: the batch's first block (which the whole batch's write writes
// again), from source (aligned: the batch itself, or the copy it is filled into). False when the
// kernel refuses it: this filesystem takes O_DIRECT only in name.
const probe = (job, source, bytes, position) => {
  if (source !== bytes) source.fill(bytes.subarray(0, BLOCK), 0, BLOCK)
  try {
    writeSync(job.direct, source, 0, BLOCK, position)
  } catch (err) {
    if (err.code !== 'EINVAL') throw err
    return false
  }
  directTaken = true
  return true
}
// Writes and hashes a batch: the aligned part goes to the thread pool at once, beside the job's
// earlier writes, while this thread hashes (had it waited for the earlier ones, the disk would idle
// while this thread hashed and the other way round); the rest is written in turn. Answers in order,
// once the batch is in the file.
const take = (id, job, m) => {
  if (m.position !== job.at) throw new Error('a batch for offset ' + m.position + ' came at ' + job.at)
  job.at += m.length
  const written = job.at
  const bytes = new Uint8Array(m.buffer, 0, m.length)
  const wantsDirect = !directRefused && pageCache.directLeft > 0 && m.position % BLOCK === 0
  // Opened on the job's first batch that wants it ('auto' spends most jobs buffered); null: refused.
  if (wantsDirect && job.direct === undefined) job.direct = openDirect(job.path)
  let direct = wantsDirect && job.direct !== null ? m.length - (m.length % BLOCK) : 0
  // What the O_DIRECT write writes from: the batch itself where it is page-aligned (m.aligned), else
  // an aligned copy of it (kept for later batches).
  let source = null
  let copy = null
  if (direct > 0) {
    source = m.aligned ? bytes : (copy = takeCopy(direct))
    if (!directTaken && !probe(job, source, bytes, m.position)) {
      // This batch and every later one go through the page cache.
      directRefused = true
      direct = 0
      source = copy = null
    } else {
      if (copy !== null) copy.fill(bytes.subarray(0, direct), 0, direct)
      spendSpell(direct)
    }
  }
  const landed = source === null ? Promise.resolve(0) : writeDirect(job.direct, source, 0, direct, m.position)
  // Heard in turn below; a failure before then must not count as unhandled (that ends the worker).
  landed.catch(() => undefined)
  job.hash.update(bytes)
  // Always through landed, so that drop closes the descriptors only once every write has returned.
  inTurn(id, job, async () => {
    const n = await landed
    if (job.failed) return
    if (source !== null) job.directBytes += n
    if (copy !== null) giveBack(copy)
    // The rest, and what a short O_DIRECT write left (on a nearly full disk: the error shows here).
    writeBuffered(job.fd, bytes, n, m.length, m.position)
    timeBuffered(m.length - n)
    parentPort.postMessage({ id, written })
  })
}
const readUpTo = (job, upTo) => {
  while (job.at < upTo) {
    const n = readSync(job.fd, readBuffer, 0, Math.min(readBuffer.length, upTo - job.at), job.at)
    if (n === 0) throw new Error('the file ended at ' + job.at + ' of ' + upTo + ' written bytes')
    job.hash.update(n === readBuffer.length ? readBuffer : readBuffer.subarray(0, n))
    job.at += n
  }
}
const finish = (id, job, upTo) => {
  inTurn(id, job, () => {
    if (job.failed) return
    readUpTo(job, upTo)
    const sha256 = job.hash.digest('hex')
    drop(id)
    parentPort.postMessage({ id, sha256, direct: job.directBytes })
  })
}
parentPort.on('message', (m) => {
  try {
    const reach = m.length !== undefined ? m.position + m.length : m.upTo
    if (workerData.crashOn !== undefined && reach >= workerData.crashOn) process.exit(70)
    if (m.path !== undefined) {
      const fd = openSync(m.path, m.write ? 'r+' : 'r')
      // direct: the O_DIRECT descriptor, undefined until a batch wants it (take), null where there is none.
      const direct = m.write ? undefined : null
      jobs.set(m.id, { fd, path: m.path, direct, hash: createHash('sha256'), at: 0, io: Promise.resolve(), failed: false, directBytes: 0 })
      return
    }
    const job = jobs.get(m.id)
    if (!job) return
    if (m.abort) return drop(m.id)
    if (m.length !== undefined) return take(m.id, job, m)
    if (m.end) return finish(m.id, job, m.upTo)
    readUpTo(job, m.upTo)
  } catch (err) {
    fail(m.id, err)
  }
})
`
