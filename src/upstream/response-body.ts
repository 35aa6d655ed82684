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
 * Wraps an upstream body. Past the cap it fails with PayloadTooLarge; a body that runs past or stops
 * short of its Content-Length is a FetchError. Destroying the wrapper (a failure, or a caller that
 * stops early) destroys `source`, which closes the connection: an oversized body is cut off, not drained.
 * Nothing flows before the caller reads, so a refusal up front meets an untouched body. A paused
 * 'data' hand-over rather than an async generator: per-chunk promises cost main-thread time that a
 * pull of hundreds of MiB in 64 KiB socket reads notices.
 */
export function meteredBody(source: Readable, limits: BodyLimits): Readable {
  let seen = 0
  const body = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      source.resume()
    },
    destroy(err, done) {
      if (!source.destroyed) source.on('error', () => undefined).destroy()
      done(err)
    }
  })
  // Paused first, so that adding the 'data' listener does not start the flow.
  source.pause()
  source.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > limits.maxBytes) return body.destroy(tooLarge(limits.maxBytes))
    if (limits.declared !== null && seen > limits.declared) {
      return body.destroy(new AppError('FetchError', `${limits.upstream} sent more than its Content-Length of ${limits.declared} bytes`))
    }
    if (!body.push(chunk)) source.pause()
  })
  source.once('end', () => {
    if (limits.declared !== null && seen < limits.declared) {
      return body.destroy(new AppError('FetchError', `${limits.upstream} ended the body after ${seen} of ${limits.declared} bytes`))
    }
    body.push(null)
  })
  source.on('error', (err) => body.destroy(toFetchError(err, limits.upstream)))
  return body
}

/** Reads a whole (small) body into memory, still under the cap. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}
