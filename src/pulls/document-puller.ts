// The DocumentPuller behind JSON POST /v1/documents: picks the way in by source.
import { AppError } from '../errors.js'
import type { PullBody } from '../routes/schemas.js'
import type { DocumentPuller } from '../staging/puller.js'
import type { CommitResult } from '../staging/engine.js'
import { LocalMover } from './local-move.js'
import { UrlPuller, type UrlPullDeps } from './url-pull.js'

export function createDocumentPuller(deps: UrlPullDeps): DocumentPuller {
  const urls = new UrlPuller(deps)
  const local = new LocalMover(deps.engine, deps.config.localImportDir)
  return {
    pull(body: PullBody, signal: AbortSignal): Promise<CommitResult> {
      switch (body.source) {
        case 'http':
        case 'https':
          return urls.pullHttp(body, signal)
        case 'frontapp':
          return urls.pullFront(body, signal)
        case 'local_upload':
          return local.pull(body)
        default:
          throw new AppError('ValidationError', `body.source: ${body.source} documents are not pulled; use POST /v1/structured`, {
            extra: { errors: [{ field: 'body.source', message: 'must be http, https, frontapp or local_upload' }] }
          })
      }
    }
  }
}
