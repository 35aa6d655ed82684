// The one upstream HTTP client: pooled undici agents, connect/headers/body timeouts, retries with
// backoff and Retry-After, guarded redirects, a response size cap, and errors from the catalogue.
import type { Readable } from 'node:stream'
import { rootCertificates } from 'node:tls'
import { setTimeout as sleepFor } from 'node:timers/promises'
import type { Agent, buildConnector, Dispatcher } from 'undici'
import { AppError } from '../errors.js'
import { silentObserver, type StagingObserver } from '../staging/observer.js'
import { meteredBody, readAll, tooLarge } from './response-body.js'
import { RETRYABLE_STATUSES, retryDelay, type BackoffOptions } from './retry-policy.js'
import { failureCause, isRetryableError, outcomeOfError, outcomeOfStatus, toFetchError, toStatusError } from './upstream-errors.js'

export const MAX_REDIRECTS = 5
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** Headers that must not follow a redirect to another origin: they carry credentials. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'x-api-key'])

/** The SSRF policy for caller-supplied URLs (src/upstream/address-guard.ts implements it). */
export interface RequestGuard {
  /** Refuses a URL before any connection is made (scheme, IP literals, allow-list). Throws SourceNotAllowed. */
  checkUrl(url: URL): void
  /** A connector that checks every DNS answer and the address actually connected to. */
  createConnector(options: ConnectorOptions): buildConnector.connector
}

export interface ConnectorOptions {
  timeoutMs: number
  /** Extra trusted CA certificates (PEM); tests use it for a loopback https fake. */
  ca?: string | Buffer
  /** undici's buildConnector: the client loads undici itself (UpstreamClient.warm), the guard wraps what this builds. */
  build: typeof buildConnector
}

type Undici = typeof import('./undici-stack.js')

export interface UpstreamClientOptions {
  /** Connect, headers and body-idle timeout of one attempt (STAGING_UPSTREAM_TIMEOUT_MS). */
  timeoutMs: number
  /** Extra attempts for retryable failures (STAGING_UPSTREAM_RETRIES). */
  retries: number
  /** Default response size cap (the per-item cap). */
  maxResponseBytes: number
  observer?: StagingObserver
  /** Backoff and Retry-After tuning; tests shrink these so retries do not wait seconds. */
  backoff?: Partial<BackoffOptions>
  /** Waits between attempts; injectable so tests can record the delays instead of sleeping. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Extra trusted CA certificates (PEM), added to Node's defaults. */
  ca?: string | Buffer
  /** Where failed attempts are logged (host, cause, attempt); the app's logger. */
  log?: { warn(fields: object, message: string): void }
}

export interface UpstreamRequest {
  url: string | URL
  /** Metric label and error wording: `http`, `frontapp`, `samsara`, `turvo`. */
  upstream: string
  method?: 'GET' | 'HEAD' | 'POST'
  headers?: Record<string, string>
  /** A small request body (event push); sent again as is on a retry. */
  body?: string
  signal?: AbortSignal
  /** Follow up to 5 redirects; every hop is checked, https→http is refused, credentials stay on the first origin. */
  followRedirects?: boolean
  /** SSRF policy for caller-supplied URLs; omitted for configured upstreams. */
  guard?: RequestGuard
  /** Response size cap for this request; defaults to the client's. */
  maxBytes?: number
}

export interface UpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The URL that answered, after redirects. */
  url: URL
  /** Content-Length when the upstream announced one. */
  contentLength: number | null
  /** The body, capped and checked against Content-Length; must be consumed or destroyed. */
  body: Readable
}

export function headerValue(headers: UpstreamResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}

export class UpstreamClient {
  private readonly agents = new Map<RequestGuard | null, Agent>()
  private readonly observer: StagingObserver
  private readonly backoff: BackoffOptions
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  private undici: Promise<Undici> | null = null

