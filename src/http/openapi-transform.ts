// Per-route OpenAPI transform: the provider's zod conversion plus what it leaves out (media-typed bodies,
// response headers, security from the route's access, the docs page).
import type { FastifySchema, RouteOptions } from 'fastify'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import { ZodType } from 'zod'
import type { Access } from './auth.js'

type TransformInput = Parameters<typeof jsonSchemaTransform>[0]
type TransformOutput = { schema: FastifySchema & Record<string, unknown>; url: string }
type MediaMap = Record<string, { schema: unknown }>

declare module 'fastify' {
  interface FastifySchema {
    /** A multipart/form-data body for the document only: the handler reads the parts as a stream, so nothing validates it. */
    multipartBody?: unknown
    /** A raw body of any media type, for the document only: the handler streams it, so nothing validates it. */
    rawBody?: unknown
  }
}

/** Names of the security schemes in the document. */
export const BEARER_SCHEME = 'bearerAuth'

function isMediaMap(value: unknown): value is { content: MediaMap } {
  return typeof value === 'object' && value !== null && 'content' in value && typeof value.content === 'object'
}

/** Converts one zod schema with the provider, so shared `.meta({ id })` schemas become $refs. */
function convert(input: TransformInput, body: unknown): unknown {
  const out = jsonSchemaTransform({ ...input, schema: { body } } as TransformInput) as TransformOutput
  return out.schema.body
}

function addMedia(body: unknown, type: string, schema: unknown): { content: MediaMap } {
  const content = isMediaMap(body) ? body.content : body === undefined ? {} : { 'application/json': { schema: body } }
  return { content: { ...content, [type]: { schema } } }
}

function convertMediaMap(input: TransformInput, content: MediaMap): MediaMap {
  return Object.fromEntries(Object.entries(content).map(([type, media]) => [type, { schema: convert(input, media.schema) }]))
}

/** Who may call the route, as an OpenAPI security requirement: public and open metrics need none. */
function securityFor(access: Access | undefined): Record<string, string[]>[] {
  if (access === 'public') return []
  if (access === 'metrics') return [{}, { [BEARER_SCHEME]: [] }]
  return [{ [BEARER_SCHEME]: [] }]
}

const ROLE_NOTE: Record<Access, string> = {
  public: 'Open: no token needed.',
  metrics: 'Open unless STAGING_METRICS_TOKEN is set; then it needs `Authorization: Bearer <metrics token>`.',
  ingest: 'Needs an `ingest` or `operator` bearer token.',
  operator: 'Needs an `operator` bearer token.'
}

/** The swagger-ui page hides its own routes; API.md lists GET /docs, so the page itself is documented. */
const DOCS_PAGE = {
  summary: 'Browsable API documentation (Swagger UI)',
  operationId: 'docs',
  produces: ['text/html'],
  response: { 200: { description: 'An HTML page that renders /openapi.json', type: 'string' } }
}

export function transformRoute(input: TransformInput): TransformOutput {
  const route = (input as { route?: RouteOptions }).route
  // swagger-ui registers its page as '/docs/'; the router serves it at '/docs' too.
  if (input.url === '/docs/' && route?.method === 'GET') {
    return { url: '/docs', schema: { ...DOCS_PAGE, security: [], description: ROLE_NOTE.public } }
  }
  const original = (input.schema ?? {}) as Record<string, unknown>
  const { multipartBody, rawBody, ...routeSchema } = original
  const body =
    multipartBody !== undefined
      ? addMedia(original.body, 'multipart/form-data', multipartBody)
      : rawBody !== undefined
        ? addMedia(original.body, '*/*', rawBody)
        : original.body
  const response = (original.response ?? {}) as Record<string, unknown>
  const plainResponse = Object.fromEntries(
    Object.entries(response).map(([status, r]) => [status, isMediaMap(r) ? { ...r, content: r.content } : r])
  )
  const out = jsonSchemaTransform({
    ...input,
    schema: { ...routeSchema, body: isMediaMap(body) ? undefined : body, response: plainResponse }
  } as TransformInput) as TransformOutput
  if (out.schema.hide) return out
  if (isMediaMap(body)) out.schema.body = { content: convertMediaMap(input, body.content) }
  const converted = (out.schema.response ?? {}) as Record<string, Record<string, unknown>>
  for (const [status, r] of Object.entries(response)) {
    // z.null() answers (204, 304) have no body; @fastify/swagger leaves out the content of `type: null`.
    if (r instanceof ZodType && r.def.type === 'null') converted[status] = { type: 'null', description: r.description ?? 'No body' }
    // The provider drops `headers` of a response object; @fastify/swagger reads them from there.
    const headers = (r as { headers?: unknown } | undefined)?.headers
    if (headers && converted[status]) converted[status].headers = headers
  }
  const access = route?.config?.access
  out.schema.security = securityFor(access)
  const note = ROLE_NOTE[access ?? 'operator']
  out.schema.description = [original.description, note].filter(Boolean).join('\n\n')
  return out
}
