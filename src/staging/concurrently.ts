// Bounded concurrency over a list, shared by the sweep's removals and the file check after a start.

/**
 * Calls `each` on the items in order with at most `limit` calls in flight; each call handles its own
 * errors. Takes no further item once `stopped()` says so. Resolves true when every item was taken and
 * the run was not stopped.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  each: (item: T) => Promise<void>,
  stopped: () => boolean = () => false
): Promise<boolean> {
  let next = 0
  const worker = async () => {
    while (next < items.length && !stopped()) await each(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return next >= items.length && !stopped()
}