  constructor(private readonly options: UpstreamClientOptions) {
    this.observer = options.observer ?? silentObserver
    this.backoff = { baseMs: 250, maxMs: 10_000, retryAfterMaxMs: 30_000, random: Math.random, now: Date.now, ...options.backoff }
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }))
  }

  /**
   * Loads undici, once. Evaluating it takes ~50 ms of a start's main thread, so the service asks for
   * it once it is ready (app.ts) rather than at import; a request before that waits for the load.
   */
  warm(): Promise<Undici> {
    this.undici ??= import('./undici-stack.js').catch((err: unknown) => {
      this.undici = null
      throw err
    })
    return this.undici
  }

  /** Sends a request and answers once a 2xx arrives; anything else is thrown as a catalogue error. */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    let url = parseUrl(req.url)
    let headers = { ...req.headers }
    for (let hop = 0; ; hop++) {
      req.guard?.checkUrl(url)
      const res = await this.send(url, headers, req)
      if (REDIRECT_STATUSES.has(res.statusCode) && req.followRedirects) {
        res.body.dump().catch(() => undefined)
        const next = this.redirectTarget(url, res, hop, req.upstream)
        if (next.origin !== url.origin) headers = withoutCredentials(headers)
        url = next
        continue
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return this.toResponse(url, res, req)
      res.body.dump().catch(() => undefined)
      throw toStatusError(res.statusCode, req.upstream)
    }
  }

  /** GET a JSON document (bearer headers and all) and parse it; a body that is not JSON is InvalidJSON. */
  async getJson(req: Omit<UpstreamRequest, 'method'>): Promise<{ status: number; headers: UpstreamResponse['headers']; url: URL; data: unknown }> {
    const res = await this.request({ ...req, method: 'GET', headers: { accept: 'application/json', ...req.headers } })
    const raw = await readAll(res.body)
    try {
      return { status: res.status, headers: res.headers, url: res.url, data: JSON.parse(raw.toString('utf8')) as unknown }
    } catch (err) {
      throw new AppError('InvalidJSON', `${req.upstream} answered with a body that is not valid JSON`, { cause: err })
    }
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()]
    this.agents.clear()
    await Promise.all(agents.map((a) => a.close()))
  }

  /** One hop: attempts until a non-retryable answer or the retries run out. */
  private async send(url: URL, headers: Record<string, string>, req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    const dispatcher = this.agentFor(await this.warm(), req.guard ?? null)
    for (let attempt = 0; ; attempt++) {
      const started = performance.now()
      const seconds = () => (performance.now() - started) / 1000
      let res: Dispatcher.ResponseData
      try {
        res = await dispatcher.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: req.method ?? 'GET',
          headers,
          body: req.body,
          signal: req.signal,
          headersTimeout: this.options.timeoutMs,
          bodyTimeout: this.options.timeoutMs
        })
      } catch (err) {
        const aborted = req.signal?.aborted === true
        this.observer.upstreamRequest(req.upstream, outcomeOfError(err, aborted), seconds())
        const retry = !aborted && isRetryableError(err) && attempt < this.options.retries
        if (!aborted) this.logFailure(url, req, attempt, failureCause(err), retry)
        if (!retry) throw toFetchError(err, req.upstream, aborted)
        await this.wait(attempt, undefined, req.signal)
        continue
      }
      this.observer.upstreamRequest(req.upstream, outcomeOfStatus(res.statusCode), seconds())
      const retry = RETRYABLE_STATUSES.has(res.statusCode) && attempt < this.options.retries
      if (res.statusCode >= 400) this.logFailure(url, req, attempt, { cause: `status ${res.statusCode}`, status: res.statusCode }, retry)
      if (!retry) return res
      res.body.dump().catch(() => undefined)
      await this.wait(attempt, res.headers['retry-after'], req.signal)
    }
  }

  /** One line per failed attempt: which host, why, which attempt of how many; never the URL's path or query (they may hold secrets). */
  private logFailure(url: URL, req: UpstreamRequest, attempt: number, cause: Record<string, unknown>, willRetry: boolean): void {
    this.options.log?.warn(
      { upstream: req.upstream, host: url.host, attempt: attempt + 1, max_attempts: this.options.retries + 1, ...cause, will_retry: willRetry },
      'upstream request failed'
    )
  }

  private async wait(attempt: number, retryAfter: string | string[] | undefined, signal?: AbortSignal): Promise<void> {
    try {
      await this.sleep(retryDelay(attempt, retryAfter, this.backoff), signal)
    } catch (err) {
      throw toFetchError(err, 'the upstream', true)
    }
  }

  private redirectTarget(from: URL, res: Dispatcher.ResponseData, hop: number, upstream: string): URL {
    if (hop >= MAX_REDIRECTS) throw new AppError('UpstreamRejected', `${upstream} redirected more than ${MAX_REDIRECTS} times`)
    const location = headerValue(res.headers, 'location')
    if (!location) throw new AppError('UpstreamRejected', `${upstream} answered ${res.statusCode} without a Location`)
    let next: URL
    try {
      next = new URL(location, from)
    } catch {
      throw new AppError('UpstreamRejected', `${upstream} redirected to an unreadable Location`)
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new AppError('SourceNotAllowed', `${upstream} redirected to a ${next.protocol} URL`)
    }
    if (from.protocol === 'https:' && next.protocol === 'http:') {
      throw new AppError('SourceNotAllowed', `${upstream} redirected from https to plain http`)
    }
    return next
  }

  private toResponse(url: URL, res: Dispatcher.ResponseData, req: UpstreamRequest): UpstreamResponse {
    const maxBytes = req.maxBytes ?? this.options.maxResponseBytes
    const length = headerValue(res.headers, 'content-length')
    const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : null
    if (declared !== null && declared > maxBytes) {
      // Cut off, not drained: the connection goes, and the destroy error has nobody to tell.
      res.body.on('error', () => undefined).destroy()
      throw tooLarge(maxBytes)
    }
    const body = meteredBody(res.body, { upstream: req.upstream, declared, maxBytes })
    return { status: res.statusCode, headers: res.headers, url, contentLength: declared, body }
  }

  private agentFor(undici: Undici, guard: RequestGuard | null): Agent {
    let agent = this.agents.get(guard)
    if (!agent) {
      const timeoutMs = this.options.timeoutMs
      const ca = this.options.ca
      const buildConnector = undici.buildConnector
      agent = new undici.Agent({
        connections: 64,
        keepAliveTimeout: 10_000,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connect: guard ? guard.createConnector({ timeoutMs, ca, build: buildConnector }) : buildConnector({ timeout: timeoutMs, ...caOption(ca) })
      })
      this.agents.set(guard, agent)
    }
    return agent
  }
}

function parseUrl(url: string | URL): URL {
  try {
    return new URL(url)
  } catch {
    throw new AppError('ValidationError', 'the upstream URL is not a valid URL')
  }
}

/** Node's default CAs plus the extra one: `ca` alone would replace them. */
export function caOption(ca: string | Buffer | undefined): { ca?: (string | Buffer)[] } {
  return ca === undefined ? {} : { ca: [...rootCertificates, ca] }
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.has(k.toLowerCase())))
}
