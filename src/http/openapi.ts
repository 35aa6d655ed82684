// OpenAPI from the zod route schemas: @fastify/swagger collects the routes, /openapi.json and /docs serve the result.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { PACKAGE_VERSION } from '../version.js'
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

const openapiDocument = z.looseObject({
  openapi: z.string().meta({ description: 'OpenAPI version of the document', example: '3.0.3' }),
  info: z.looseObject({}).meta({ description: 'Title, version and description of the API' }),
  paths: z.looseObject({}).meta({ description: 'Every operation of the service' })
})

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: OPENAPI_BASE,
    transform: transformRoute,
    transformObject: (input) => finishDocument(jsonSchemaTransformObject(input))
  })
  // validatorUrl false: the page must not send the spec to an online validator.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    validatorUrl: false,
    // Grouped by tag in the document's order, collapsed to the operation list; models hidden (each operation shows its own).
    uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: -1, displayRequestDuration: true }
  })
  app.get('/openapi.json', {
    config: { access: 'public' },
    schema: {
      summary: 'This OpenAPI document as JSON',
      operationId: 'getOpenApi',
      response: { 200: openapiDocument.meta({ description: 'The OpenAPI 3.0 document of this service' }) }
    }
  }, async () => app.swagger())
}
