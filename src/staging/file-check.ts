// The data-file check after a start, on a thread of its own: one worker stats every loaded item's
// data file with statSync and answers with the positions of those that are missing, not a file, or
// of another size than recorded. Through fs.promises the same check at 100k items kept the main
// thread ~70% busy and both cores full for ~3.5 s after ready (a promise, a thread-pool round trip
// and a Stats object per file), just when the first requests arrive; one worker's statSync loop takes
// ~0.6 s of one core and leaves the main thread free.
import { Worker } from 'node:worker_threads'
import { packPathsTransferable } from './packed-paths.js'

/** What the worker found: the positions of mismatched files, and whether it checked every file. */
export interface WorkerCheck {
  mismatched: number[]
  complete: boolean
}

/** Files per message: the worker holds one chunk's paths at a time, not 100k of them. */
const CHUNK_FILES = 4096
/** How often a stop is looked for while a chunk is out: on a cold disk 4096 stats may take seconds. */
const STOP_POLL_MS = 50
/**
 * The worker allocates a Stats object per file and keeps nothing, so a small heap is enough: the worker
 * adds ~10 MiB of RSS while it runs (its isolate), where a default young generation let it grow to ~13.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 }

/**
 * The worker's program. Plain CommonJS evaluated by the Worker, so that it runs the same from the
 * sources (tsx) and from the bundle (the metadata readers do the same). Each message is one chunk:
 * its packed paths (statSync takes a Buffer path) and the sizes recorded; the answer is the
 * positions in the chunk whose file does not match.
 */
const WORKER_PROGRAM = `
const { statSync } = require('node:fs')
const { parentPort, workerData } = require('node:worker_threads')
parentPort.on('message', ({ bytes, ends, sizes }) => {
  if (workerData.crash) throw new Error('a file-check worker failing on purpose')
  const all = Buffer.from(bytes)
  const mismatched = []
  for (let i = 0; i < ends.length; i++) {
    let st
    try { st = statSync(all.subarray(i > 0 ? ends[i - 1] : 0, ends[i]), { throwIfNoEntry: false }) } catch { st = undefined }
    if (!st || !st.isFile() || st.size !== sizes[i]) mismatched.push(i)
  }
  parentPort.postMessage(Uint32Array.from(mismatched))
})
`

export interface CheckedFile {
  file_path: string
  file_size_bytes: number
}

/** One chunk's message: its paths packed (packed-paths.ts) and the sizes recorded, all transferred. */
function chunkMessage(files: readonly CheckedFile[]): { message: object; transfer: ArrayBuffer[] } {
  const { bytes, ends } = packPathsTransferable(files.map((f) => f.file_path))
  const sizes = Float64Array.from(files, (f) => f.file_size_bytes)
  return { message: { bytes, ends, sizes }, transfer: [bytes, ends.buffer as ArrayBuffer, sizes.buffer] }
}

/**
 * Stats each file on one worker thread, 4096 files per message with two in flight. Resolves with
 * the positions found; `complete` is false when `stopped()` turned true first (looked at between
 * chunks and every 50 ms: a close does not wait for the chunk out). Rejects when the worker fails,
 * so that the caller can check another way.
 */
export function checkFilesInWorker(files: readonly CheckedFile[], stopped: () => boolean, options: { crash?: boolean } = {}): Promise<WorkerCheck> {
  const chunks = Math.ceil(files.length / CHUNK_FILES)
  if (chunks === 0) return Promise.resolve({ mismatched: [], complete: true })
  return new Promise<WorkerCheck>((resolve, reject) => {
    const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: { crash: options.crash === true }, resourceLimits: WORKER_LIMITS })
    const mismatched: number[] = []
    let sent = 0
    let answered = 0
    let settled = false
    const settle = (finish: () => void) => {
      if (settled) return
      settled = true
      clearInterval(poll)
      void worker.terminate()
      finish()
    }
    const poll = setInterval(() => {
      if (stopped()) settle(() => resolve({ mismatched, complete: false }))
    }, STOP_POLL_MS)
    poll.unref()
    const send = () => {
      if (sent === chunks) return
      const { message, transfer } = chunkMessage(files.slice(sent * CHUNK_FILES, (sent + 1) * CHUNK_FILES))
      worker.postMessage(message, transfer)
      sent++
    }
    // Answers come in the order the chunks went (one port, one loop in the worker).
    worker.on('message', (found: Uint32Array) => {
      const start = answered * CHUNK_FILES
      for (const i of found) mismatched.push(start + i)
      answered++
      if (answered === chunks) return settle(() => resolve({ mismatched, complete: true }))
      if (stopped()) return settle(() => resolve({ mismatched, complete: false }))
      send()
    })
    worker.once('error', (err) => settle(() => reject(err)))
    worker.once('exit', (code) => settle(() => reject(new Error(`the file-check worker exited with code ${code} before it answered`))))
    send()
    send()
  })
}
