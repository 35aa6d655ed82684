// OpenAPI from the zod route schemas, served at /openapi.json and as Swagger UI at /docs.
//
// The document and the page are built on their first request, not at start: registering
// @fastify/swagger (its OpenAPI builder, yaml, json-schema-resolver) and @fastify/swagger-ui
// (@fastify/static and a route per asset) took ~50 ms of every start's main thread. This app keeps
// the options of each route as it is registered; the first request for the document or the page
// imports both plugins into a second Fastify instance of its own (the docs app), registers the same
// routes there with a handler that is never called, and from then on /openapi.json is that
// instance's document and every /docs request is answered by it (fastify.inject).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify'
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { PACKAGE_VERSION } from '../version.js'
import { MAX_PARAM_LENGTH } from './route-not-found.js'
import { finishDocument } from './openapi-document.js'
import { BEARER_SCHEME, transformRoute } from './openapi-transform.js'

const DESCRIPTION = `A staging area in front of ingestion pipelines: documents and structured data land here,
are read by the pipeline and are removed or kept as failed when it is done.

All JSON is snake_case; timestamps are ISO 8601 UTC with milliseconds. Every error is
\`application/problem+json\` (RFC 9457) with a stable \`code\` and a \`retryable\` flag; see the
\`Problem\` schema for every code.

Identifiers (\`document_id\`, \`data_id\`) are 1-128 characters of \`A-Z a-z 0-9 . _ -\`, first
character a letter or digit.`

/** The fixed part of the document; paths and schemas come from the routes. */
export const OPENAPI_BASE = {
  openapi: '3.0.3',
  info: {
    title: 'apex-staging',
    version: PACKAGE_VERSION,
    description: DESCRIPTION,
    license: { name: 'Proprietary', url: 'https://example.com/apex-staging/license' }
  },
  servers: [{ url: '/', description: 'The service itself (relative to where this document is served)' }],
  components: {
    securitySchemes: {
      [BEARER_SCHEME]: {
        type: 'http' as const,
        scheme: 'bearer',
        description: 'A token from STAGING_API_TOKENS (`role:token`). `ingest` may stage, read, update and complete items and read stats; `operator` may do everything.'
      }
    }
  }
}

const openapiDocumentSchema = z.looseObject({
  openapi: z.string().meta({ description: 'OpenAPI version of the document', example: '3.0.3' }),
  info: z.looseObject({}).meta({ description: 'Title, version and description of the API' }),
  paths: z.looseObject({}).meta({ description: 'Every operation of the service' })
})

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI document of this app's routes (built on first use). */
    openapiDocument(): Promise<Record<string, unknown>>
  }
}

const DOCS_PREFIX = '/docs'
/** Request headers the docs app does not need: the connection's own, and credentials. */
const LOCAL_REQUEST_HEADERS = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'authorization', 'cookie'])
/** Response headers this app's reply sets itself. */
const LOCAL_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'content-length', 'transfer-encoding', 'date'])

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // Every route registered from here on (the API's plugins come after this), as the swagger plugin would see it.
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => {
    routes.push(route)
  })
  let docsApp: Promise<FastifyInstance> | null = null
  const docs = () => {
    docsApp ??= buildDocsApp(routes).catch((err: unknown) => {
      docsApp = null
      throw err
    })
    return docsApp
  }
  app.decorate('openapiDocument', async () => (await docs()).swagger() as unknown as Record<string, unknown>)
  app.addHook('onClose', async () => {
    if (docsApp) await (await docsApp.catch(() => null))?.close()
  })

  app.get('/openapi.json', {
    config: { access: 'public' },
    schema: {
      summary: 'This OpenAPI document as JSON',
      operationId: 'getOpenApi',
      response: { 200: openapiDocumentSchema.meta({ description: 'The OpenAPI 3.0 document of this service' }) }
    }
  }, async () => app.openapiDocument())

  // The page and its assets. The docs app skips these two routes (its swagger-ui registers its own,
  // hidden, and transformRoute documents GET /docs), so they need no schema here.
  const page = { config: { access: 'public' as const } }
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !LOCAL_REQUEST_HEADERS.has(name)))
    const res = await (await docs()).inject({ method: 'GET', url: request.url, headers: headers as Record<string, string> })
    // What the docs app does not have is this app's 404 (problem+json), not the docs app's.
    if (res.statusCode === 404) return reply.callNotFound()
    for (const [name, value] of Object.entries(res.headers)) {
      if (!LOCAL_RESPONSE_HEADERS.has(name) && value !== undefined) void reply.header(name, value)
    }
    // An empty answer (a redirect, a 304) stays empty: a Buffer would be given a Content-Type.
    return reply.code(res.statusCode).send(res.rawPayload.length > 0 ? res.rawPayload : undefined)
  }
  app.get(DOCS_PREFIX, page, forward)
  app.get(`${DOCS_PREFIX}/*`, page, forward)
}

/** The docs app: both plugins as they were registered before, over `routes` (handlers never called). */
async function buildDocsApp(routes: readonly RouteOptions[]): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')])
  // HEAD routes are among `routes` already; no request ever reaches a schema, so none is compiled.
  const docs = Fastify({ logger: false, exposeHeadRoutes: false, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } })
  docs.setValidatorCompiler(() => () => true)
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data))
  await docs.register(swagger, {
    openapi: OPENAPI_BASE,
    transform: transformRoute,
    transformObject: (input) => finishDocument(jsonSchemaTransformObject(input))
  })
  // validatorUrl false: the page must not send the spec to an online validator.
  await docs.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    validatorUrl: false,
    // Grouped by tag in the document's order, collapsed to the operation list; models hidden (each operation shows its own).
    uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: -1, displayRequestDuration: true }
  })
  const unused = async () => {
    throw new Error('the docs app only describes this route')
  }
  for (const route of routes) {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) continue
    docs.route({ method: route.method, url: route.url, schema: route.schema, config: route.config, handler: unused })
  }
  await docs.ready()
  return docs
}
