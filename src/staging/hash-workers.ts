// The sha-256 of large bodies, on worker threads that read the bytes back from the file being
// written. On a 2-core machine the main thread is the limit of a large upload or pull: it reads the
// socket, parses, and hashed every byte (a quarter of its time). Handing the chunks themselves to a
// worker costs a copy or a page fault per 4 KiB of each fresh buffer; a worker reading the file's
// pages from the page cache into one reused buffer costs neither on the main thread, which only
// posts how far the file has been written. The hash is then of the bytes the file holds.
//
// One worker serves many jobs at once (a job's messages carry its id), so a job never queues behind
// another one. Should a worker fail, its jobs reject with HashWorkerGone and the caller hashes the
// file itself; the next job starts a new worker.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

/**
 * The workers' program: plain CommonJS evaluated by the Worker, so that it runs the same from the
 * sources (tsx) and from the bundle, which has no worker file of its own to point at.
 * Messages: {id, path} opens a job; {id, upTo} hashes the file up to that offset; {id, upTo, end}
 * also answers {id, sha256}; {id, abort} drops the job. A failure answers {id, error} at once, and
 * the worker forgets the job.
 */
const WORKER_PROGRAM = `
const { closeSync, openSync, readSync, readlinkSync } = require('node:fs')
const { createHash } = require('node:crypto')
const { setPriority } = require('node:os')
const { parentPort, workerData } = require('node:worker_threads')
// Below the main thread (Linux: a thread's own id from /proc/thread-self); elsewhere it stays as it is.
try { setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice) } catch {}
const buffer = Buffer.allocUnsafeSlow(${1024 * 1024})
const jobs = new Map()
const drop = (id) => {
  const job = jobs.get(id)
  jobs.delete(id)
  if (job) try { closeSync(job.fd) } catch {}
}
parentPort.on('message', (m) => {
  try {
    if (workerData.crashOn !== undefined && m.upTo >= workerData.crashOn) process.exit(70)
    if (m.path !== undefined) {
      jobs.set(m.id, { fd: openSync(m.path, 'r'), hash: createHash('sha256'), at: 0 })
      return
    }
    const job = jobs.get(m.id)
    if (!job) return
    if (m.abort) return drop(m.id)
    while (job.at < m.upTo) {
      const n = readSync(job.fd, buffer, 0, Math.min(buffer.length, m.upTo - job.at), job.at)
      if (n === 0) throw new Error('the file ended at ' + job.at + ' of ' + m.upTo + ' written bytes')
      job.hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
      job.at += n
    }
    if (m.end) {
      const sha256 = job.hash.digest('hex')
      drop(m.id)
      parentPort.postMessage({ id: m.id, sha256 })
    }
  } catch (err) {
    drop(m.id)
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) })
  }
})
`

/**
 * The workers' scheduling priority (Linux nice value). On 2 cores the main thread, the client and the
 * file writes already want both cores; a worker at the main thread's priority, woken by each message,
 * preempted the main thread (a profile charged ~0.2 ms to every postMessage). At nice 10 it takes the
 * cycles the main thread leaves, and catches up at the end.
 */
const NICE = 10

/** A worker ended or failed under its jobs; the caller hashes the file itself. */
export class HashWorkerGone extends Error {
  override readonly name = 'HashWorkerGone'
}

interface Pending {
  resolve: (sha256: string) => void
  reject: (err: Error) => void
}

interface Thread {
  worker: Worker
  /**
   * Jobs started and neither answered, failed nor aborted (the next job's thread is chosen by their
   * number); `pending` is set once finish waits for the answer.
   */
  jobs: Map<number, { pending: Pending | null }>
  gone: boolean
}

export interface HashWorkersOptions {
  /** Worker threads (default: one per further core, at least one, at most 2). */
  threads?: number
  /** Tests: a worker exits as soon as a job has been written up to this offset. */
  crashAt?: number
}

/** One worker per further core, at most 2: the hash runs at 1.3-2 GB/s, above what a disk or socket brings. */
const defaultThreads = () => Math.min(2, Math.max(1, availableParallelism() - 1))

export class HashWorkers {
  private readonly threads: (Thread | null)[]
  private nextId = 1
  private closed = false

  constructor(private readonly options: HashWorkersOptions = {}) {
    this.threads = new Array<Thread | null>(options.threads ?? defaultThreads()).fill(null)
  }

  /** Starts hashing the file at `path`, which must exist: the job reads what `written` says is there. */
  start(path: string): HashJob {
    if (this.closed) throw new HashWorkerGone('the hash workers are closed')
    const thread = this.pickThread()
    const id = this.nextId++
    // A worker with jobs keeps the event loop alive, as their answers are awaited.
    if (thread.jobs.size === 0) thread.worker.ref()
    thread.jobs.set(id, { pending: null })
    thread.worker.postMessage({ id, path })
    return new HashJob(id, thread)
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
    for (const job of thread.jobs.values()) job.pending?.reject(new HashWorkerGone(why))
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
    const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: { crashOn: this.options.crashAt, nice: NICE } })
    // An idle worker must not keep the process alive (start refs it while it has jobs).
    worker.unref()
    const thread: Thread = { worker, jobs: new Map(), gone: false }
    worker.on('message', (m: { id: number; sha256?: string; error?: string }) => {
      const job = thread.jobs.get(m.id)
      if (!job) return
      // A job that failed before finish is forgotten here too: finish then rejects at once.
      forget(thread, m.id)
      if (m.sha256 !== undefined) job.pending?.resolve(m.sha256)
      else job.pending?.reject(new HashWorkerGone(`hashing the file failed: ${m.error}`))
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

/** One file being hashed as it is written. */
export class HashJob {
  private ended = false

  constructor(
    private readonly id: number,
    private readonly thread: Thread
  ) {}

  /** The file holds its first `upTo` bytes: the worker may hash them. */
  written(upTo: number): void {
    if (!this.ended && this.thread.jobs.has(this.id)) this.thread.worker.postMessage({ id: this.id, upTo })
  }

  /** The file is complete at `size` bytes: resolves with its sha-256 (hex), or rejects with HashWorkerGone. */
  finish(size: number): Promise<string> {
    this.ended = true
    const job = this.thread.jobs.get(this.id)
    // Gone with its worker, or failed on an earlier part of the file.
    if (!job) return Promise.reject(new HashWorkerGone('the hash job failed or its worker ended'))
    return new Promise<string>((resolve, reject) => {
      job.pending = { resolve, reject }
      this.thread.worker.postMessage({ id: this.id, upTo: size, end: true })
    })
  }

  /** The write failed: the worker drops the job (and closes its descriptor). */
  abort(): void {
    if (this.ended || !this.thread.jobs.has(this.id)) return
    this.ended = true
    forget(this.thread, this.id)
    this.thread.worker.postMessage({ id: this.id, abort: true })
  }
}

/** The sha-256 (hex) of a whole file, read on this thread: the fallback when a worker is gone. */
export async function hashFileHere(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
