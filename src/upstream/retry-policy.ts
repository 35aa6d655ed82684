// When to retry an upstream request and how long to wait: exponential backoff with jitter, or Retry-After.

/** Statuses worth another attempt (UPSTREAMS.md): the upstream may answer differently soon. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

export interface BackoffOptions {
  /** First backoff step; doubled per attempt. */
  baseMs: number
  /** Ceiling for one backoff step. */
  maxMs: number
  /** Ceiling for a Retry-After an upstream asks for; a longer ask is clamped, not obeyed. */
  retryAfterMaxMs: number
  random: () => number
  now: () => number
}

/**
 * Parses Retry-After as delta-seconds (fractional accepted: Samsara sends `0.40235`) or an HTTP date,
 * clamped to [0, max]. Undefined when absent or unreadable, so the caller falls back to backoff.
 */
export function parseRetryAfter(value: string | string[] | undefined, options: Pick<BackoffOptions, 'retryAfterMaxMs' | 'now'>): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim()
  if (!raw) return undefined
  let ms: number
  if (/^\d+(\.\d+)?$/.test(raw)) {
    ms = Number(raw) * 1000
  } else {
    const at = Date.parse(raw)
    if (Number.isNaN(at)) return undefined
    ms = at - options.now()
  }
  return Math.min(Math.max(0, Math.ceil(ms)), options.retryAfterMaxMs)
}

/** Backoff before retry number `attempt` (0-based): equal jitter, half fixed and half random. */
export function backoffDelay(attempt: number, options: Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'random'>): number {
  const step = Math.min(options.maxMs, options.baseMs * 2 ** attempt)
  return Math.round(step / 2 + (step / 2) * options.random())
}

/** The wait before the next attempt: what the upstream asked for, else backoff. */
export function retryDelay(attempt: number, retryAfter: string | string[] | undefined, options: BackoffOptions): number {
  return parseRetryAfter(retryAfter, options) ?? backoffDelay(attempt, options)
}
