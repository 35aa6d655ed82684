// A fake Turvo API on 127.0.0.1:0, shaped like UPSTREAMS.md: bearer plus x-api-key, `/v1` base path,
// `/shipments/list?start=&pageSize=` with details.pagination.moreAvailable, `/shipments/{id}`.
import { fakeUpstream, type FakeUpstream } from '../upstream/fake-upstream.js'
import type { TapLike } from '../helper.js'
import { bearerOf, sendJson } from './samsara-server.js'

export const TURVO_TOKEN = 'turvo-configured-token-1a2b3c'
export const TURVO_KEY = 'turvo-api-key-4d5e6f'

export interface TurvoFakeOptions {
  /** When set, requests without this x-api-key are refused. */
  apiKey?: string
  /** Answer Status ERROR (with HTTP 200) to every request. */
  statusError?: boolean
}

export function shipments(n: number): { id: number; customId: string }[] {
  return Array.from({ length: n }, (_, i) => ({ id: 1000 + i, customId: `SHP-${i}` }))
}

export function fakeTurvo(t: TapLike, all: unknown[], options: TurvoFakeOptions = {}): Promise<FakeUpstream> {
  return fakeUpstream(t, (req, res) => {
    if (bearerOf(req) !== TURVO_TOKEN) return sendJson(res, 401, { error: 'invalid_token' })
    if (options.apiKey !== undefined && req.headers['x-api-key'] !== options.apiKey) return sendJson(res, 403, { message: 'Forbidden' })
    if (options.statusError) return sendJson(res, 200, { Status: 'ERROR', details: { errorCode: 'INVALID_FILTER', errorMessage: 'bad filter' } })
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/v1/shipments/list') {
      const start = Number(url.searchParams.get('start') ?? 0)
      const pageSize = Number(url.searchParams.get('pageSize') ?? 24)
      const page = all.slice(start, start + pageSize)
      return sendJson(res, 200, {
        Status: 'SUCCESS',
        details: {
          pagination: { start, pageSize, totalRecordsInPage: page.length, moreAvailable: start + page.length < all.length },
          shipments: page
        }
      })
    }
    const one = /^\/v1\/shipments\/(\d+)$/.exec(url.pathname)
    if (one) return sendJson(res, 200, { Status: 'SUCCESS', details: { id: Number(one[1]), status: { code: { value: 'Delivered' } } } })
    sendJson(res, 404, { Status: 'ERROR', details: { errorMessage: 'not found' } })
  })
}
