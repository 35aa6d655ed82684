// http/https and Front attachment pulls: one guarded request, its body streamed straight into the store.
import { AppError } from '../errors.js'
import type { Config } from '../config.js'
import type { PullBody } from '../routes/schemas.js'
import { sanitiseFilename } from '../staging/filename.js'
import type { CommitResult, StagingEngine } from '../staging/engine.js'
import { headerValue, type RequestGuard, type UpstreamClient, type UpstreamRequest } from '../upstream/http-client.js'
import { parsePullUrl, recordableUrl, takeBasicAuth } from './pull-url.js'
import { dispositionFilename, typeFromName, urlFilename } from './response-naming.js'

const FRONT_ATTACHMENT_ID = /^fil_[A-Za-z0-9]+$/

export interface UrlPullDeps {
  config: Config
  engine: StagingEngine
  upstream: UpstreamClient
  /** Guard for http/https: STAGING_HTTP_ALLOW_HOSTS only. */
  httpGuard: RequestGuard
  /** Guard for Front: its configured origin is trusted, redirect hops elsewhere are not. */
  frontGuard: RequestGuard
}

export class UrlPuller {
  constructor(private readonly deps: UrlPullDeps) {}

  async pullHttp(body: PullBody, signal: AbortSignal): Promise<CommitResult> {
    const url = parsePullUrl(body.source_location)
    if (url.protocol !== `${body.source}:`) {
      throw new AppError('ValidationError', `body.source_location: a ${body.source} pull needs a ${body.source}:// URL`, {
        extra: { errors: [{ field: 'body.source_location', message: `must be a ${body.source}:// URL` }] }
      })
    }
    const sourceLocation = recordableUrl(url)
    const headers = takeBasicAuth(url)
    return this.fetchAndStage(body, sourceLocation, { url, headers, signal, upstream: body.source, guard: this.deps.httpGuard })
  }

  async pullFront(body: PullBody, signal: AbortSignal): Promise<CommitResult> {
    const { baseUrl, apiToken } = this.deps.config.frontapp
    const location = body.source_location.trim()
    let url: URL
    if (FRONT_ATTACHMENT_ID.test(location)) {
      url = new URL(`${baseUrl}/download/${location}`)
    } else {
      url = parsePullUrl(location)
      // The token goes only to the configured origin (userinfo would be another way to smuggle a host).
      if (url.origin !== new URL(baseUrl).origin || url.username || url.password) {
        throw new AppError('SourceNotAllowed', `frontapp attachments are fetched only from ${new URL(baseUrl).origin}`)
      }
    }
    if (!apiToken) throw new AppError('MissingAuthentication', 'FRONTAPP_API_TOKEN is not set, so Front attachments cannot be fetched')
    const headers = { authorization: `Bearer ${apiToken}` }
    return this.fetchAndStage(body, recordableUrl(url), { url, headers, signal, upstream: 'frontapp', guard: this.deps.frontGuard })
  }

  private async fetchAndStage(body: PullBody, sourceLocation: string, req: Omit<UpstreamRequest, 'followRedirects' | 'maxBytes'>): Promise<CommitResult> {
    const { engine, upstream, config } = this.deps
    const res = await upstream.request({ ...req, followRedirects: true, maxBytes: config.maxDocumentBytes })
    try {
      const given = body.filename ?? dispositionFilename(headerValue(res.headers, 'content-disposition')) ?? urlFilename(res.url)
      const filename = sanitiseFilename(given)
      const contentType = headerValue(res.headers, 'content-type')?.trim() || typeFromName(filename)
      return await engine.stage(
        {
          source: body.source,
          documentId: body.document_id,
          kind: 'document',
          contentType,
          originalFilename: given,
          sourceLocation,
          overwrite: body.overwrite,
          filename
        },
        res.body,
        { declaredBytes: res.contentLength }
      )
    } finally {
      // Refused before the body was read (quota, conflict): close the connection, do not drain it.
      res.body.destroy()
    }
  }
}
