// What each error code means and where it can happen, for the problem+json responses of openapi.yaml.
import { ERROR_CATALOGUE, problemType, type ErrorCode } from '../errors.js'

/** When each code is answered (API.md, "Errors"). */
export const ERROR_MEANINGS: Record<ErrorCode, string> = {
  ValidationError: 'a bad identifier, body, query or header (`errors` lists each field); also status 416 for a Range past the end of the item',
  Unauthorized: 'a missing or wrong bearer token; for the Front webhook a bad signature or a stale timestamp',
  Forbidden: 'the token\'s role may not do this (DELETE and POST /v1/cleanup need `operator`)',
  SourceNotAllowed: 'a pull target blocked by policy: a private, loopback or link-local address, a URL off the configured upstream origin, a local path outside STAGING_LOCAL_IMPORT_DIR, a disabled source',
  NotFound: 'no such item (or no such route)',
  MethodNotAllowed: 'the path exists but does not take this method; `Allow` lists the methods it takes',
  Conflict: 'the item exists with different content and `overwrite` was not set',
  EventsGone: 'GET /v1/events with an `after` older than the retained log: `oldest_sequence` says where to resume (after `oldest_sequence - 1`); the events between are lost to this consumer. Also an `after` past the newest event (`newest_sequence`): a position from another log, e.g. after the tree was replaced',
  DigestMismatch: 'the body\'s sha-256 differs from the `Repr-Digest: sha-256=:<base64>:` the client sent; nothing was stored',
  InvalidTransition: 'the status change is not allowed (allowed: active → success | failed, failed → active, a status to itself)',
  PayloadTooLarge: 'the item is over STAGING_MAX_DOCUMENT_MB',
  UnsupportedMediaType: 'the request content type is not one this operation takes',
  MissingAuthentication: 'no token is available for Samsara, Turvo or Front',
  InvalidJSON: 'the upstream or supplied payload is not valid JSON',
  UpstreamRejected: 'the upstream answered 4xx other than 408/429 (e.g. 401, 403, 404)',
  FetchError: 'a network failure, an upstream 5xx or 429 after retries (502), or a timeout (504)',
  QuotaExceeded: 'the item would push staged bytes over STAGING_MAX_SIZE_GB',
  InsufficientStorage: 'the staging filesystem is full (ENOSPC/EDQUOT); nothing was written, retry once space is freed',
  StagingError: 'a local I/O failure',
  Unavailable: 'the service is shutting down or overloaded'
}

/** The `code` member's description: every code with its status, retryable flag and meaning. */
export const PROBLEM_CODES_DESCRIPTION = [
  'The stable error code. Clients branch on this, not on `title` or `detail`:',
  '',
  ...(Object.keys(ERROR_CATALOGUE) as ErrorCode[]).map((c) => {
    const e = ERROR_CATALOGUE[c]
    const status = c === 'FetchError' ? '502/504' : String(e.status)
    return `- \`${c}\` (${status}${e.retryable ? ', retryable' : ''}): ${ERROR_MEANINGS[c]}`
  })
].join('\n')

const EXAMPLE_DETAILS: Record<ErrorCode, string> = {
  ValidationError: 'body.document_id: must be 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit',
  Unauthorized: 'an Authorization: Bearer token is required',
  Forbidden: 'this needs an operator token',
  SourceNotAllowed: 'http://10.0.0.5/file.pdf resolves to a private address',
  NotFound: 'no item local_upload/DOC-123',
  MethodNotAllowed: 'PUT is not allowed on /v1/stats; allowed: GET, HEAD',
  Conflict: 'local_upload/DOC-123 exists with different content; set overwrite to replace it',
  EventsGone: 'the events after 12 were trimmed; the oldest retained sequence is 40',
  DigestMismatch: 'the body\'s sha-256 is 9f86d081…, its Repr-Digest says 2c26b46b…',
  InvalidTransition: 'cannot change status from success to active',
  PayloadTooLarge: 'the item is larger than the cap of 1073741824 bytes',
  UnsupportedMediaType: 'send multipart/form-data (an upload) or application/json (a pull)',
  MissingAuthentication: 'no API token is configured for frontapp',
  InvalidJSON: 'the payload is not valid JSON',
  UpstreamRejected: 'the upstream answered 404',
  FetchError: 'the upstream did not answer within 30000 ms',
  QuotaExceeded: 'staging 2048 more bytes would exceed the quota of 10737418240 bytes',
  InsufficientStorage: 'could not commit local_upload/DOC-123: the staging filesystem is full',
  StagingError: 'an internal error occurred',
  Unavailable: 'the service is shutting down'
}

/** Where a status can mean more than one code, which code applies depends on the operation. */
const PULLS = new Set(['post /v1/documents', 'post /v1/structured'])
const RAW_UPLOAD = 'put /v1/staging/{source}/{document_id}'
/** Operations that take the document's bytes and so honour Repr-Digest. */
const UPLOADS = new Set(['post /v1/documents', RAW_UPLOAD])

export function codesFor(method: string, path: string, status: number): ErrorCode[] {
  const op = `${method} ${path}`
  if (status === 416) return ['ValidationError']
  if (status === 504) return ['FetchError']
  const codes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((c) => ERROR_CATALOGUE[c].status === status)
  return codes.filter((code) => {
    // Both roles may stage, so a 403 there is always the pull policy.
    if (code === 'DigestMismatch') return UPLOADS.has(op)
    if (code === 'Conflict') return PULLS.has(op) || op === RAW_UPLOAD
    if (code === 'SourceNotAllowed') return PULLS.has(op)
    if (code === 'Forbidden') return !PULLS.has(op) && op !== RAW_UPLOAD
    if (code === 'InvalidTransition') return !PULLS.has(op) && op !== RAW_UPLOAD
    if (code === 'InvalidJSON') return op !== 'post /v1/documents'
    return true
  })
}

export function problemExample(code: ErrorCode, status: number, instance: string): Record<string, unknown> {
  const entry = ERROR_CATALOGUE[code]
  const example: Record<string, unknown> = {
    type: problemType(code),
    title: entry.title,
    status,
    detail: status === 416 ? 'the range is outside the 12345 bytes of this item' : EXAMPLE_DETAILS[code],
    code,
    retryable: entry.retryable,
    instance,
    request_id: '5f0c6a3e-2b1d-4c8e-9a7f-1e2d3c4b5a69'
  }
  if (code === 'ValidationError' && status === 400) {
    example.errors = [{ field: 'body.document_id', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit' }]
  }
  return example
}

/** One line per code for a response description. */
export function describeCodes(codes: ErrorCode[]): string {
  return codes.map((c) => `\`${c}\`${ERROR_CATALOGUE[c].retryable ? ' (retryable)' : ''}: ${ERROR_MEANINGS[c]}`).join('; ')
}
