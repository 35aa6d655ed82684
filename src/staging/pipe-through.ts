// A body into the draft's file (whose writer meters each chunk), as stream.pipeline does it, without
// its per-call AbortController: pipeline creates one for every call and aborts it when done, and the
// DOMException that abort() builds (a stack trace each time) plus the signal's listeners were several
// percent of a small upload's main-thread time. The semantics are pipeline's: the first error (or a
// stream closed before its end) rejects, and both streams are destroyed with it; success is the
// sink's finish.
import { finished, Readable, type Writable } from 'node:stream'

const ignore = () => undefined

export function pipeThrough(body: Readable | AsyncIterable<Buffer>, sink: Writable): Promise<void> {
  const source = body instanceof Readable ? body : Readable.from(body)
  const streams = [source, sink]
  return new Promise<void>((resolve, reject) => {
    let settled = false
    const cleanups: (() => void)[] = []
    const settle = (err?: Error | null) => {
      if (settled) return
      settled = true
      // Streams outlive this call: an error they emit later (a destroy below, say) must not go unheard.
      for (const stream of streams) stream.on('error', ignore)
      for (const cleanup of cleanups) cleanup()
      if (err) {
        for (const stream of streams) stream.destroy(err)
        reject(err)
      } else {
        resolve()
      }
    }
    for (const stream of streams) {
      cleanups.push(finished(stream, (err) => (err ? settle(err) : stream === sink ? settle() : undefined)))
    }
    source.pipe(sink)
  })
}
