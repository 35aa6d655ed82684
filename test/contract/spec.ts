// Validates real responses against openapi.yaml: status documented, media type, documented headers, body schema.
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { parse } from 'yaml'

type Json = Record<string, unknown>
interface Media { schema?: Json }
interface ResponseDoc { description: string; headers?: Record<string, unknown>; content?: Record<string, Media> }
interface OperationDoc { responses: Record<string, ResponseDoc> }

export const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, OperationDoc>>
  components: { schemas: Record<string, Json> }
}

// OpenAPI 3.0 schemas: `nullable` is understood by ajv; `example` is documentation; binary bodies are not JSON.
const ajv = new Ajv({ strict: false, allErrors: true })
addFormats.default(ajv)
ajv.addFormat('binary', true)
ajv.addSchema({ components: spec.components }, 'spec')
const compiled = new Map<string, ValidateFunction>()

function validatorFor(schema: Json): ValidateFunction {
  const text = JSON.stringify(schema).replaceAll('"#/components/', '"spec#/components/')
  let validate = compiled.get(text)
  if (!validate) {
    validate = ajv.compile(JSON.parse(text) as Json)
    compiled.set(text, validate)
  }
  return validate
}

export function operation(method: string, path: string): OperationDoc | undefined {
  return spec.paths[path]?.[method.toLowerCase()]
}

/** Every documented (method, path, status) that the contract tests answered, for the coverage check. */
export const exercised = new Set<string>()

/** Returns a list of mismatches; empty when the response is what openapi.yaml promises. */
export function checkResponse(method: string, path: string, res: LightMyRequestResponse): string[] {
  const op = operation(method, path)
  if (!op) return [`${method} ${path} is not in openapi.yaml`]
  const status = String(res.statusCode)
  const doc = op.responses[status] ?? op.responses.default
  if (!doc) return [`${method} ${path}: status ${status} is not documented`]
  exercised.add(`${method.toLowerCase()} ${path} ${op.responses[status] ? status : 'default'}`)
  const problems: string[] = []
  for (const name of Object.keys(doc.headers ?? {})) {
    if (res.headers[name.toLowerCase()] === undefined) problems.push(`${status}: documented header ${name} is missing`)
  }
  if (!doc.content) {
    if (res.rawPayload.length > 0) problems.push(`${status}: documented without a body, got ${res.rawPayload.length} bytes`)
    return problems
  }
  const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const media = doc.content[type] ?? doc.content['*/*']
  if (!media) return [...problems, `${status}: content type ${type || '(none)'} is not one of ${Object.keys(doc.content).join(', ')}`]
  if (!media.schema || !/json$/.test(type)) return problems
  let body: unknown
  try {
    body = JSON.parse(res.body)
  } catch {
    return [...problems, `${status}: the ${type} body is not JSON`]
  }
  const validate = validatorFor(media.schema)
  if (!validate(body)) problems.push(`${status}: body does not match the schema: ${ajv.errorsText(validate.errors)}`)
  return problems
}

/** Every documented response of an operation, as `method path status`, without `default`. */
export function documentedResponses(method: string, path: string): string[] {
  const op = operation(method, path)
  return Object.keys(op?.responses ?? {})
    .filter((s) => s !== 'default')
    .map((s) => `${method.toLowerCase()} ${path} ${s}`)
}

export const TOKENS = { ingest: 'ingest-token-0001', operator: 'operator-token-0001' }
export const AUTH_ENV = { STAGING_API_TOKENS: `ingest:${TOKENS.ingest},operator:${TOKENS.operator}` }
export const as = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` })


/** Asserts the status and that the whole response matches openapi.yaml. */
export function expectContract(t: Test, method: string, path: string, res: LightMyRequestResponse, status: number): void {
  t.equal(res.statusCode, status, `${method} ${path} answers ${status}`)
  t.same(checkResponse(method, path, res), [], `${method} ${path} ${res.statusCode} matches openapi.yaml`)
}

/** Every documented response of these operations was exercised, except those listed as not reachable here. */
export function expectAllExercised(t: Test, operations: [string, string][], unreachable: string[] = []): void {
  for (const [method, path] of operations) {
    const missing = documentedResponses(method, path).filter((r) => !exercised.has(r) && !unreachable.includes(r))
    t.same(missing, [], `every documented response of ${method} ${path} is exercised`)
  }
}
