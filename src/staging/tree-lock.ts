// One process owns a staging tree: an O_EXCL lock file {base}/.lock naming its holder (pid, host,
// process start), taken before anything under the tree is touched and removed on close.
import { readFileSync } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'

export const LOCK_FILE = '.lock'

export interface LockHolder {
  pid: number
  host: string
  /** The holder's process start time in clock ticks since boot (Linux), to tell a reused pid apart. */
  proc_start: string | null
  started_at: string
}

export class TreeLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | null
  ) {
    const who = holder ? `pid ${holder.pid} on ${holder.host} (since ${holder.started_at})` : 'an unknown holder (unreadable lock file)'
    super(`the staging tree is in use by ${who}: ${lockPath} exists; one process owns a tree. Stop that process, or remove the file if it is certainly gone`)
    this.name = 'TreeLockedError'
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started; null where /proc is not there. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.pid === process.pid && holder.proc_start === procStart(process.pid)) return true
  try {
    process.kill(holder.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  // Alive, unless the pid now belongs to another process than the one that wrote the lock.
  const now = procStart(holder.pid)
  return holder.proc_start === null || now === null || now === holder.proc_start
}

function parseHolder(raw: string): LockHolder | null {
  try {
    const value = JSON.parse(raw) as Partial<LockHolder>
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null
    return { pid: value.pid, host: value.host, proc_start: value.proc_start ?? null, started_at: String(value.started_at) }
  } catch {
    return null
  }
}

export class TreeLock {
  private released = false

  private constructor(readonly path: string) {}

  /** Takes the tree, or throws TreeLockedError naming a live holder; a dead holder's lock is taken over. */
  static async acquire(baseDir: string): Promise<TreeLock> {
    await mkdir(baseDir, { recursive: true, mode: 0o750 })
    const path = join(baseDir, LOCK_FILE)
    const me: LockHolder = { pid: process.pid, host: hostname(), proc_start: procStart(process.pid), started_at: new Date().toISOString() }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, 'wx', 0o640)
        try {
          await handle.writeFile(`${JSON.stringify(me)}\n`)
          await handle.sync()
        } finally {
          await handle.close()
        }
        return new TreeLock(path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const before = await stat(path).catch(() => null)
      if (!before) continue
      const holder = parseHolder(await readFile(path, 'utf8').catch(() => ''))
      // Another host's process cannot be checked from here: only a person can say it is gone.
      if (!holder || holder.host !== me.host || isAlive(holder)) {
        // A holder that is still writing its lock leaves it empty for a moment.
        if (!holder && Date.now() - before.mtimeMs < 2000 && attempt < 2) {
          await new Promise((resolve) => setTimeout(resolve, 200))
          continue
        }
        throw new TreeLockedError(path, holder)
      }
      // Stale: move it aside only if it is still the file just judged (a rival may have replaced it).
      const now = await stat(path).catch(() => null)
      if (now && now.ino === before.ino) {
        const aside = `${path}.stale-${randomUUID()}`
        await rename(path, aside).then(() => rm(aside, { force: true }), () => undefined)
      }
    }
    throw new TreeLockedError(path, null)
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    await rm(this.path, { force: true })
  }
}
