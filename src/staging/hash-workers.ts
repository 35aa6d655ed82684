// The sha-256 of large bodies, on worker threads. On a 2-core machine the main thread is the limit of
// a large upload or pull: it reads the socket, parses, and hashed every byte (a quarter of its time).
// A body being written hands each ~1 MiB batch to a worker, which writes it into the file and hashes
// it (startWriting); a file written by other means is hashed by a worker reading it back from the page
// cache as it grows (start), in one reused buffer, while the main thread only posts how far it got.
//
// How the worker writes (whole blocks with O_DIRECT, the rest through the page cache) and why is in
// hash-worker-program.ts.
//
// One worker serves many jobs at once (a job's messages carry its id), so a job never queues behind
// another one. Should a worker fail, its jobs reject with HashWorkerGone and the caller writes and
// hashes the file itself; the next job starts a new worker.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { WORKER_PROGRAM } from './hash-worker-program.js'
import { BATCH_BUFFER_BYTES, WASM_PAGE_BYTES, WRITES_IN_FLIGHT, type DirectWrites } from './large-body-constants.js'
import { ScavengePacer } from './scavenge-pacer.js'

/**
 * A batch goes to the worker in shared memory, one buffer of this size per batch in flight; a
 * written batch's buffer is kept for later batches of any job, up to as many as one body has in
 * flight (WRITES_IN_FLIGHT). Fresh buffers per job, moved to the worker and back, kept ~10 MiB more
 * memory resident over five 512 MiB transfers.
 */

/** A worker ended or failed under its jobs; the caller writes and hashes the file itself. */
export class HashWorkerGone extends Error {
  override readonly name = 'HashWorkerGone'
}

/** What a worker answers: a batch written (the job's length now), the digest, or a failure. */
interface Answer {
  id: number
  /** Not a job's answer: 'auto' switched to the page cache (slowDisk) or back to O_DIRECT (slowPageCache). */
  slowDisk?: Omit<SlowDisk, 'to'>
  slowPageCache?: Omit<SlowPageCache, 'to'>
  written?: number
  sha256?: string
  /** With sha256: the bytes the worker wrote with O_DIRECT. */
  direct?: number
  error?: string
}

interface Pending {
  resolve: (answer: Answer) => void
  reject: (err: Error) => void
}

interface Thread {
  worker: Worker
  /**
   * Jobs started and neither finished, failed nor aborted (the next job's thread is chosen by their
   * number); `pending` holds the writes and the finish waiting for their answers, in order.
   */
  jobs: Map<number, { pending: Pending[] }>
  gone: boolean
}

export interface HashWorkersOptions {
  /** Worker threads (default: one per further core, at least one, at most 2). */
  threads?: number
  /** Tests: a worker exits as soon as a job has been written up to this offset. */
  crashAt?: number
  /** How the workers write batches (STAGING_DIRECT_WRITES; hash-worker-program.ts). Default 'auto'. */
  direct?: DirectWrites
  /**
   * Tests: the 'auto' mode's thresholds, window and spell (SLOW_DIRECT_MB_PER_S,
   * SLOW_BUFFERED_MS_PER_MIB, AUTO_WINDOW_BYTES, BUFFERED_SPELL_BYTES); each defaults to its constant.
   */
  autoCheck?: { slowDirectMBps?: number; slowMsPerMiB?: number; windowBytes?: number; spellBytes?: number }
  /** Collects the chunks of the batches handed over (scavenge-pacer.ts); tests count its calls. */
  pacer?: ScavengePacer
  /** 'auto': a worker switched between O_DIRECT and the page cache (the app logs it). */
  onWriteSwitch?: (notice: WriteSwitch) => void
}

/** 'auto' in a worker: why it changed the way it writes (hash-worker-program.ts). */
export type WriteSwitch = SlowDisk | SlowPageCache

/** To the page cache for a spell: a window of O_DIRECT writes ran slower than the threshold. */
export interface SlowDisk {
  to: 'page cache'
  /** The window's MB/s (10^6 bytes) while the disk was busy with its writes. */
  mbPerS: number
  windowBytes: number
  /** The bytes it now writes through the page cache before it times O_DIRECT again. */
  bufferedBytes: number
}

/** Back to O_DIRECT before the spell's end: a window of buffered writes cost the worker this much system time per MiB. */
export interface SlowPageCache {
  to: 'O_DIRECT'
  msPerMiB: number
  windowBytes: number
}

/**
 * One worker per further core, at most 2. A worker writes and hashes one transfer at ~0.9-1 GB/s on
 * the benchmark VM (the hash alone 1.3-2 GB/s), near what a socket brings; more transfers at once
 * share the workers, as their jobs interleave.
 */
const defaultThreads = () => Math.min(2, Math.max(1, availableParallelism() - 1))

