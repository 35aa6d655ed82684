// Runs src/server.ts as a real child process on a free loopback port, for tests that kill -9 it.
import type { ChildProcess } from 'node:child_process'
import { request, type ClientRequest } from 'node:http'
import { spawnNode } from './child-process.js'
import { freePort, type TapLike } from './helper.js'

const entry = new URL('../src/server.ts', import.meta.url).pathname

export interface ServerProcess {
  child: ChildProcess
  port: number
}

/** Starts the service on `baseDir` and waits (up to a minute: the machine may be busy) until it answers. */
export async function startServerProcess(t: TapLike, baseDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawnNode(['--import', 'tsx', entry], { PATH: process.env.PATH ?? '', STAGING_BASE_DIR: baseDir, PORT: String(port), LOG_LEVEL: 'warn', ...env })
  t.teardown(() => child.kill('SIGKILL'))
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return { child, port }
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the service did not start')
}

/** A multipart upload written by hand; `body: null` leaves it half sent (the caller writes the rest). */
export function postMultipart(port: number, id: string, body: Buffer | null, declared?: number): ClientRequest {
  const boundary = 'crashtest'
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\n${id}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${id}.bin"\r\n\r\n`
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/documents',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': declared ?? head.length + (body?.length ?? 0) + tail.length
    }
  })
  req.on('error', () => undefined)
  req.write(head)
  if (body) req.end(Buffer.concat([body, tail]))
  return req
}
