// The data-file check after a start, on a thread of its own: one worker stats every loaded item's
// data file with statSync and answers with the positions of those that are missing, not a file, or
// of another size than recorded. Through fs.promises the same check at 100k items kept the main
// thread ~70% busy and both cores full for ~3.5 s after ready (a promise, a thread-pool round trip
// and a Stats object per file), just when the first requests arrive; one worker's statSync loop takes
// ~0.6 s of one core and leaves the main thread free.
import { Worker } from 'node:worker_threads'
import { sharedPaths } from './metadata-reader.js'

/** What the worker found: the positions of mismatched files, and whether it checked every file. */
export interface WorkerCheck {
  mismatched: number[]
  complete: boolean
}

/** Files per look at the stop flag. */
const STOP_EVERY = 256
/** How often this thread looks whether the check should stop (a close). */
const POLL_MS = 50

/**
 * The worker's program. Plain CommonJS evaluated by the Worker, so that it runs the same from the
 * sources (tsx) and from the bundle (the metadata readers do the same). Paths are UTF-8 byte ranges of
 * shared memory (statSync takes a Buffer path); sizes a Float64Array beside them.
 */
const WORKER_PROGRAM = `
const { statSync } = require('node:fs')
const { workerData, parentPort } = require('node:worker_threads')
const { pathEnds, sizes, stop, crash } = workerData
const pathBytes = Buffer.from(workerData.pathBytes)
const count = pathEnds.length
const mismatched = []
let i = 0
for (; i < count; i++) {
  if (i % ${STOP_EVERY} === 0 && Atomics.load(stop, 0) !== 0) break
  if (crash) throw new Error('a file-check worker failing on purpose')
  const path = pathBytes.subarray(i > 0 ? pathEnds[i - 1] : 0, pathEnds[i])
  let st
  try { st = statSync(path, { throwIfNoEntry: false }) } catch { st = undefined }
  if (!st || !st.isFile() || st.size !== sizes[i]) mismatched.push(i)
}
parentPort.postMessage({ mismatched: Uint32Array.from(mismatched), complete: i === count })
`

export interface CheckedFile {
  file_path: string
  file_size_bytes: number
}

/**
 * Stats each file on one worker thread. Resolves with what it found; `complete` is false when
 * `stopped()` turned true first (looked at every 50 ms, then the worker stops within 256 files).
 * Rejects when the worker fails, so that the caller can check another way.
 */
export function checkFilesInWorker(files: readonly CheckedFile[], stopped: () => boolean, options: { crash?: boolean } = {}): Promise<WorkerCheck> {
  const paths = sharedPaths(files.map((f) => f.file_path))
  const sizes = new Float64Array(new SharedArrayBuffer(8 * files.length))
  for (let i = 0; i < files.length; i++) sizes[i] = files[i]!.file_size_bytes
  const stop = new Int32Array(new SharedArrayBuffer(4))
  return new Promise<WorkerCheck>((resolve, reject) => {
    let settled = false
    const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: { pathBytes: paths.bytes, pathEnds: paths.ends, sizes, stop, crash: options.crash === true } })
    const poll = setInterval(() => {
      if (stopped()) Atomics.store(stop, 0, 1)
    }, POLL_MS)
    const settle = (finish: () => void) => {
      if (settled) return
      settled = true
      clearInterval(poll)
      finish()
    }
    worker.once('message', (m: { mismatched: Uint32Array; complete: boolean }) => settle(() => resolve({ mismatched: [...m.mismatched], complete: m.complete })))
    worker.once('error', (err) => settle(() => reject(err)))
    worker.once('exit', (code) => settle(() => reject(new Error(`the file-check worker exited with code ${code} before it answered`))))
  })
}

