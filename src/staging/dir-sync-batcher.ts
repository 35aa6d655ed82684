// Group commit for directory entries: one fsync of a directory covers every rename into it that
// landed before the fsync started, so concurrent commits share it instead of paying one each.
import { fsyncPath } from './durable-fs.js'

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

interface DirState {
  /** A sync of this directory is running; the waiters below arrived after it started. */
  running: boolean
  waiting: Waiter[]
}

export class DirSyncBatcher {
  private readonly dirs = new Map<string, DirState>()

  constructor(private readonly syncDir: (dir: string) => Promise<void> = fsyncPath) {}

  /**
   * Resolves once an fsync of `dir` that started after this call has completed. Callers in the same
   * tick share the next fsync; callers that arrive while one runs wait for the one after it (the
   * running one may have begun before their rename, so it does not cover them).
   */
  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir)
    if (!state) {
      state = { running: false, waiting: [] }
      this.dirs.set(dir, state)
      const started = state
      setImmediate(() => this.start(dir, started))
    }
    const waiting = state.waiting
    return new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }))
  }

  private start(dir: string, state: DirState): void {
    const batch = state.waiting
    state.waiting = []
    state.running = true
    const settle = (err: unknown) => {
      for (const w of batch) {
        if (err === undefined) w.resolve()
        else w.reject(err)
      }
      state.running = false
      if (state.waiting.length > 0) this.start(dir, state)
      else this.dirs.delete(dir)
    }
    this.syncDir(dir).then(() => settle(undefined), (err: unknown) => settle(err ?? new Error('directory fsync failed')))
  }
}
