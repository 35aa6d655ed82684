// Where a Samsara or Turvo request may go: a path resolved under the configured base URL, or an
// absolute URL on that same origin. Anything else would carry the bearer token to another host.
import { AppError } from '../errors.js'

/** Query parameters that may hold credentials; never written into a record. */
const SECRET_PARAM = /token|secret|password|passwd|api[-_]?key|signature|auth/i
const MAX_LOCATION = 8192

export interface ConfiguredUpstream {
  /** Name in messages and metrics: `samsara`, `turvo`. */
  name: string
  /** The configured base URL (no trailing slash), e.g. `https://publicapi.turvo.com/v1`. */
  baseUrl: string
}

/**
 * `/fleet/vehicles?types=gps` → `{base}/fleet/vehicles?types=gps` (the base's own path is kept, so
 * Turvo's `/v1` stays); `https://same-origin/...` is taken as is. Other origins and schemes are
 * SourceNotAllowed; user:password parts are dropped.
 */
export function resolveOnOrigin(upstream: ConfiguredUpstream, location: string): URL {
  const text = location.trim()
  if (text.length === 0 || text.length > MAX_LOCATION) {
    throw new AppError('ValidationError', `body.source_location: must be 1-${MAX_LOCATION} characters`)
  }
  const base = new URL(upstream.baseUrl)
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(text) || /^[/\\]{2}/.test(text)
  let url: URL
  try {
    url = absolute ? new URL(text, base) : new URL(`${upstream.baseUrl}${text.startsWith('/') ? '' : '/'}${text}`)
  } catch {
    throw new AppError('ValidationError', 'body.source_location: not a path or URL')
  }
  if (url.origin !== base.origin) {
    throw new AppError('SourceNotAllowed', `${upstream.name} requests may only go to ${base.origin}`)
  }
  url.username = ''
  url.password = ''
  url.hash = ''
  return url
}

/** The URL as it may be recorded: no user info, credential-like query parameters removed. */
export function recordableLocation(url: URL): string {
  const clean = new URL(url)
  clean.username = ''
  clean.password = ''
  for (const name of [...new Set(clean.searchParams.keys())]) {
    if (SECRET_PARAM.test(name)) clean.searchParams.delete(name)
  }
  return clean.toString()
}

/** The bearer to use: the caller's, else the configured one, else MissingAuthentication. */
export function bearerToken(upstream: ConfiguredUpstream, fromRequest: string | undefined, configured: string): string {
  const token = fromRequest?.trim() || configured
  if (!token) {
    throw new AppError('MissingAuthentication', `no ${upstream.name} token: send auth_token or configure one`)
  }
  return token
}
