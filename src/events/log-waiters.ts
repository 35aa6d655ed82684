// Long-poll waiters on the event log: each resolves when its condition holds, its time is up, its
// signal aborts, or the log is interrupted for shutdown (and every later wait then returns at once).
interface Waiter {
  ready: () => boolean
  done: () => void
}

export class LogWaiters {
  private readonly waiting = new Set<Waiter>()
  private interrupted = false

  wait(ready: () => boolean, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.interrupted || signal?.aborted) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { ready, done: () => finish() }
      const timer = setTimeout(() => finish(), ms)
      const onAbort = () => finish()
      const finish = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.waiting.delete(waiter)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.add(waiter)
    })
  }

  /** Called after every durable append. */
  check(): void {
    for (const w of [...this.waiting]) if (w.ready()) w.done()
  }

  interrupt(): void {
    this.interrupted = true
    for (const w of [...this.waiting]) w.done()
  }
}
