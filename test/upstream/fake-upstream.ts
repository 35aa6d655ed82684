// Fake upstreams: real HTTP(S) servers on 127.0.0.1 port 0 that record every connection and request.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Test } from 'tap'
import { AppError } from '../../src/errors.js'
import type { TapLike } from '../helper.js'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
}

export interface FakeUpstream {
  /** `http://127.0.0.1:PORT` (or https). */
  origin: string
  port: number
  /** `127.0.0.1:PORT`, as STAGING_HTTP_ALLOW_HOSTS takes it. */
  hostPort: string
  requests: RecordedRequest[]
  /** TCP connections accepted: a canary must see zero. */
  connections: number
}

export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'tls')
/** A self-signed certificate for 127.0.0.1 and localhost; the client is told to trust it. */
export const TEST_CA = readFileSync(join(fixtures, 'cert.pem'))

export async function fakeUpstream(t: TapLike, handler: Handler, options: { tls?: boolean } = {}): Promise<FakeUpstream> {
  const state = { requests: [] as RecordedRequest[], connections: 0 }
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    handler(req, res, state.requests.length)
  }
  const server: Server = options.tls
    ? createTlsServer({ cert: TEST_CA, key: readFileSync(join(fixtures, 'key.pem')) }, listener)
    : createServer(listener)
  server.on(options.tls ? 'secureConnection' : 'connection', () => state.connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as AddressInfo
  const scheme = options.tls ? 'https' : 'http'
  return {
    origin: `${scheme}://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    get requests() {
      return state.requests
    },
    get connections() {
      return state.connections
    }
  }
}

/** A canary: any request to it means the guard failed. */
export function canary(t: TapLike): Promise<FakeUpstream> {
  return fakeUpstream(t, (_req, res) => res.end('canary reached'))
}

/** A port nobody listens on: a server is opened and closed to find one. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Asserts that `p` rejects with the catalogue error `code` and HTTP `status`; returns the error. */
export async function rejectsWith(t: Test, p: Promise<unknown>, code: string, status: number): Promise<AppError> {
  try {
    await p
  } catch (err) {
    t.ok(err instanceof AppError, `an AppError (${String(err)})`)
    t.match(err, { code, status })
    return err as AppError
  }
  t.fail(`expected ${code}`)
  return new AppError('StagingError', 'no error was thrown')
}
