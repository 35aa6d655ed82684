// Samsara: GETs under SAMSARA_BASE_URL with a bearer token, following cursor pagination
// (`pagination.endCursor` while `hasNextPage`, sent back as `after`) and merging the `data` arrays.
import { AppError } from '../errors.js'
import type { FetchedJson, JsonSource } from '../structured/structured-stager.js'
import { bearerToken, recordableLocation, resolveOnOrigin, type ConfiguredUpstream } from './configured-origin.js'
import type { JsonGetter } from './json-getter.js'
import { appendAll, isRecord, MAX_PAGES, PageBudget } from './page-budget.js'

export interface SamsaraClientOptions {
  baseUrl: string
  /** SAMSARA_API_TOKEN; '' when not configured. */
  apiToken: string
  http: JsonGetter
  /** Cap for the merged document (the per-item cap). */
  maxBytes: number
  maxPages?: number
}

interface SamsaraPage {
  data: unknown[]
  pagination: { endCursor?: unknown; hasNextPage?: unknown }
}

const isPage = (v: unknown): v is SamsaraPage => isRecord(v) && Array.isArray(v.data) && isRecord(v.pagination)

export class SamsaraClient implements JsonSource {
  private readonly upstream: ConfiguredUpstream

  constructor(private readonly options: SamsaraClientOptions) {
    this.upstream = { name: 'samsara', baseUrl: options.baseUrl }
  }

  /**
   * A list comes back as its first page with `data` holding every page's items and `pagination`
   * from the last page fetched (`hasNextPage: true` there means the page limit cut it short).
   * Anything that is not a paginated list is returned as it came.
   */
  async fetchJson(location: string, authToken: string | undefined, signal: AbortSignal): Promise<FetchedJson> {
    const first = resolveOnOrigin(this.upstream, location)
    const headers = { authorization: `Bearer ${bearerToken(this.upstream, authToken, this.options.apiToken)}` }
    const budget = new PageBudget(this.options.maxBytes)
    const get = async (url: URL): Promise<unknown> => {
      const { data } = await this.options.http.getJson({ url, upstream: 'samsara', headers, signal, maxBytes: budget.remaining })
      budget.spend(data)
      return data
    }
    const sourceLocation = recordableLocation(first)

    const firstPage = await get(first)
    if (!isPage(firstPage)) return { document: firstPage, sourceLocation }
    const items: unknown[] = [...firstPage.data]
    let pagination = firstPage.pagination
    const cursors = new Set(first.searchParams.getAll('after'))
    const maxPages = this.options.maxPages ?? MAX_PAGES
    for (let pages = 1; pages < maxPages; pages++) {
      const cursor = pagination.endCursor
      // A cursor seen before would loop forever: stop there, as with no next page.
      if (pagination.hasNextPage !== true || typeof cursor !== 'string' || cursor === '' || cursors.has(cursor)) break
      cursors.add(cursor)
      const next = new URL(first)
      next.searchParams.set('after', cursor)
      const page = await get(next)
      if (!isPage(page)) {
        throw new AppError('FetchError', `samsara page ${pages + 1} is not a data/pagination page`, { extra: { upstream_page: pages + 1 } })
      }
      appendAll(items, page.data)
      pagination = page.pagination
    }
    return { document: { ...firstPage, data: items, pagination }, sourceLocation }
  }
}
