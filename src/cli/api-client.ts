// The operator CLI's view of the HTTP API: one request helper that sends the bearer token, reads
// JSON answers and turns problem+json into a CliError with the right exit code.
import { Agent, request, type Dispatcher } from 'undici'
import type { ClientConfig } from '../config.js'
import { CliError, EXIT } from './exit-codes.js'

type Method = 'GET' | 'POST' | 'DELETE'

export interface RawAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Dispatcher.ResponseData['body']
}

export class StagingApi {
  /** One pool per run, closed at the end so the process exits at once. */
  private readonly agent = new Agent({ connect: { timeout: 10_000 }, headersTimeout: 60_000, bodyTimeout: 60_000 })

  constructor(private readonly config: ClientConfig) {}

  async json<T>(method: Method, path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    const res = await this.send(method, path, query)
    if (res.status === 204) {
      await res.body.dump()
      return undefined as T
    }
    const type = String(res.headers['content-type'] ?? '')
    if (!type.startsWith('application/json')) {
      await res.body.dump()
      throw new CliError(`${this.config.url} answered ${res.status} ${type || 'without a content type'}; is STAGING_URL an apex-staging service?`, EXIT.unreachable)
    }
    return (await res.body.json()) as T
  }

  /** A 2xx answer with its body still to read (downloads); errors are thrown like json()'s. */
  async send(method: Method, path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<RawAnswer> {
    const url = new URL(this.config.url + path)
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v))
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: { accept: 'application/json, application/problem+json', ...(this.config.token ? { authorization: `Bearer ${this.config.token}` } : {}) }
      })
    } catch (err) {
      const code = (err as { code?: string }).code
      throw new CliError(`cannot reach ${this.config.url}: ${code ?? (err as Error).message}`, EXIT.unreachable)
    }
    if (res.statusCode >= 400) throw await problemError(res)
    return { status: res.statusCode, headers: res.headers, body: res.body }
  }

  close(): Promise<void> {
    return this.agent.close()
  }
}

async function problemError(res: Dispatcher.ResponseData): Promise<CliError> {
  const type = String(res.headers['content-type'] ?? '')
  const text = await res.body.text()
  let problem: Record<string, unknown> | undefined
  if (/^application\/(problem\+)?json/.test(type)) {
    try {
      problem = JSON.parse(text) as Record<string, unknown>
    } catch {
      problem = undefined
    }
  }
  const exitCode = res.statusCode === 404 ? EXIT.notFound : EXIT.refused
  if (!problem || typeof problem.code !== 'string') {
    return new CliError(`the service answered ${res.statusCode} without a problem body${text ? `: ${text.slice(0, 200)}` : ''}`, exitCode)
  }
  const retry = problem.retryable === true ? ' (retryable: try again later)' : ''
  const id = typeof problem.request_id === 'string' ? ` [request ${problem.request_id}]` : ''
  return new CliError(`${res.statusCode} ${problem.code}: ${String(problem.detail ?? problem.title ?? '')}${retry}${id}`, exitCode, problem)
}
