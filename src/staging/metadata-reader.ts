// Reads items' .metadata.json texts at start-up. Opening 100k small files is kernel time (path
// lookup, open, read, close), and with a cold page cache it is disk latency: worker threads read
// chunks of the list, while this thread hands every text to its taker (the parsing) in order.
// Chunks are claimed through one shared counter, so the work balances itself: whenever the chunk
// this thread needs next is still being read, it claims and reads the next free one itself rather
// than wait. Readers answer on their own message ports, which this thread drains synchronously
// between its own chunks (a 'message' event would wait for the event loop).
//
// A reader thread takes ~0.1 s to start, so readers are started before the list exists
// (startReaders) and wait for it: their start overlaps this thread's listing of the tree.
import { availableParallelism } from 'node:os'
import { closeSync, openSync, readFileSync, readSync } from 'node:fs'
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { pathListShared, type SharedPathList } from './packed-paths.js'

/**
 * Metadata files are a few hundred bytes: one read into `buffer` at `offset` (at least MAX_READ free
 * there), instead of readFileSync's fstat and reads. The number of bytes read, or, for a file that
 * fills the room and so may be longer, the whole file.
 */
function readMetadataInto(path: string, buffer: Buffer, offset: number): number | Buffer {
  const fd = openSync(path, 'r')
  let n: number
  try {
    n = readSync(fd, buffer, offset, MAX_READ, 0)
  } finally {
    closeSync(fd)
  }
  return n < MAX_READ ? n : readFileSync(path)
}

const MAX_READ = 64 * 1024

/** A worker's chunk: the bytes of paths [start, start + ends.length) end to end (moved, not copied), where each ends, and which it could not read. */
interface Chunk {
  start: number
  bytes: ArrayBuffer
  ends: Int32Array
  failed: Uint8Array
}

/**
 * The readers' program: claim a chunk from the shared counter, read each of its paths into
 * one buffer, send it, repeat. Plain CommonJS evaluated by the Worker, so that it runs the same from
 * the sources (tsx) and from the bundle, which has no worker file of its own to point at. Bytes
 * rather than strings: the buffer is transferred, where strings would be copied into the main
 * thread's heap and promoted there by the GC.
 */
const WORKER_PROGRAM = `
const { closeSync, openSync, readFileSync, readSync } = require('node:fs')
const { receiveMessageOnPort, workerData } = require('node:worker_threads')
const MAX_READ = ${MAX_READ}
const { counter, posted, go, port, chunkItems, crash } = workerData

// Started before the list exists: wait until it is handed over (go 1) or the reading is cancelled (go 2).
Atomics.wait(go, 0, 0)
const handed = Atomics.load(go, 0) === 1 ? receiveMessageOnPort(port) : undefined
if (handed) readChunks(handed.message)

function readChunks({ names: shared, ends: nameEnds, headAt, heads, tail }) {
  // The list as its names' UTF-8 bytes end to end in shared memory (SharedPathList): each path is put
  // together in a buffer of its head's, so this thread makes no string for any of 100k paths.
  const names = Buffer.from(shared)
  const tailBytes = Buffer.from(tail)
  const headLengths = heads.map((head) => Buffer.byteLength(head))
  // Each head's buffer holds the head, then room for a name and the tail (grown for a longer one).
  const headBuffers = heads.map((head, g) => {
    const buffer = Buffer.allocUnsafeSlow(headLengths[g] + 512)
    buffer.write(head, 0)
    return buffer
  })
  const count = nameEnds.length
  const pathAt = (i) => {
    const g = headAt[i]
    const from = i > 0 ? nameEnds[i - 1] : 0
    const to = nameEnds[i]
    const headLength = headLengths[g]
    const length = headLength + (to - from) + tailBytes.length
    let path = headBuffers[g]
    if (length > path.length) {
      const longer = Buffer.allocUnsafeSlow(2 * length)
      path.copy(longer, 0, 0, headLength)
      headBuffers[g] = path = longer
    }
    // Names and tails are a few bytes: copied by hand, cheaper than a copy call each.
    let at = headLength
    for (let k = from; k < to; k++) path[at++] = names[k]
    for (let k = 0; k < tailBytes.length; k++) path[at++] = tailBytes[k]
    return path.subarray(0, length)
  }
  // One buffer for every chunk (grown when a chunk needs more): each chunk leaves as a copy of just its
  // bytes, so no chunk-sized buffer waits as garbage for this thread's next GC.
  let bytes = Buffer.allocUnsafeSlow(Math.max(MAX_READ, chunkItems * 1024))
  for (;;) {
    const start = Atomics.add(counter, 0, chunkItems)
    if (start >= count) break
    if (crash) throw new Error('a reader failing on purpose, with a chunk claimed')
    const end = Math.min(start + chunkItems, count)
    let used = 0
    const ends = new Int32Array(end - start)
    const failed = new Uint8Array(end - start)
    const room = (n) => {
      if (used + n <= bytes.length) return
      const bigger = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, used + n))
      bytes.copy(bigger, 0, 0, used)
      bytes = bigger
    }
    for (let i = start; i < end; i++) {
      try {
        room(MAX_READ)
        const path = pathAt(i)
        const fd = openSync(path, 'r')
        let n
        try { n = readSync(fd, bytes, used, MAX_READ, 0) } finally { closeSync(fd) }
        if (n === MAX_READ) {
          // As long as the buffer or longer: read it whole.
          const whole = readFileSync(path)
          room(whole.length)
          n = whole.copy(bytes, used)
        }
        used += n
      } catch {
        failed[i - start] = 1
      }
      ends[i - start] = used
    }
    const out = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + used)
    port.postMessage({ start, bytes: out, ends, failed }, [out, ends.buffer, failed.buffer])
    Atomics.add(posted, 0, 1)
    Atomics.notify(posted, 0)
  }
}
`

