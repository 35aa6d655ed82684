// POST /v1/structured as a domain operation: get the JSON (fetched from Samsara or Turvo, or a Front
// payload handed over as a string) and stage it as {source}/{data_id}/data.json through the store.
import { Readable } from 'node:stream'
import { AppError } from '../errors.js'
import type { StagingObserver } from '../staging/observer.js'
import type { Source } from '../staging/record.js'
import type { CommitResult, StagingEngine } from '../staging/engine.js'

export const STRUCTURED_SOURCES = ['samsara', 'turvo', 'frontapp'] as const
export type StructuredSource = (typeof STRUCTURED_SOURCES)[number]

export interface StructuredRequest {
  data_id: string
  source: StructuredSource
  source_location: string
  auth_token?: string | undefined
  overwrite: boolean
}

/** What an upstream client hands back: the (merged) document and where it came from, credential-free. */
export interface FetchedJson {
  document: unknown
  sourceLocation: string
}

export interface JsonSource {
  fetchJson(location: string, authToken: string | undefined, signal: AbortSignal): Promise<FetchedJson>
}

export interface StructuredStagerOptions {
  engine: StagingEngine
  observer: StagingObserver
  sources: Record<Exclude<StructuredSource, 'frontapp'>, JsonSource>
}

/** A Front payload is staged byte for byte as posted, once it is known to be JSON. */
function frontPayload(text: string): Buffer {
  try {
    JSON.parse(text)
  } catch {
    throw new AppError('InvalidJSON', 'body.source_location: a frontapp payload must be a JSON document in a string')
  }
  return Buffer.from(text, 'utf8')
}

/** How every structured item is stored: the JSON bytes as {source}/{id}/data.json, kind structured. */
export function stageJson(
  engine: StagingEngine,
  item: { source: Source; id: string; bytes: Buffer; sourceLocation: string | null; overwrite: boolean }
): Promise<CommitResult> {
  return engine.stage(
    {
      source: item.source,
      documentId: item.id,
      kind: 'structured',
      filename: 'data.json',
      contentType: 'application/json',
      originalFilename: null,
      sourceLocation: item.sourceLocation,
      overwrite: item.overwrite
    },
    Readable.from([item.bytes]),
    { declaredBytes: item.bytes.length }
  )
}

export class StructuredStager {
  constructor(private readonly options: StructuredStagerOptions) {}

  async stage(request: StructuredRequest, signal: AbortSignal): Promise<CommitResult> {
    const { engine, observer, sources } = this.options
    let bytes: Buffer
    let sourceLocation: string | null
    if (request.source === 'frontapp') {
      bytes = frontPayload(request.source_location)
      sourceLocation = null
    } else {
      const fetched = await sources[request.source].fetchJson(request.source_location, request.auth_token, signal)
      bytes = Buffer.from(JSON.stringify(fetched.document), 'utf8')
      sourceLocation = fetched.sourceLocation
    }
    const result = await stageJson(engine, { source: request.source, id: request.data_id, bytes, sourceLocation, overwrite: request.overwrite })
    observer.structuredFetched(request.source)
    return result
  }
}
