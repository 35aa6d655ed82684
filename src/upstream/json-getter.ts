// The slice of the shared upstream client (src/upstream/http-client.ts) that the JSON APIs need.
export interface JsonGetRequest {
  url: URL
  /** Metric label and error wording. */
  upstream: string
  headers: Record<string, string>
  signal?: AbortSignal
  /** Response size cap for this page. */
  maxBytes?: number
}

export interface JsonGetter {
  /** GETs and parses one JSON body; non-2xx, transport failures and non-JSON become catalogue errors. */
  getJson(request: JsonGetRequest): Promise<{ data: unknown }>
}
