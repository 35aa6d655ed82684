// What makes the API page usable: operations grouped by tag, request examples that work when tried
// (each one consistent with its own `source`), and no `additionalProp1` placeholders.

type Json = Record<string, unknown>

export const TAGS = [
  { name: 'documents', description: 'Stage a document: upload it, or have the service pull it (http, https, Front) or move it (local import directory)' },
  { name: 'items', description: 'Read, download, change and complete staged items' },
  { name: 'operations', description: 'Operator views and actions: stats, cleanup sweeps, events' },
  { name: 'webhooks', description: 'Where Front posts its events (authenticated by Front\'s signature)' },
  { name: 'structured', description: 'Stage structured JSON from Samsara, Turvo or a Front payload' },
  { name: 'system', description: 'Health, readiness, metrics and this documentation' }
]

/** The tag of a path: the first prefix that matches; a route may also name its own `tags`. */
const TAG_BY_PREFIX: [string, string][] = [
  ['/v1/documents', 'documents'],
  ['/v1/staging', 'items'],
  ['/v1/structured', 'structured'],
  ['/v1/webhooks', 'webhooks'],
  ['/v1/', 'operations']
]

export function tagFor(path: string): string {
  return TAG_BY_PREFIX.find(([prefix]) => path.startsWith(prefix))?.[1] ?? 'system'
}

/** Named request examples per operation and media type; the first is the one the page fills in. */
export const REQUEST_EXAMPLES: Record<string, Record<string, Record<string, { summary: string; value: unknown }>>> = {
  'post /v1/documents': {
    'application/json': {
      https: {
        summary: 'Pull a public https URL',
        value: { document_id: 'RFC-9457', source: 'https', source_location: 'https://www.rfc-editor.org/rfc/rfc9457.txt' }
      },
      frontapp_url: {
        summary: 'Pull a Front attachment by URL (on FRONTAPP_BASE_URL; needs FRONTAPP_API_TOKEN)',
        value: { document_id: 'ATT-1', source: 'frontapp', source_location: 'https://api2.frontapp.com/download/fil_3q8a7mby' }
      },
      frontapp_id: {
        summary: 'Pull a Front attachment by id',
        value: { document_id: 'ATT-2', source: 'frontapp', source_location: 'fil_3q8a7mby' }
      },
      local_upload: {
        summary: 'Move a file in from STAGING_LOCAL_IMPORT_DIR',
        value: { document_id: 'SCAN-1', source: 'local_upload', source_location: 'batch-7/scan-001.tiff' }
      }
    }
  },
  'post /v1/structured': {
    'application/json': {
      samsara: {
        summary: 'Samsara vehicle GPS stats, every page merged (SAMSARA_API_TOKEN or auth_token)',
        value: { data_id: 'fleet-2026-01-05', source: 'samsara', source_location: '/fleet/vehicles/stats?types=gps' }
      },
      turvo: {
        summary: 'Turvo shipments (TURVO_API_TOKEN or auth_token)',
        value: { data_id: 'shipments-0105', source: 'turvo', source_location: '/shipments/list?start=0&pageSize=24' }
      },
      frontapp: {
        summary: 'A Front event handed over as a JSON string',
        value: { data_id: 'evt_55c8c149', source: 'frontapp', source_location: '{"id":"evt_55c8c149","type":"inbound"}' }
      }
    }
  }
}

/**
 * `additionalProperties: {}` is what OpenAPI assumes when it is absent, but Swagger UI fills it with
 * `additionalProp1` placeholders; dropping it changes nothing a validator checks.
 */
export function dropOpenAdditionalProperties(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(dropOpenAdditionalProperties)
  if (node === null || typeof node !== 'object') return
  const schema = node as Json
  const extra = schema.additionalProperties
  if (extra === true || (typeof extra === 'object' && extra !== null && Object.keys(extra).length === 0)) delete schema.additionalProperties
  Object.values(schema).forEach(dropOpenAdditionalProperties)
}

/** Tags every operation that has none and adds the request examples. */
export function annotateOperations(paths: Record<string, Record<string, Json>>, methods: string[]): void {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!methods.includes(method)) continue
      if (!Array.isArray(op.tags) || op.tags.length === 0) op.tags = [tagFor(path)]
      const examples = REQUEST_EXAMPLES[`${method} ${path}`]
      const content = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined
      for (const [type, named] of Object.entries(examples ?? {})) {
        if (content?.[type]) content[type].examples = named
      }
    }
  }
}
