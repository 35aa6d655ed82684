// Reads items' .metadata.json texts at start-up: on the main thread, or on a worker thread for the
// other half of a large tree. Opening 100k small files is kernel time (path lookup, open, close) that
// a second thread does beside the main thread's share and its JSON parsing.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs'
import { Worker } from 'node:worker_threads'

/** Metadata files are a few hundred bytes: one read into the caller's buffer, instead of readFileSync's fstat and reads. */
export function readMetadata(path: string, buffer: Buffer): string {
  const fd = openSync(path, 'r')
  let n: number
  try {
    n = readSync(fd, buffer, 0, buffer.length, 0)
  } finally {
    closeSync(fd)
  }
  // A file that fills the buffer may be longer: read it whole.
  return n < buffer.length ? buffer.toString('utf8', 0, n) : readFileSync(path, 'utf8')
}

/** What the worker sends back: every file's bytes end to end (moved, not copied), where each ends, and which it could not read. */
interface WorkerAnswer {
  bytes: ArrayBuffer
  ends: Int32Array
  failed: Uint8Array
}

/**
 * The worker's program: readMetadata over workerData.paths, into one growing buffer. Plain CommonJS
 * evaluated by the Worker, so that it runs the same from the sources (tsx) and from the bundle, which
 * has no worker file of its own to point at. Bytes rather than strings: the buffer is transferred,
 * where 50k strings would be copied into the main thread's heap and promoted there by the GC.
 */
const WORKER_PROGRAM = `
const { closeSync, openSync, readFileSync, readSync } = require('node:fs')
const { parentPort, workerData } = require('node:worker_threads')
const MAX_READ = ${64 * 1024}
const paths = workerData.paths
let bytes = Buffer.allocUnsafeSlow(Math.max(MAX_READ, paths.length * 1024))
let used = 0
const ends = new Int32Array(paths.length)
const failed = new Uint8Array(paths.length)
const room = (n) => {
  if (used + n <= bytes.length) return
  const bigger = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, used + n))
  bytes.copy(bigger, 0, 0, used)
  bytes = bigger
}
for (let i = 0; i < paths.length; i++) {
  try {
    room(MAX_READ)
    const fd = openSync(paths[i], 'r')
    let n
    try { n = readSync(fd, bytes, used, MAX_READ, 0) } finally { closeSync(fd) }
    if (n === MAX_READ) {
      // As long as the buffer or longer: read it whole.
      const whole = readFileSync(paths[i])
      room(whole.length)
      n = whole.copy(bytes, used)
    }
    used += n
  } catch {
    failed[i] = 1
  }
  ends[i] = used
}
const out = bytes.buffer.slice(0, used)
parentPort.postMessage({ bytes: out, ends, failed }, [out, ends.buffer, failed.buffer])
`

/** The texts of `paths` in order, read on a worker thread; null for a file that could not be read. */
export function readMetadataInWorker(paths: readonly string[]): Promise<(i: number) => string | null> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: { paths } })
    worker.once('message', ({ bytes, ends, failed }: WorkerAnswer) => {
      const all = Buffer.from(bytes)
      resolve((i) => (failed[i] ? null : all.toString('utf8', i > 0 ? ends[i - 1] : 0, ends[i])))
      void worker.terminate()
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`the metadata reader stopped with code ${code} before it answered`)))
  })
}
