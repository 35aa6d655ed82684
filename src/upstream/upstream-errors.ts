// Maps what can go wrong toward an upstream onto the error catalogue, and names each attempt's outcome.
import { AppError, isAppError } from '../errors.js'

/** Thrown by the SSRF guard from inside a connection attempt; never retried. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_ADDRESS_BLOCKED'
  constructor(readonly target: string) {
    super(`${target} is not an allowed destination`)
    this.name = 'BlockedAddressError'
  }
}

/** Outcome labels for the upstream request metric: a small fixed set. */
export const ATTEMPT_OUTCOMES = ['success', 'redirect', 'rejected', 'rate_limited', 'server_error', 'timeout', 'network_error', 'blocked', 'aborted'] as const
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number]

/** The `upstream` label values: pulls name their source, the structured clients their service, event push `events`. */
export const UPSTREAM_NAMES = ['http', 'https', 'frontapp', 'samsara', 'turvo', 'events'] as const

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
/**
 * Failures that a later attempt cannot fix. DNS failures (ENOTFOUND, EAI_AGAIN) are not among them: a
 * resolver hiccup or a record not yet propagated heals, and the FetchError they end in says retryable.
 */
const PERMANENT_CODES = new Set(['ERR_INVALID_URL', 'UND_ERR_INVALID_ARG', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED'])

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status < 300) return 'success'
  if (status < 400) return 'redirect'
  if (status === 429) return 'rate_limited'
  if (status === 408) return 'timeout'
  if (status < 500) return 'rejected'
  return 'server_error'
}

export function outcomeOfError(err: unknown, aborted: boolean): AttemptOutcome {
  if (aborted) return 'aborted'
  if (err instanceof BlockedAddressError || isAppError(err, 'SourceNotAllowed')) return 'blocked'
  return TIMEOUT_CODES.has(errorCode(err)) ? 'timeout' : 'network_error'
}

/** Why an attempt failed, for the log: the errno or undici code, and whether it was a timeout. */
export function failureCause(err: unknown): { cause: string; timeout?: true } {
  if (err instanceof BlockedAddressError) return { cause: 'blocked' }
  const code = errorCode(err) || (err instanceof Error ? err.name : 'unknown')
  return TIMEOUT_CODES.has(code) ? { cause: code, timeout: true } : { cause: code }
}

export function isRetryableError(err: unknown): boolean {
  if (err instanceof BlockedAddressError || isAppError(err)) return false
  return !PERMANENT_CODES.has(errorCode(err))
}

/** A transport failure (no usable answer) as a catalogue error: 504 for timeouts, else 502. */
export function toFetchError(err: unknown, upstream: string, aborted = false): AppError {
  if (isAppError(err)) return err
  if (err instanceof BlockedAddressError) {
    return new AppError('SourceNotAllowed', `${err.target} resolves to an address that pulls may not reach`, { cause: err })
  }
  if (aborted) return new AppError('FetchError', `the request to ${upstream} was cancelled`, { cause: err })
  if (TIMEOUT_CODES.has(errorCode(err))) {
    return new AppError('FetchError', `${upstream} did not answer in time`, { status: 504, cause: err })
  }
  const code = errorCode(err)
  return new AppError('FetchError', `${upstream} could not be reached${code ? ` (${code})` : ''}`, { cause: err })
}

/** A final non-2xx answer as a catalogue error; the upstream's body is never echoed (it may hold secrets). */
export function toStatusError(status: number, upstream: string): AppError {
  const extra = { upstream_status: status }
  if (status === 408 || status === 504) return new AppError('FetchError', `${upstream} answered ${status}`, { status: 504, extra })
  if (status === 429 || status >= 500) return new AppError('FetchError', `${upstream} answered ${status} after all retries`, { extra })
  if (status >= 300 && status < 400) return new AppError('UpstreamRejected', `${upstream} answered a redirect (${status}) that was not followed`, { extra })
  return new AppError('UpstreamRejected', `${upstream} refused the request (${status})`, { extra })
}
