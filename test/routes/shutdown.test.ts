// Requests that arrive while the app closes are answered 503 Unavailable as problem+json.
import { connect } from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { buildTestApp } from '../helper.js'

t.test('a request whose headers finish during close gets a problem+json 503', async (t) => {
  const { app } = await buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let answer = ''
  socket.on('data', (d) => (answer += d))
  // Half a request: the connection is busy, not idle, so the close waits for it.
  socket.write('GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  await new Promise((r) => setTimeout(r, 50))
  const closing = app.close()
  await new Promise((r) => setTimeout(r, 50))
  socket.write('\r\n')
  await Promise.race([once(socket, 'end'), once(socket, 'close')])
  await closing
  const [head, body] = answer.split('\r\n\r\n') as [string, string]
  t.match(head, /^HTTP\/1\.1 503/)
  t.match(head, /content-type: application\/problem\+json/i)
  t.match(head, /connection: close/i)
  t.match(JSON.parse(body), { code: 'Unavailable', retryable: true, status: 503 })
})
