// Answers the framework and Node's HTTP parser produce before a route runs, as problem+json too:
// bad URL encoding, over-long parameters, unparsable requests, header overflow and request timeouts.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { problemErrorHandler, toProblem } from './problem.js'

/** Fastify's `frameworkErrors`: bad URL components and over-long parameters reach the one error handler. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return problemErrorHandler(err, request, reply)
}

/** What Node's parser reports on a connection, as a catalogue error (always a client fault, 4xx). */
export function clientFault(err: NodeJS.ErrnoException): AppError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('ValidationError', 'the request did not arrive in time', { status: 408 })
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('ValidationError', 'the request line and headers are too large', { status: 431 })
    default:
      return new AppError('ValidationError', `the request could not be parsed (${err.code ?? 'malformed HTTP'})`)
  }
}

/** Node's `clientError`: the answer is written on the socket directly, as no request object exists. */
export function clientErrorHandler(log: FastifyBaseLogger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const problem = toProblem(clientFault(err))
    log.info({ code: err.code, status: problem.status }, 'client error')
    // A response already under way cannot be replaced by another one.
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (socket.writable && !pending?.headersSent) {
      const body = JSON.stringify(problem)
      socket.write(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
          `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`
      )
    }
    socket.destroySoon()
  }
}
