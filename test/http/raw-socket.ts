// Raw loopback sockets for tests that must send what no HTTP client would.
import { connect } from 'node:net'

/** Sends raw bytes on a fresh loopback connection and returns everything the server writes back. */
export async function rawExchange(port: number, data: string | Buffer): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c) => chunks.push(c))
  socket.on('error', () => undefined)
  socket.write(data)
  await new Promise((resolve) => socket.once('close', resolve))
  return Buffer.concat(chunks).toString('latin1')
}

