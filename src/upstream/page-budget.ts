// Bounds what a paginated fetch may hold in memory: the merged document must fit the per-item cap,
// and no list is followed past a fixed number of pages.
import { AppError } from '../errors.js'

export const MAX_PAGES = 100

export class PageBudget {
  private used = 0

  constructor(private readonly maxBytes: number) {}

  /** What the next page may still weigh; the upstream client refuses a larger body. */
  get remaining(): number {
    return Math.max(1, this.maxBytes - this.used)
  }

  /** Counts a parsed page (by its JSON length, a lower bound of its bytes) against the cap. */
  spend(page: unknown): void {
    this.used += JSON.stringify(page)?.length ?? 0
    if (this.used > this.maxBytes) {
      throw new AppError('PayloadTooLarge', `the merged pages are larger than the cap of ${this.maxBytes} bytes`, {
        extra: { max_bytes: this.maxBytes }
      })
    }
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Appends without spreading into arguments: a page may hold more items than the stack allows. */
export function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item)
}
