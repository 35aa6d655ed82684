// A described JSON response for a route's schema.response: the description reaches openapi.yaml, the schema
// still serialises the body, and a shared `.meta({ id })` schema stays one $ref.
export function jsonResponse<T>(description: string, schema: T, headers?: Record<string, unknown>) {
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': { schema } } }
}
