// A fake Samsara API on 127.0.0.1:0, shaped like UPSTREAMS.md: bearer auth, cursor pagination
// (`after` → `pagination.endCursor`/`hasNextPage`), `{message, requestId}` errors.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fakeUpstream, type FakeUpstream } from '../upstream/fake-upstream.js'
import type { TapLike } from '../helper.js'

export const SAMSARA_TOKEN = 'samsara-configured-token-9f8e7d'

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

export function samsaraError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { message, requestId: `req-${status}` })
}

export function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
}

export interface SamsaraFakeOptions {
  /** Tokens the fake accepts (default: the configured one). */
  tokens?: string[]
  /** Answers one request before the normal handling; return true when it answered. */
  before?: (req: IncomingMessage, res: ServerResponse, n: number) => boolean
}

/**
 * Serves `pages` as one cursor-paginated list on any path: page i answers `after=cur-i`
 * (the first page has no `after`); the last page has hasNextPage false and an empty endCursor.
 */
export function fakeSamsara(t: TapLike, pages: unknown[][], options: SamsaraFakeOptions = {}): Promise<FakeUpstream> {
  const tokens = options.tokens ?? [SAMSARA_TOKEN]
  return fakeUpstream(t, (req, res, n) => {
    if (options.before?.(req, res, n)) return
    const token = bearerOf(req)
    if (!token || !tokens.includes(token)) return samsaraError(res, 401, 'Unauthorized')
    const after = new URL(req.url ?? '/', 'http://x').searchParams.get('after')
    const index = after === null ? 0 : Number(after.replace(/^cur-/, ''))
    const page = pages[index]
    if (page === undefined) return samsaraError(res, 400, 'Invalid pagination cursor')
    const last = index === pages.length - 1
    sendJson(res, 200, { data: page, pagination: { endCursor: last ? '' : `cur-${index + 1}`, hasNextPage: !last } })
  })
}
