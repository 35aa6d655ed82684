// Turvo: GETs under TURVO_BASE_URL with a bearer token and x-api-key, following list pagination
// (`details.pagination.moreAvailable`, advancing `start`) and merging the list arrays.
import { AppError } from '../errors.js'
import type { FetchedJson, JsonSource } from '../structured/structured-stager.js'
import { bearerToken, recordableLocation, resolveOnOrigin, type ConfiguredUpstream } from './configured-origin.js'
import type { JsonGetter } from './json-getter.js'
import { appendAll, isRecord, MAX_PAGES, PageBudget } from './page-budget.js'

export interface TurvoClientOptions {
  baseUrl: string
  /** TURVO_API_TOKEN; '' when not configured. */
  apiToken: string
  /** TURVO_API_KEY, sent as x-api-key when set. */
  apiKey: string
  http: JsonGetter
  maxBytes: number
  maxPages?: number
}

interface TurvoList {
  details: Record<string, unknown> & { pagination: Record<string, unknown> }
  /** The one array in `details` besides pagination: `shipments`, `orders`, … */
  key: string
  items: unknown[]
}

/** Turvo can answer 200 with `Status: "ERROR"`; that is a refusal, not data. */
function assertSuccess(page: unknown, number: number): void {
  if (isRecord(page) && typeof page.Status === 'string' && page.Status.toUpperCase() !== 'SUCCESS') {
    const code = isRecord(page.details) && typeof page.details.errorCode === 'string' ? ` (${page.details.errorCode.slice(0, 64)})` : ''
    throw new AppError('UpstreamRejected', `turvo answered Status ${page.Status.slice(0, 32)}${code} on page ${number}`)
  }
}

function asList(page: unknown): TurvoList | null {
  if (!isRecord(page) || !isRecord(page.details) || !isRecord(page.details.pagination)) return null
  const arrays = Object.entries(page.details).filter(([k, v]) => k !== 'pagination' && Array.isArray(v))
  if (arrays.length !== 1) return null
  const [key, items] = arrays[0] as [string, unknown[]]
  return { details: page.details as TurvoList['details'], key, items }
}

const count = (v: unknown): number => (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '') ? Number(v) : Number.NaN)

export class TurvoClient implements JsonSource {
  private readonly upstream: ConfiguredUpstream

  constructor(private readonly options: TurvoClientOptions) {
    this.upstream = { name: 'turvo', baseUrl: options.baseUrl }
  }

  /**
   * A list comes back as its first page with the list array holding every page's items and
   * `details.pagination` from the last page fetched. Anything else is returned as it came.
   */
  async fetchJson(location: string, authToken: string | undefined, signal: AbortSignal): Promise<FetchedJson> {
    const first = resolveOnOrigin(this.upstream, location)
    const headers: Record<string, string> = { authorization: `Bearer ${bearerToken(this.upstream, authToken, this.options.apiToken)}` }
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey
    const budget = new PageBudget(this.options.maxBytes)
    const get = async (url: URL, number: number): Promise<unknown> => {
      const { data } = await this.options.http.getJson({ url, upstream: 'turvo', headers, signal, maxBytes: budget.remaining })
      assertSuccess(data, number)
      budget.spend(data)
      return data
    }
    const sourceLocation = recordableLocation(first)

    const firstPage = await get(first, 1)
    const list = asList(firstPage)
    if (!list || !isRecord(firstPage)) return { document: firstPage, sourceLocation }
    const items: unknown[] = [...list.items]
    let pagination = list.details.pagination
    let start = count(first.searchParams.get('start') ?? 0)
    const maxPages = this.options.maxPages ?? MAX_PAGES
    for (let pages = 1; pages < maxPages && pagination.moreAvailable === true; pages++) {
      const inPage = count(pagination.totalRecordsInPage)
      const step = inPage > 0 ? inPage : count(pagination.pageSize)
      const from = Number.isFinite(count(pagination.start)) ? count(pagination.start) : start
      // No way forward (no count, or nothing in the page): stop rather than fetch the same page again.
      if (!(step > 0) || !Number.isFinite(from) || from + step <= start) break
      start = from + step
      const next = new URL(first)
      next.searchParams.set('start', String(start))
      const page = asList(await get(next, pages + 1))
      if (!page || page.key !== list.key) {
        throw new AppError('FetchError', `turvo page ${pages + 1} is not a ${list.key} page`, { extra: { upstream_page: pages + 1 } })
      }
      appendAll(items, page.items)
      pagination = page.details.pagination
    }
    return { document: { ...firstPage, details: { ...list.details, [list.key]: items, pagination } }, sourceLocation }
  }
}
