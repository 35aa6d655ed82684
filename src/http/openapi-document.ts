// Whole-document finishing after the routes are converted: problem+json errors, one name per schema, stable order.
import type { ErrorCode } from '../errors.js'
import { annotateOperations, dropOpenAdditionalProperties, TAGS } from './openapi-examples.js'
import { codesFor, describeCodes, problemExample } from './openapi-problems.js'

type Json = Record<string, unknown>
type Operation = { responses?: Record<string, Json>; security?: unknown[] }

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options']
const PROBLEM = 'application/problem+json'
const REF = '#/components/schemas/'

/** Every error this API sends is problem+json (src/http/problem.ts); the provider only knows application/json. */
function problemResponses(method: string, path: string, op: Operation): void {
  const responses = op.responses ?? {}
  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status)
    if (!(code >= 400)) continue
    const content = (response.content ?? {}) as Record<string, Json>
    const media = content['application/json'] ?? content[PROBLEM]
    // Error statuses with their own body (the readiness report of /readyz 503) are not problems.
    if ((media?.schema as Json | undefined)?.$ref !== `${REF}Problem`) continue
    const codes = codesFor(method, path, code)
    const instance = path.replace('{source}', 'local_upload').replace('{document_id}', 'DOC-123')
    const examples = Object.fromEntries(codes.map((c: ErrorCode) => [c, { summary: c, value: problemExample(c, code, instance) }]))
    response.content = { [PROBLEM]: { schema: { $ref: `${REF}Problem` }, examples } }
    if (!response.description || response.description === 'Default Response') response.description = describeCodes(codes)
  }
  // Any operation behind a token may also fail on local storage or while shutting down.
  if (op.security && op.security.length > 0 && !responses.default) {
    responses.default = {
      description: `Any other error, as problem+json; in particular ${describeCodes(['StagingError', 'Unavailable'])}`,
      content: { [PROBLEM]: { schema: { $ref: `${REF}Problem` } } }
    }
  }
}

function replaceRefs(node: unknown, from: string, to: string): unknown {
  if (Array.isArray(node)) return node.map((n) => replaceRefs(n, from, to))
  if (node === null || typeof node !== 'object') return node
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && v === from ? to : replaceRefs(v, from, to)]))
}

function refsIn(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, into))
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF)) into.add(v.slice(REF.length))
      else refsIn(v, into)
    }
  }
  return into
}

/**
 * The provider emits each `.meta({ id })` schema twice, `X` (output) and `XInput` (input). Keep one name
 * where they are the same or only one is used, and drop schemas nothing refers to.
 */
function tidySchemas(doc: Json): Json {
  const components = (doc.components ?? {}) as Json
  const schemas = { ...((components.schemas ?? {}) as Record<string, unknown>) }
  let result: Json = doc
  for (const name of Object.keys(schemas).filter((n) => n.endsWith('Input'))) {
    const base = name.slice(0, -'Input'.length)
    const used = refsIn(result.paths, new Set())
    const same = JSON.stringify(schemas[name]) === JSON.stringify(schemas[base])
    if (same || !used.has(base)) {
      schemas[base] = schemas[name]
      delete schemas[name]
      result = replaceRefs(result, REF + name, REF + base) as Json
    }
  }
  // Keep what the paths reach, following references between schemas.
  const keep = refsIn(result.paths, new Set())
  for (let grew = true; grew; ) {
    const before = keep.size
    for (const name of [...keep]) refsIn(schemas[name], keep)
    grew = keep.size > before
  }
  const kept = Object.fromEntries(Object.keys(schemas).filter((n) => keep.has(n)).sort().map((n) => [n, schemas[n]]))
  return { ...result, components: { ...((result.components ?? {}) as Json), schemas: kept } }
}

/** OpenAPI 3.0 wants a `type` beside `nullable`; the provider writes a nullable $ref as `nullable` + `allOf` alone. */
function typeNullableRefs(node: unknown, schemas: Record<string, Json>): void {
  if (Array.isArray(node)) return node.forEach((n) => typeNullableRefs(n, schemas))
  if (node === null || typeof node !== 'object') return
  const schema = node as Json
  const only = Array.isArray(schema.allOf) && schema.allOf.length === 1 ? (schema.allOf[0] as Json) : undefined
  if (schema.nullable === true && schema.type === undefined && typeof only?.$ref === 'string') {
    const type = schemas[only.$ref.slice(REF.length)]?.type
    if (type !== undefined) schema.type = type
  }
  Object.values(schema).forEach((v) => typeNullableRefs(v, schemas))
}

const statusOrder = (a: string, b: string) => (a === 'default' ? 1 : b === 'default' ? -1 : Number(a) - Number(b))

/** Paths sorted, methods in HTTP order, responses by status: merges of new routes never reorder the rest. */
function sortPaths(paths: Record<string, Record<string, Operation>>): Json {
  const sorted: Json = {}
  for (const path of Object.keys(paths).sort()) {
    const item = paths[path] as Record<string, Operation>
    const methods = Object.keys(item).sort((a, b) => METHODS.indexOf(a) - METHODS.indexOf(b))
    sorted[path] = Object.fromEntries(
      methods.map((m) => {
        const op = item[m] as Operation
        const responses = op.responses ?? {}
        const ordered = Object.fromEntries(Object.keys(responses).sort(statusOrder).map((s) => [s, responses[s]]))
        return [m, { ...op, responses: ordered }]
      })
    )
  }
  return sorted
}

export function finishDocument(input: Json): Json {
  const doc = structuredClone(input)
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) if (METHODS.includes(method)) problemResponses(method, path, op)
  }
  annotateOperations(paths as Record<string, Record<string, Json>>, METHODS)
  dropOpenAdditionalProperties(doc)
  const { openapi, info, servers, paths: _paths, components, ...rest } = tidySchemas({ ...doc, paths: sortPaths(paths) })
  typeNullableRefs({ _paths, components }, ((components as Json).schemas ?? {}) as Record<string, Json>)
  return { openapi, info, servers, tags: TAGS, ...rest, paths: _paths, components }
}
