// Every path and method of the product contract (../shared/API.md) is in openapi.yaml, and the served spec is the committed one.
import { existsSync, readFileSync } from 'node:fs'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { buildTestApp } from '../helper.js'
import { operation, spec } from './spec.js'

/** Mirrors the routes of API.md ("## Routes"); kept here because CI may run without ../shared. */
const API_MD_OPERATIONS = [
  'POST /v1/documents',
  'PUT /v1/staging/{source}/{document_id}',
  'POST /v1/structured',
  'POST /v1/webhooks/frontapp',
  'GET /v1/staging',
  'GET /v1/staging/{source}/{document_id}',
  'GET /v1/staging/{source}/{document_id}/content',
  'PATCH /v1/staging/{source}/{document_id}',
  'POST /v1/staging/{source}/{document_id}/cleanup',
  'DELETE /v1/staging/{source}/{document_id}',
  'POST /v1/cleanup',
  'GET /v1/events',
  'GET /v1/stats',
  'GET /metrics',
  'GET /healthz',
  'GET /readyz',
  'GET /openapi.json',
  'GET /docs'
]

/** Routes other branches add; the lead removes an entry once its branch is merged. */
const PENDING: Record<string, string> = {}

/** `METHOD /path` from the headings and bullet lines of API.md's "## Routes" section. */
export function operationsInApiMd(text: string): string[] {
  const routes = text.split(/^## Routes\s*$/m)[1]?.split(/^## /m)[0] ?? ''
  const found = new Set<string>()
  for (const line of routes.split('\n')) {
    if (!/^(###|\s*-)/.test(line)) continue
    for (const m of line.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)/g)) found.add(`${m[1]} ${m[2]}`)
  }
  return [...found].sort()
}

for (const entry of API_MD_OPERATIONS) {
  const [method, path] = entry.split(' ') as [string, string]
  t.test(`${entry} is in openapi.yaml`, { todo: PENDING[entry] ?? false }, async (t) => {
    t.ok(operation(method, path), `${entry} is documented`)
  })
}

const apiMd = new URL('../../../shared/API.md', import.meta.url)
t.test('the list above matches ../shared/API.md', { skip: existsSync(apiMd) ? false : '../shared/API.md is not beside this checkout' }, async (t) => {
  t.same(operationsInApiMd(readFileSync(apiMd, 'utf8')), [...API_MD_OPERATIONS].sort())
})

t.test('openapi.yaml is a valid OpenAPI document (swagger-parser)', async (t) => {
  const api = await SwaggerParser.validate(structuredClone(spec) as never)
  t.ok(api, 'valid')
})

t.test('/openapi.json serves exactly the committed openapi.yaml, without a token', async (t) => {
  const { app } = await buildTestApp(t, { STAGING_API_TOKENS: 'ingest:ingest-token-0001' })
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), spec)
  const docs = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /^text\/html/)
})