export class HashWorkers {
  private readonly threads: (Thread | null)[]
  /** Batch buffers written from, for the next writes of any job. */
  private readonly spares: BatchBuffer[] = []
  private readonly pacer: ScavengePacer
  private nextId = 1
  private closed = false

  constructor(private readonly options: HashWorkersOptions = {}) {
    this.threads = new Array<Thread | null>(options.threads ?? defaultThreads()).fill(null)
    this.pacer = options.pacer ?? new ScavengePacer()
  }

  /**
   * Starts every worker not running yet, so that the first large body does not wait for one to boot:
   * the first pull of a process made 1.068x the rate of a process without (bench/alternate.ts --fresh,
   * 12 pairs). A started worker keeps no process alive.
   */
  warm(): void {
    if (this.closed) return
    for (let i = 0; i < this.threads.length; i++) this.threads[i] ??= this.spawn()
  }

  /** Starts hashing the file at `path`, which must exist: the job reads what `written` says is there. */
  start(path: string): HashJob {
    return this.open(path, false)
  }

  /** Starts writing the file at `path`, which must exist and be empty, from the batches given to `write`. */
  startWriting(path: string): HashJob {
    return this.open(path, true)
  }

  private open(path: string, write: boolean): HashJob {
    if (this.closed) throw new HashWorkerGone('the hash workers are closed')
    const thread = this.pickThread()
    const id = this.nextId++
    // A worker with jobs keeps the event loop alive, as their answers are awaited.
    if (thread.jobs.size === 0) thread.worker.ref()
    thread.jobs.set(id, { pending: [] })
    thread.worker.postMessage(write ? { id, path, write } : { id, path })
    return new HashJob(id, thread, this.spares, this.pacer)
  }

  /** Ends every worker; jobs still open reject with HashWorkerGone. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.threads.map((t) => (t ? this.retire(t, 'the hash workers are closed') : undefined)))
  }

  private retire(thread: Thread, why: string): Promise<number> | undefined {
    if (thread.gone) return undefined
    thread.gone = true
    const i = this.threads.indexOf(thread)
    if (i >= 0) this.threads[i] = null
    for (const job of thread.jobs.values()) for (const pending of job.pending) pending.reject(new HashWorkerGone(why))
    thread.jobs.clear()
    return thread.worker.terminate()
  }

  /** The live thread with the fewest jobs, or a new one in a free slot. */
  private pickThread(): Thread {
    let best: Thread | null = null
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i]
      if (!t) return (this.threads[i] = this.spawn())
      if (!best || t.jobs.size < best.jobs.size) best = t
    }
    return best!
  }

  private spawn(): Thread {
    const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: { crashOn: this.options.crashAt, direct: this.options.direct, ...this.options.autoCheck } })
    // An idle worker must not keep the process alive (start refs it while it has jobs).
    worker.unref()
    const thread: Thread = { worker, jobs: new Map(), gone: false }
    worker.on('message', (m: Answer) => {
      if (m.slowDisk) return this.options.onWriteSwitch?.({ to: 'page cache', ...m.slowDisk })
      if (m.slowPageCache) return this.options.onWriteSwitch?.({ to: 'O_DIRECT', ...m.slowPageCache })
      const job = thread.jobs.get(m.id)
      if (!job) return
      const pending = job.pending.shift()
      // A job that failed before its next write or finish is forgotten here too: that call then
      // rejects at once.
      if (m.written === undefined) forget(thread, m.id)
      if (m.error === undefined) pending?.resolve(m)
      else for (const p of [pending, ...job.pending.splice(0)]) p?.reject(new HashWorkerGone(`the hash worker failed on the file: ${m.error}`))
    })
    worker.on('error', (err) => void this.retire(thread, `a hash worker failed: ${err.message}`))
    worker.on('exit', (code) => void this.retire(thread, `a hash worker exited (${code})`))
    return thread
  }
}

/** A job is over (answered, failed or aborted); a worker left with none lets the process end. */
function forget(thread: Thread, id: number): void {
  if (thread.jobs.delete(id) && thread.jobs.size === 0) thread.worker.unref()
}

/** One file being hashed as it is written (by the worker itself, or by others: `written`). */
export class HashJob {
  private ended = false
  /** Once finished: the bytes the worker wrote with O_DIRECT (hash-worker-program.ts). */
  directBytes = 0

  constructor(
    private readonly id: number,
    private readonly thread: Thread,
    /** The workers' spare batch buffers (HashWorkers.spares). */
    private readonly spares: BatchBuffer[],
    private readonly pacer: ScavengePacer
  ) {}

  /** The file holds its first `upTo` bytes: the worker may hash them. */
  written(upTo: number): void {
    if (!this.ended && this.thread.jobs.has(this.id)) this.thread.worker.postMessage({ id: this.id, upTo })
  }

