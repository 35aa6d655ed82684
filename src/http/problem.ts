// One mapping from any error to RFC 9457 problem+json with the catalogue's code and retryable flag.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod'
import { AppError, ERROR_CATALOGUE, problemType, type ErrorCode } from '../errors.js'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  retryable: boolean
  instance?: string
  request_id?: string
  [extra: string]: unknown
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UnsupportedMediaType',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UnsupportedMediaType',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PayloadTooLarge',
  FST_REQ_FILE_TOO_LARGE: 'PayloadTooLarge',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ValidationError',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ValidationError',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ValidationError',
  FST_PARTS_LIMIT: 'ValidationError',
  FST_FILES_LIMIT: 'ValidationError',
  FST_FIELDS_LIMIT: 'ValidationError',
  FST_PROTO_VIOLATION: 'ValidationError',
  FST_MP_PREMATURE_CLOSE: 'ValidationError',
  // A path segment that does not decode (bad percent-encoding, invalid UTF-8) or is far past any valid id.
  FST_ERR_BAD_URL: 'ValidationError',
  FST_ERR_MAX_PARAM_LENGTH: 'ValidationError'
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'ValidationError',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  503: 'Unavailable'
}

interface ValidationIssue {
  instancePath?: string
  message?: string
  params?: { issue?: { path?: PropertyKey[] } }
}

function fieldName(context: string | undefined, issue: ValidationIssue): string {
  const path = issue.params?.issue?.path
  const inner = path && path.length > 0 ? path.map(String).join('.') : (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')
  const where = context === 'querystring' ? 'query' : (context ?? 'body')
  return inner ? `${where}.${inner}` : where
}

/** Builds the problem body for an error; 5xx details of unexpected errors are hidden. */
export function toProblem(err: unknown): Problem {
  let code: ErrorCode = 'StagingError'
  let status: number | undefined
  let detail = 'an internal error occurred'
  let extra: Record<string, unknown> = {}

  if (err instanceof AppError) {
    code = err.code
    status = err.status
    detail = err.message
    extra = err.extra
  } else if (hasZodFastifySchemaValidationErrors(err) || (err as FastifyError)?.validation) {
    const e = err as FastifyError
    const errors = (e.validation ?? []).map((issue) => ({
      field: fieldName(e.validationContext, issue as ValidationIssue),
      message: issue.message ?? 'is not valid'
    }))
    code = 'ValidationError'
    detail = errors.map((x) => `${x.field}: ${x.message}`).join('; ') || 'the request is not valid'
    extra = { errors }
  } else if (isResponseSerializationError(err)) {
    code = 'StagingError'
  } else if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && FASTIFY_CODES[err.code]) {
    code = FASTIFY_CODES[err.code] as ErrorCode
    detail = String((err as { message?: unknown }).message ?? detail)
  } else if (err && typeof err === 'object' && 'statusCode' in err && typeof err.statusCode === 'number' && BY_STATUS[err.statusCode]) {
    code = BY_STATUS[err.statusCode] as ErrorCode
    detail = String((err as { message?: unknown }).message ?? detail)
  } else if (err && typeof err === 'object' && 'statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Any other client fault a plugin reports keeps its 4xx status: never a 5xx for the client's mistake.
    code = 'ValidationError'
    status = err.statusCode
    detail = String((err as { message?: unknown }).message ?? detail)
  }
  const entry = ERROR_CATALOGUE[code]
  return {
    ...extra,
    type: problemType(code),
    title: entry.title,
    status: status ?? entry.status,
    detail,
    code,
    retryable: entry.retryable
  }
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.code === 'Unauthorized') reply.header('www-authenticate', 'Bearer')
  if (problem.retryable && (problem.status === 503 || problem.status === 507)) reply.header('retry-after', '30')
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ ...problem, instance: request.url.split('?')[0], request_id: request.id })
}

/** The client closed its connection before the answer: nothing can be sent, and nothing failed here. */
export function clientWentAway(request: FastifyRequest): boolean {
  const socket = request.raw.socket as FastifyRequest['raw']['socket'] | null
  return !socket || socket.destroyed || (request.raw.aborted && !request.raw.complete)
}

export function problemErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (clientWentAway(request)) {
    if (request.bodyCutOff === null) request.log.info({ reason: err.message }, 'client aborted the request')
    request.problemCode = 'ClientAborted'
    return reply.code(499).send()
  }
  const problem = toProblem(err)
  // Unexpected failures get their own line with the stack; the request line carries the code.
  if (problem.status >= 500 && !(err instanceof AppError && err.code !== 'StagingError')) {
    request.log.error({ err }, 'request failed')
  }
  request.problemCode = problem.code
  // A body still arriving is drained, within bounds, by the body guard (src/http/body-guard.ts).
  return sendProblem(request, reply, problem)
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, toProblem(new AppError('NotFound', `no route ${request.method} ${request.url.split('?')[0]}`)))
}