/** Atomics.waitAsync (Node 16 on), which the ES2023 lib this project compiles against does not declare. */
const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: Promise<string> | string } }).waitAsync

export interface ReadAllOptions {
  /** Reader threads beside this one (0: this thread reads everything). */
  workers?: number
  /** Paths per claim. */
  chunkItems?: number
  /** Tests: this thread never claims a chunk, so the readers read every one. */
  onlyWorkersRead?: boolean
  /** Tests: every reader fails right after claiming its first chunk. */
  crashReaders?: boolean
}

/** One reader beside this thread per further core, up to 3: with a warm cache they share the cores with the parsing (on 2 cores a second reader was slower), with a cold one they keep the disk busy (1 reader 7.4 s, 2 readers 6.1 s for 100k items). */
export const defaultReaders = () => Math.min(3, Math.max(1, availableParallelism() - 1))

/** Reading under way (startReading): its texts are handed over once, by `each`. */
export interface MetadataReading {
  /**
   * Hands `take(i, text)` the metadata text of every path (null: unreadable), in order, on this
   * thread, which also reads whatever no reader has; should a reader fail, this thread reads what it
   * has not been given yet itself. The readers end with it.
   */
  each(take: TakeText): Promise<void>
  /** Ends the readers without handing anything over (a start that failed, or loaded a snapshot). */
  cancel(): void
}

/**
 * Takes the text of path i (null: unreadable), and where its bytes are: [start, end) of `chunk`, a
 * buffer that every text of its chunk shares and that nothing else writes to.
 */
export type TakeText = (i: number, text: string | null, chunk: Buffer, start: number, end: number) => void

/** Hands `take` the metadata text of every path (null: unreadable), in order, on this thread. */
export function readAllMetadata(paths: readonly string[], take: TakeText, options: ReadAllOptions = {}): Promise<void> {
  return startReading({ shared: pathListShared(paths), names: paths }, options).each(take)
}

/**
 * Reader threads, started before the list they will read exists: each waits until startReading
 * hands it the list, or cancel ends it. They claim chunks of `chunkItems` paths.
 */
export class ReaderThreads {
  /** The next free chunk's first index, and how many chunks the readers have sent. */
  readonly counter = new Int32Array(new SharedArrayBuffer(4))
  readonly posted = new Int32Array(new SharedArrayBuffer(4))
  /** 0 while they wait, 1 once the list is handed over, 2 when cancelled. */
  private readonly go = new Int32Array(new SharedArrayBuffer(4))
  private readonly workers: Worker[] = []
  readonly ports: MessagePort[] = []
  /** Set when a reader failed: what it claimed and did not send is this thread's to read. */
  broken = false
  private ended = false

  constructor(
    count: number,
    readonly chunkItems: number,
    crash = false
  ) {
    for (let w = 0; w < count; w++) {
      const { port1, port2 } = new MessageChannel()
      const workerData = { counter: this.counter, posted: this.posted, go: this.go, port: port2, chunkItems, crash }
      const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData, transferList: [port2] })
      // A failed reader wakes this thread at once (Atomics.notify reaches this thread's own waitAsync).
      worker.on('error', () => {
        this.broken = true
        Atomics.notify(this.posted, 0)
      })
      worker.on('exit', (code) => {
        if (code !== 0) this.broken = true
        Atomics.notify(this.posted, 0)
      })
      this.workers.push(worker)
      this.ports.push(port1)
    }
  }

  get count(): number {
    return this.workers.length
  }

  /** Sets the readers going on `paths` (once). */
  handOver(paths: SharedPathList): void {
    if (this.ended || Atomics.load(this.go, 0) !== 0) throw new Error('reader threads already handed a list or ended')
    for (const port of this.ports) port.postMessage(paths)
    Atomics.store(this.go, 0, 1)
    Atomics.notify(this.go, 0)
  }

  /** Ends the readers, whether or not they were handed a list. */
  end(): void {
    if (this.ended) return
    this.ended = true
    if (Atomics.compareExchange(this.go, 0, 0, 2) === 0) Atomics.notify(this.go, 0)
    for (const worker of this.workers) void worker.terminate()
    for (const port of this.ports) port.close()
  }
}

/** Reader threads for a list that is not made yet (none for `workers` 0): startReading takes them. */
export function startReaders(options: ReadAllOptions = {}): ReaderThreads {
  return new ReaderThreads(options.workers ?? 0, options.chunkItems ?? DEFAULT_CHUNK_ITEMS, options.crashReaders === true)
}