  /**
   * A writing job (HashWorkers.startWriting): the worker writes `parts` (`bytes` in all) at `position`,
   * where the previous batch ended, and hashes them. The parts are copied (`copy`: the batch as the
   * worker has it), so the caller may drop them at once. `written` rejects with HashWorkerGone when
   * the worker or the job failed (a full disk, say): the caller then writes `copy` itself, and a real
   * disk error shows there.
   */
  write(parts: readonly Buffer[], bytes: number, position: number): { copy: Buffer; written: Promise<void> } {
    const batch = bytes <= BATCH_BUFFER_BYTES ? (this.spares.pop() ?? batchBuffer()) : { buffer: new SharedArrayBuffer(bytes), aligned: false }
    const { buffer, aligned } = batch
    const copy = Buffer.from(buffer, 0, bytes)
    let at = 0
    // fill copies with memcpy; set into shared memory copies byte by byte when the part's offset
    // and its place in the batch are not word-aligned alike (~7x slower: a quarter of an upload's
    // main-thread time, as busboy's parts start anywhere).
    for (const part of parts) {
      if (part.length > 0) copy.fill(part, at, at + part.length)
      at += part.length
    }
    // The caller lets the parts go now (body-digest keeps `copy`).
    this.pacer.dropped(bytes)
    const job = this.thread.jobs.get(this.id)
    if (this.ended || !job) return { copy, written: Promise.reject(new HashWorkerGone('the hash job failed or its worker ended')) }
    const written = new Promise<void>((resolve, reject) => {
      job.pending.push({
        resolve: () => {
          // Kept for a later batch once written; after a failure the caller writes from it, and a
          // worker on its way out might still read it.
          if (buffer.byteLength === BATCH_BUFFER_BYTES && this.spares.length < WRITES_IN_FLIGHT) this.spares.push(batch)
          resolve()
        },
        reject
      })
      this.thread.worker.postMessage({ id: this.id, buffer, length: bytes, position, aligned })
    })
    return { copy, written }
  }

  /** The file is complete at `size` bytes: resolves with its sha-256 (hex), or rejects with HashWorkerGone. */
  finish(size: number): Promise<string> {
    this.ended = true
    const job = this.thread.jobs.get(this.id)
    // Gone with its worker, or failed on an earlier part of the file.
    if (!job) return Promise.reject(new HashWorkerGone('the hash job failed or its worker ended'))
    return new Promise<string>((resolve, reject) => {
      const answered = (answer: Answer) => {
        if (answer.sha256 === undefined) return reject(new HashWorkerGone('the hash worker answered without a digest'))
        this.directBytes = answer.direct ?? 0
        resolve(answer.sha256)
      }
      job.pending.push({ resolve: answered, reject })
      this.thread.worker.postMessage({ id: this.id, upTo: size, end: true })
    })
  }

  /** The write failed: the worker drops the job (and closes its descriptor); a write still waiting rejects. */
  abort(): void {
    const job = this.thread.jobs.get(this.id)
    if (this.ended || !job) return
    this.ended = true
    forget(this.thread, this.id)
    for (const pending of job.pending.splice(0)) pending.reject(new HashWorkerGone('the hash job was aborted'))
    this.thread.worker.postMessage({ id: this.id, abort: true })
  }
}

/** WebAssembly as batchBuffer uses it: the project's libraries (ES2023, no DOM) do not declare it. */
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer } }

/** A batch's shared buffer; aligned: it lies on a page boundary, and a worker writes from it with O_DIRECT as it is. */
interface BatchBuffer {
  buffer: SharedArrayBuffer
  aligned: boolean
}

/**
 * A shared buffer for one batch, on a page boundary where it can be: a shared WebAssembly.Memory's
 * buffer, which V8 maps page-aligned (JavaScript cannot align memory otherwise), so that a worker
 * writing with O_DIRECT takes the batch as it is instead of copying it into aligned memory of its own
 * (~0.1 s of the worker's CPU per 512 MiB; hash-worker-program.ts). Each such memory reserves ~10 GiB
 * of address space for its guard regions, none of it resident (3,000 held at once took 50 ms and 30 TB
 * of the 128 TiB a process may map; a body has at most WRITES_IN_FLIGHT of them, and dropped ones go
 * with the next collections). Should V8 refuse one all the same, the batch comes in plain shared memory
 * and the worker copies it as before.
 */
function batchBuffer(): BatchBuffer {
  try {
    const pages = BATCH_BUFFER_BYTES / WASM_PAGE_BYTES
    return { buffer: new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer, aligned: true }
  } catch {
    return { buffer: new SharedArrayBuffer(BATCH_BUFFER_BYTES), aligned: false }
  }
}

/** The sha-256 (hex) of a whole file, read on this thread: the fallback when a worker is gone. */
export async function hashFileHere(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
