// A response body as the caller sees it: counted against the size cap and Content-Length, with
// transport failures mid-body turned into catalogue errors.
import { Readable } from 'node:stream'
import { AppError } from '../errors.js'
import { toFetchError } from './upstream-errors.js'

export interface BodyLimits {
  upstream: string
  /** Content-Length as announced, or null when the body is chunked or close-delimited. */
  declared: number | null
  maxBytes: number
}

export function tooLarge(maxBytes: number): AppError {
  return new AppError('PayloadTooLarge', `the upstream body is larger than the cap of ${maxBytes} bytes`, { extra: { max_bytes: maxBytes } })
}

/**
 * Wraps an upstream body. Past the cap it throws PayloadTooLarge; a body that runs past or stops
 * short of its Content-Length is a FetchError. Leaving the loop early destroys `source`, which
 * closes the connection: an oversized body is cut off, not drained.
 */
export function meteredBody(source: Readable, limits: BodyLimits): Readable {
  async function* metered(): AsyncGenerator<Buffer> {
    let seen = 0
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        seen += chunk.length
        if (seen > limits.maxBytes) throw tooLarge(limits.maxBytes)
        if (limits.declared !== null && seen > limits.declared) {
          throw new AppError('FetchError', `${limits.upstream} sent more than its Content-Length of ${limits.declared} bytes`)
        }
        yield chunk
      }
    } catch (err) {
      throw toFetchError(err, limits.upstream)
    }
    if (limits.declared !== null && seen < limits.declared) {
      throw new AppError('FetchError', `${limits.upstream} ended the body after ${seen} of ${limits.declared} bytes`)
    }
  }
  // Large chunks in flight: one pull moves hundreds of MiB, and per-chunk overhead adds up.
  const body = Readable.from(metered(), { objectMode: false, highWaterMark: 1024 * 1024 })
  // Destroyed before the loop ran (a refusal up front): the upstream body must go too.
  body.once('close', () => {
    if (!source.destroyed) source.on('error', () => undefined).destroy()
  })
  return body
}

/** Reads a whole (small) body into memory, still under the cap. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}