const DEFAULT_CHUNK_ITEMS = 256

/** The paths to read: the readers' list, and its names as strings (this thread puts its own paths together from them). */
export interface PathsToRead {
  shared: SharedPathList
  names: readonly string[]
}

/**
 * Sets reading going on `paths` at once: `readers` (started earlier by startReaders), or readers
 * started now as `options` says; this thread joins in when `each` is called. Texts the readers send
 * meanwhile wait in their ports as transferred bytes, outside the JS heap.
 */
export function startReading(paths: PathsToRead, options: ReadAllOptions = {}, readers: ReaderThreads = startReaders(options)): MetadataReading {
  const n = paths.shared.ends.length
  const { heads, headAt, tail } = paths.shared
  /** Path i as the readers put it together: its head, its name, the tail. */
  const pathOf = (i: number) => `${heads[headAt[i]!]!}${paths.names[i]!}${tail}`
  const { counter, posted, ports, chunkItems } = readers
  if (n > 0 && readers.count > 0) readers.handOver(paths.shared)
  else readers.end()
  let ended = false

  // What this thread reads goes into a chunk of bytes too, as the readers' do: a text is kept as
  // bytes by whoever keeps it (LoadedRecord), not as a string on the heap.
  let scratch = Buffer.allocUnsafeSlow(Math.max(MAX_READ, chunkItems * 1024))
  /** Grows `scratch`, keeping its first `used` bytes, until `more` bytes fit after them. */
  const room = (used: number, more: number) => {
    if (used + more <= scratch.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, used + more))
    scratch.copy(bigger, 0, 0, used)
    scratch = bigger
  }
  const readHere = (from: number, to: number): Chunk => {
    let used = 0
    const ends = new Int32Array(to - from)
    const failed = new Uint8Array(to - from)
    for (let i = from; i < to; i++) {
      try {
        room(used, MAX_READ)
        const read = readMetadataInto(pathOf(i), scratch, used)
        if (typeof read === 'number') {
          used += read
        } else {
          // As long as MAX_READ or longer: read whole, and copied in over its first bytes.
          room(used, read.length)
          used += read.copy(scratch, used)
        }
      } catch {
        failed[i - from] = 1
      }
      ends[i - from] = used
    }
    // A copy of just the chunk's bytes: the texts kept from it share it, and scratch is reused.
    return { start: from, bytes: scratch.buffer.slice(scratch.byteOffset, scratch.byteOffset + used), ends, failed }
  }
  /** Chunks from the readers, and chunks this thread read ahead, by first index. */
  const arrived = new Map<number, Chunk>()
  const readAhead = new Map<number, Chunk>()
  const drain = () => {
    for (const port of ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) arrived.set((m.message as Chunk).start, m.message as Chunk)
    }
  }
  const mayClaim = !options.onlyWorkersRead || readers.count === 0
  /** The texts of the chunk at `start`, however they come; this thread reads what no reader will send. */
  const textsOf = async (start: number, end: number): Promise<Chunk> => {
    const own = readAhead.get(start)
    if (own) {
      readAhead.delete(start)
      return own
    }
    if (mayClaim && Atomics.compareExchange(counter, 0, start, start + chunkItems) === start) return readHere(start, end)
    for (;;) {
      const seen = Atomics.load(posted, 0)
      drain()
      const chunk = arrived.get(start)
      if (chunk) {
        arrived.delete(start)
        return chunk
      }
      if (readers.broken) return readHere(start, end)
      // A reader has it: read the next free chunk meanwhile rather than wait.
      if (mayClaim) {
        const next = Atomics.add(counter, 0, chunkItems)
        if (next < n) {
          readAhead.set(next, readHere(next, Math.min(next + chunkItems, n)))
          continue
        }
      }
      // Nothing left to claim: wait for a reader's next chunk (or its failure, seen within 50 ms).
      const waited = waitAsync(posted, 0, seen, 50)
      if (waited.async) {
        // A pending waitAsync holds no handle: without a timer the event loop could end under it.
        const keepAlive = setTimeout(() => undefined, 100)
        await waited.value
        clearTimeout(keepAlive)
      }
    }
  }

  const each = async (take: TakeText): Promise<void> => {
    if (ended) throw new Error('metadata reading already handed over or cancelled')
    ended = true
    try {
      for (let start = 0; start < n; start += chunkItems) {
        const end = Math.min(start + chunkItems, n)
        const chunk = await textsOf(start, end)
        const all = Buffer.from(chunk.bytes)
        for (let i = start; i < end; i++) {
          const at = i - start
          const from = at > 0 ? chunk.ends[at - 1]! : 0
          if (chunk.failed[at]) take(i, null, all, from, from)
          else take(i, all.toString('utf8', from, chunk.ends[at]), all, from, chunk.ends[at]!)
        }
      }
    } finally {
      readers.end()
    }
  }
  return {
    each,
    cancel: () => {
      ended = true
      readers.end()
    }
  }
}
