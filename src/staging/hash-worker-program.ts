// The program the hash workers run (hash-workers.ts starts them): it writes the batches it is given
// and hashes them, or hashes a file written by others by reading it back as it grows.
//
// How a worker writes (STAGING_DIRECT_WRITES, DirectWrites below): with O_DIRECT from the batch itself
// (below), on the thread pool while it hashes the batch, or through the page cache. O_DIRECT costs
// the worker ~0.02 s of system time per 512 MiB where buffered writes cost ~0.25-0.35 s (and up to
// ~1.6 s on the tenth benchmark VM once the kernel's free memory had gone back to the host: free page
// reporting, every page first touched costs a host fault; bench/RESULTS.md, "Large writes and the VM's
// cold pages"). On 2 cores that CPU is what the transfer lacks: on the sixteenth VM pulls ran 1.12x
// and uploads 1.10x faster with O_DIRECT. But where extending O_DIRECT writes to one file wait on each
// other and the disk is slow, they are the bottleneck: on the eleventh VM buffered writes, with the
// file writer's fdatasync every 8 MiB keeping the disk streaming, ran 1.3x faster in every round.
// So by default ('auto') a worker writes with O_DIRECT and times each window of AUTO_WINDOW_BYTES by
// the time the disk was busy with it: a window slower than SLOW_DIRECT_MB_PER_S sends the next
// BUFFERED_SPELL_BYTES through the page cache, then O_DIRECT is timed again. A spell ends sooner when a
// window of its buffered writes cost this thread at least SLOW_BUFFERED_MS_PER_MIB of system time
// (its own system time: what cold pages cost, and unlike wall time not swayed by the other threads).
// Bytes written with O_DIRECT are not left in the page cache.
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
  AUTO_WINDOW_BYTES,
  BUFFERED_SPELL_BYTES,
  SLOW_BUFFERED_MS_PER_MIB,
  SLOW_DIRECT_MB_PER_S,
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
 * to the page cache with {slowDisk: {mbPerS, windowBytes, bufferedBytes}} and of each spell cut short
 * with {slowPageCache: {msPerMiB, windowBytes}}. A failure answers {id, error} at once, and the worker
 * forgets the job. workerData: {crashOn} (tests: exit once a job reaches that offset), {direct}
 * (DirectWrites), {slowDirectMBps, slowMsPerMiB, windowBytes, spellBytes} (tests: 'auto''s
 * thresholds, window and spell).
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
// 'auto' (see the header): O_DIRECT while the disk takes it quickly, a spell of buffered writes when
// a window of O_DIRECT writes ran slower than slowDirectMBps, cut short when a window of buffered
// writes cost this thread slowMsPerMiB of system time or more. bufferedLeft: the spell's bytes still to
// write (0: O_DIRECT). A window of O_DIRECT writes is timed by the time the disk was busy with them
// (at least one in flight: busyMs so far, and since busyFrom while inFlight > 0); a window of buffered
// writes by this thread's system time since it began (since; null without /proc, when a spell simply
// runs its length).
const auto = {
  on: mode === 'auto',
  windowBytes: workerData.windowBytes || ${AUTO_WINDOW_BYTES},
  slowMsPerMiB: workerData.slowMsPerMiB === undefined ? ${SLOW_BUFFERED_MS_PER_MIB} : workerData.slowMsPerMiB,
  slowDirectMBps: workerData.slowDirectMBps === undefined ? ${SLOW_DIRECT_MB_PER_S} : workerData.slowDirectMBps,
  spellBytes: workerData.spellBytes || ${BUFFERED_SPELL_BYTES},
  bufferedLeft: 0,
  bytes: 0,
  since: null,
  busyMs: 0,
  busyFrom: 0,
  inFlight: 0
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
// 'auto': which way this worker's next whole blocks go.
const directNow = () => !directRefused && (mode === 'always' || (auto.on && auto.bufferedLeft <= 0))
// 'auto': a window of O_DIRECT writes begins (now, or when the buffered spell ends).
const startDirectWindow = () => {
  auto.bytes = 0
  auto.busyMs = 0
  auto.busyFrom = performance.now()
}
// 'auto': an O_DIRECT write goes to the disk; its bytes once it has landed (directLanded).
const directSent = () => {
  if (auto.inFlight++ === 0) auto.busyFrom = performance.now()
}
// 'auto': at the end of a window whose O_DIRECT writes ran slower than slowDirectMBps while the disk
// was busy with them, the next spellBytes go through the page cache.
const directLanded = (bytes) => {
  const now = performance.now()
  if (--auto.inFlight === 0) auto.busyMs += now - auto.busyFrom
  if (!auto.on || auto.bufferedLeft > 0) return
  auto.bytes += bytes
  if (auto.bytes < auto.windowBytes) return
  const busyMs = auto.busyMs + (auto.inFlight > 0 ? now - auto.busyFrom : 0)
  const mbPerS = busyMs > 0 ? auto.bytes / busyMs / 1000 : Infinity
  const windowBytes = auto.bytes
  startDirectWindow()
  if (mbPerS >= auto.slowDirectMBps) return
  auto.bufferedLeft = auto.spellBytes
  auto.since = systemMs()
  parentPort.postMessage({ slowDisk: { mbPerS, windowBytes, bufferedBytes: auto.spellBytes } })
}
// 'auto': counts a buffered write of the spell; the spell ends once spellBytes are written, or at the
// end of a window whose writes cost this thread at least slowMsPerMiB of system time per MiB.
const bufferedWritten = (bytes) => {
  if (!auto.on || auto.bufferedLeft <= 0) return
  auto.bufferedLeft -= bytes
  auto.bytes += bytes
  if (auto.bufferedLeft <= 0) return endSpell()
  if (auto.since === null || auto.bytes < auto.windowBytes) return
  const now = systemMs()
  const msPerMiB = ((now - auto.since) * ${1024 * 1024}) / auto.bytes
  if (msPerMiB >= auto.slowMsPerMiB) {
    parentPort.postMessage({ slowPageCache: { msPerMiB, windowBytes: auto.bytes } })
    return endSpell()
  }
  auto.bytes = 0
  auto.since = now
}
const endSpell = () => {
  auto.bufferedLeft = 0
  startDirectWindow()
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
  const wantsDirect = directNow() && m.position % BLOCK === 0
  // Opened on the job's first batch that wants it (none in 'auto''s spells of buffered writes); null: refused.
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
    } else if (copy !== null) {
      copy.fill(bytes.subarray(0, direct), 0, direct)
    }
  }
  let landed = Promise.resolve(0)
  if (source !== null) {
    directSent()
    landed = writeDirect(job.direct, source, 0, direct, m.position)
    // Timed for 'auto' once it has landed. A failure is heard in turn below; until then this handler
    // keeps it from counting as unhandled (that ends the worker).
    landed.then(directLanded, () => directLanded(0))
  }
  job.hash.update(bytes)
  // Always through landed, so that drop closes the descriptors only once every write has returned.
  inTurn(id, job, async () => {
    const n = await landed
    if (job.failed) return
    if (source !== null) job.directBytes += n
    if (copy !== null) giveBack(copy)
    // The rest, and what a short O_DIRECT write left (on a nearly full disk: the error shows here).
    writeBuffered(job.fd, bytes, n, m.length, m.position)
    bufferedWritten(m.length - n)
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
