// How a JSON POST /v1/documents is served: the puller fetches or moves the document into the store.
import type { PullBody } from '../routes/schemas.js'
import type { CommitResult } from './engine.js'

export interface DocumentPuller {
  pull(body: PullBody, signal: AbortSignal): Promise<CommitResult>
}
