// Durable filesystem steps: fsync of files and directories, atomic small-file writes, and the
// inline write of a whole small buffer.
//
// Opening a directory, closing a descriptor and writing a few KiB into the page cache take
// microseconds, while a thread-pool round trip costs a context switch or two on a busy machine; so
// they run inline and the fsync itself, which waits for the disk, goes to the pool. Calls that create
// or move an entry (mkdir, an open that creates a file, the store's rename into place) go to the pool
// too: they need a journal handle, and under a stream of fsyncs they wait for the journal's commits
// (mkdir and creating opens took 40% of the main thread in one profile of 4 KiB uploads; on the pool
// those uploads ran ~25% faster, and ~8% more with the rename there as well).
import { closeSync, fsync, open as openCallback, openSync, writeSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'

/** fsync of an open descriptor on the thread pool. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())))
}

/** Writes all of `data` at `position` on this thread (see above: for small buffers). */
export function writeAllSync(fd: number, data: Buffer, position: number): void {
  for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, data.length - offset, position + offset)
}

/** open(2) on the thread pool, for an open that creates the file (see above); resolves with the descriptor. */
export function openFd(path: string, flags: string, mode: number): Promise<number> {
  return new Promise((resolve, reject) => openCallback(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))))
}

export async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r')
  try {
    await fsyncFd(fd)
  } finally {
    closeSync(fd)
  }
}

/** Writes `data` to `target` through a temp file in `tmpDir` (same filesystem), fsync, rename, fsync dir. */
export async function writeFileAtomic(target: string, data: string, tmpDir: string): Promise<void> {
  const tmp = join(tmpDir, `file-${randomUUID()}`)
  try {
    const handle = await open(tmp, 'wx', 0o640)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, target)
  } catch (err) {
    // A disk that filled up mid-write must not keep the partial temp file until the next start.
    await rm(tmp, { force: true })
    throw err
  }
  await fsyncPath(dirname(target))
}
