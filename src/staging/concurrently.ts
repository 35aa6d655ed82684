// Bounded concurrency over a list, shared by the sweep's removals and the file check after a start.

/**
 * Calls `each` on the items in order with at most `limit` calls in flight; each call handles its own
 * errors (one that throws anyway stops the run, which rejects with it once the calls in flight end).
 * `limit` may be a function, asked again whenever a call ends: when it falls, calls in flight
 * finish and no new one starts until fewer than the new limit remain; when it rises, more start.
 * Takes no further item once `stopped()` says so. Resolves true when every item was taken and the
 * run was not stopped.
 */
export function forEachConcurrently<T>(
  items: readonly T[],
  limit: number | (() => number),
  each: (item: T) => Promise<void>,
  stopped: () => boolean = () => false
): Promise<boolean> {
  const limitNow = typeof limit === 'function' ? limit : () => limit
  let next = 0
  let active = 0
  let failure: { err: unknown } | null = null
  return new Promise((resolve, reject) => {
    const pump = () => {
      // At least one call in flight while items remain, whatever the limit says, so the run ends.
      while (next < items.length && !stopped() && !failure && (active < limitNow() || active === 0)) {
        active++
        each(items[next++] as T).then(done, (err: unknown) => {
          failure ??= { err }
          done()
        })
      }
      if (active > 0) return
      if (failure) reject(failure.err)
      else resolve(next >= items.length && !stopped())
    }
    const done = () => {
      active--
      pump()
    }
    pump()
  })
}
