// Every request body is watched, whatever route takes it: a body that stalls (no byte for the idle
// timeout) or trickles (under the minimum rate) is cut off, which fails its reader at once, so a draft
// and its quota reservation are released. An answer given before the body has all arrived (401, 403,
// 413, 415, 507...) leaves the connection open while the rest is read and discarded, within a byte
// and time bound (nginx's lingering close), so clients without Expect: 100-continue read the answer.
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export interface BodyGuardLimits {
  /** No body byte for this long cuts the request off. */
  bodyIdleTimeoutMs: number
  /** After the first idle period, a body slower than this (bytes per second) is cut off. 0: no minimum. */
  bodyMinBytesPerSecond: number
  /** After an early answer: at most this many body bytes are discarded before the connection closes. */
  drainMaxBytes: number
  /** ... and for at most this long. */
  drainTimeoutMs: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the body guard cut this request's body off, for the log line; null when it did not. */
    bodyCutOff: string | null
  }
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Calls `check` every tick until `stop` is called; the timer never holds the process open. */
function every(ms: number, check: () => void): () => void {
  const timer = setInterval(check, ms)
  timer.unref()
  return () => clearInterval(timer)
}

export function registerBodyGuard(app: FastifyInstance, limits: BodyGuardLimits): void {
  const tick = Math.max(10, Math.min(1000, Math.floor(limits.bodyIdleTimeoutMs / 4)))
  app.decorateRequest('bodyCutOff', null)

  app.addHook('onRequest', async (request) => {
    if (!hasBody(request)) return
    const socket = request.raw.socket as Socket
    const started = Date.now()
    const startBytes = socket.bytesRead
    let lastBytes = startBytes
    let lastProgress = started
    const stop = every(tick, () => {
      if (request.raw.complete || socket.destroyed || request.raw.socket === null) return stop()
      const now = Date.now()
      const bytes = socket.bytesRead
      if (bytes !== lastBytes) {
        lastBytes = bytes
        lastProgress = now
      }
      const elapsed = now - started
      const rate = ((bytes - startBytes) * 1000) / Math.max(1, elapsed)
      let reason: string | null = null
      if (now - lastProgress >= limits.bodyIdleTimeoutMs) reason = `no body byte for ${limits.bodyIdleTimeoutMs} ms`
      else if (limits.bodyMinBytesPerSecond > 0 && elapsed >= limits.bodyIdleTimeoutMs && rate < limits.bodyMinBytesPerSecond) {
        reason = `the body arrives at ${Math.round(rate)} B/s, under the minimum of ${limits.bodyMinBytesPerSecond} B/s`
      }
      if (!reason) return
      stop()
      request.bodyCutOff = reason
      request.log.info({ reason }, 'request body cut off')
      // Destroying the body fails whoever reads it (multipart, JSON parser, a raw stream) right away.
      request.raw.destroy(new Error(`request body cut off: ${reason}`))
    })
    request.raw.once('close', stop)
  })

  app.addHook('onSend', async (request, reply) => {
    if (request.raw.complete || !hasBody(request)) return
    // Answered early: read and discard the rest, bounded, instead of closing on unread bytes (a reset
    // that would destroy the answer before the client reads it). Fastify marks a body parser's error
    // `Connection: close`, on which node:http destroys the socket as soon as the answer is written:
    // the same reset (curl: "Send failure: Broken pipe", no status), so the drain closes it instead.
    reply.removeHeader('connection')
    drain(request, reply.raw, limits)
  })
}

function drain(request: FastifyRequest, response: FastifyReply['raw'], limits: BodyGuardLimits): void {
  const req = request.raw
  const socket = req.socket as Socket | null
  if (!socket || socket.destroyed) return
  let discarded = 0
  let halfClosed = false
  let stopTimer = () => {}
  // Past the byte bound the connection will not be reused: send FIN after the answer, and keep
  // discarding what still arrives (closing on unread bytes would reset the answer away) until the time bound.
  const finish = () => {
    if (halfClosed || req.complete || socket.destroyed) return
    halfClosed = true
    request.log.info({ discarded_bytes: discarded }, 'body past the drain bound; closing the connection after the answer')
    socket.end()
  }
  // Readers that gave up (busboy after an error) stop here; the body now flows into the discard.
  req.unpipe()
  req.removeAllListeners('data')
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > limits.drainMaxBytes && response.writableFinished) finish()
  })
  req.resume()
  req.once('end', () => stopTimer())
  response.once('finish', () => {
    if (req.complete) return
    if (discarded > limits.drainMaxBytes) finish()
    const timer = setTimeout(() => {
      // light-my-request (inject) sockets have no destroy().
      if (!req.complete && !socket.destroyed && typeof socket.destroy === 'function') socket.destroy()
    }, limits.drainTimeoutMs)
    timer.unref()
    stopTimer = () => clearTimeout(timer)
    socket.once('close', stopTimer)
  })
}
