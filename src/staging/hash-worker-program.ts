// The program the hash workers run (hash-workers.ts starts them): it writes the batches it is given
// and hashes them, or hashes a file written by others by reading it back as it grows.
//
// A worker writes a batch in pieces of at most WRITE_PIECE_BYTES. The kernel takes a buffered write
// into page-cache folios as large as the write (up to 1 MiB for the 1 MiB writevs the thread pool
// made), and on the benchmark VMs large folios come from high-order free blocks that the VM has handed
// back to its host (free page reporting), so every page of them costs a host fault when first touched:
// the same 512 MiB took ~1.2 s of system time as 1 MiB writes against ~0.2-0.3 s as 16-64 KiB ones,
// which recently freed pages serve (bench/RESULTS.md: "Large writes and the VM's cold pages"). 8k
// small writes would cost the thread pool a round trip each, and on the main thread they would block
// the event loop whenever the kernel throttles dirty pages; here they cost neither, and the bytes need
// not be read back to be hashed.

/** The largest write a worker makes: page-cache folios of at most 16 pages (see the header). */
const WRITE_PIECE_BYTES = 64 * 1024

/**
 * The workers' program: plain CommonJS evaluated by the Worker, so that it runs the same from the
 * sources (tsx) and from the bundle, which has no worker file of its own to point at.
 * Messages: {id, path} opens a job that reads the file, {id, path, write} one that writes it;
 * {id, buffer, length, position} writes a batch (in a SharedArrayBuffer) at the end of what the job has
 * written, hashes it and answers {id, written}; {id, upTo} hashes the file up
 * to that offset; {id, upTo, end} also answers {id, sha256}; {id, abort} drops the job. A failure
 * answers {id, error} at once, and the worker forgets the job.
 */
export const WORKER_PROGRAM = `
const { closeSync, openSync, readSync, writeSync } = require('node:fs')
const { createHash } = require('node:crypto')
const { parentPort, workerData } = require('node:worker_threads')
const buffer = Buffer.allocUnsafeSlow(${1024 * 1024})
const jobs = new Map()
const drop = (id) => {
  const job = jobs.get(id)
  jobs.delete(id)
  if (job) try { closeSync(job.fd) } catch {}
}
const write = (job, m) => {
  if (m.position !== job.at) throw new Error('a batch for offset ' + m.position + ' came at ' + job.at)
  const bytes = new Uint8Array(m.buffer, 0, m.length)
  for (let done = 0; done < m.length; ) {
    const n = writeSync(job.fd, bytes, done, Math.min(${WRITE_PIECE_BYTES}, m.length - done), m.position + done)
    if (n === 0) throw new Error('the file took no bytes at ' + (m.position + done))
    done += n
  }
  job.hash.update(bytes)
  job.at += m.length
  parentPort.postMessage({ id: m.id, written: job.at })
}
parentPort.on('message', (m) => {
  try {
    const reach = m.buffer !== undefined ? m.position + m.length : m.upTo
    if (workerData.crashOn !== undefined && reach >= workerData.crashOn) process.exit(70)
    if (m.path !== undefined) {
      jobs.set(m.id, { fd: openSync(m.path, m.write ? 'r+' : 'r'), hash: createHash('sha256'), at: 0 })
      return
    }
    const job = jobs.get(m.id)
    if (!job) return
    if (m.abort) return drop(m.id)
    if (m.buffer !== undefined) return write(job, m)
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
