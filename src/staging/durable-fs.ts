// Durable filesystem steps: fsync of files and directories, atomic small-file writes.
import { open, rename, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
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
