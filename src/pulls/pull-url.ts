// Caller-supplied URLs: parsing, Basic credentials from userinfo, and the credential-free form we record.
import { AppError } from '../errors.js'

/** Query parameters whose values are credentials (presigned URLs, API keys): never recorded. */
const SECRET_PARAM = /(token|signature|sig|secret|password|passwd|key|auth|credential)/i

export function parsePullUrl(location: string): URL {
  try {
    return new URL(location)
  } catch {
    throw new AppError('ValidationError', 'body.source_location: must be an absolute URL', {
      extra: { errors: [{ field: 'body.source_location', message: 'must be an absolute URL' }] }
    })
  }
}

/** `Authorization: Basic …` from a URL's userinfo (then removed from the URL), or nothing. */
export function takeBasicAuth(url: URL): Record<string, string> {
  if (!url.username && !url.password) return {}
  const user = decodeURIComponent(url.username)
  const pass = decodeURIComponent(url.password)
  url.username = ''
  url.password = ''
  return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` }
}

/** The URL as recorded in source_location: no userinfo, no fragment, secret-looking query values redacted. */
export function recordableUrl(url: URL): string {
  const clean = new URL(url.href)
  clean.username = ''
  clean.password = ''
  clean.hash = ''
  for (const name of [...new Set(clean.searchParams.keys())]) {
    if (SECRET_PARAM.test(name)) clean.searchParams.set(name, 'redacted')
  }
  return clean.href
}
