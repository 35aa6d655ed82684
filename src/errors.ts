// The error catalogue: every code the API can answer with, its HTTP status and whether a retry may help.
export const ERROR_CATALOGUE = {
  ValidationError: { status: 400, retryable: false, title: 'The request is not valid' },
  Unauthorized: { status: 401, retryable: false, title: 'Authentication is missing or wrong' },
  Forbidden: { status: 403, retryable: false, title: 'The token may not do this' },
  SourceNotAllowed: { status: 403, retryable: false, title: 'The source is blocked by policy' },
  NotFound: { status: 404, retryable: false, title: 'No such item' },
  MethodNotAllowed: { status: 405, retryable: false, title: 'The path does not take this method' },
  Conflict: { status: 409, retryable: false, title: 'The item exists with different content' },
  EventsGone: { status: 410, retryable: false, title: 'That event position is outside the retained log' },
  DigestMismatch: { status: 400, retryable: false, title: 'The body does not match its Repr-Digest' },
  InvalidTransition: { status: 409, retryable: false, title: 'That status change is not allowed' },
  PayloadTooLarge: { status: 413, retryable: false, title: 'The item is over the size cap' },
  UnsupportedMediaType: { status: 415, retryable: false, title: 'Wrong request content type' },
  MissingAuthentication: { status: 422, retryable: false, title: 'No upstream token is available' },
  InvalidJSON: { status: 422, retryable: false, title: 'The payload is not valid JSON' },
  UpstreamRejected: { status: 422, retryable: false, title: 'The upstream refused the request' },
  FetchError: { status: 502, retryable: true, title: 'The upstream could not be reached' },
  QuotaExceeded: { status: 507, retryable: true, title: 'The staging quota would be exceeded' },
  InsufficientStorage: { status: 507, retryable: true, title: 'The staging filesystem is full' },
  StagingError: { status: 500, retryable: true, title: 'Local storage failed' },
  Unavailable: { status: 503, retryable: true, title: 'The service is unavailable' }
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>

export type ErrorCode = keyof typeof ERROR_CATALOGUE
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]]

export interface AppErrorOptions {
  /** Overrides the catalogue status where the catalogue allows two (FetchError: 502 or 504). */
  status?: number
  cause?: unknown
  /** Extra problem members, e.g. the offending field; never secrets. */
  extra?: Record<string, unknown>
}

/** A catalogue error thrown by the domain; mapped to problem+json in one place (src/http/problem.ts). */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly retryable: boolean
  readonly extra: Record<string, unknown>

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = options.status ?? ERROR_CATALOGUE[code].status
    this.retryable = ERROR_CATALOGUE[code].retryable
    this.extra = options.extra ?? {}
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code)
}

/** The problem type URI of a code: stable, documented in openapi.yaml. */
export function problemType(code: ErrorCode): string {
  return `urn:apex-staging:problem:${code}`
}
