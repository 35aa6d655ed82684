// A fake push receiver: a real HTTP server on 127.0.0.1 that checks each Standard Webhooks signature
// with node:crypto (not the library the service signs with) and records what arrived.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { TapLike } from '../helper.js'

export const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`

export interface Delivery {
  id: string
  timestamp: number
  signature: string
  signatureOk: boolean
  sequence: number
  body: string
}

/** The published algorithm: v1,base64(HMAC-SHA256(base64-decoded secret, `${id}.${timestamp}.${body}`)). */
export function expectedSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

function signatureMatches(header: string, expected: string): boolean {
  // The header may carry several space-separated signatures (key rotation); one must match.
  return header.split(' ').some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), Buffer.from(expected)))
}

export class Receiver {
  readonly deliveries: Delivery[] = []
  /** Answer this status instead of 204 while set (a receiver in trouble). */
  failWith: number | null = null
  delayMs = 0
  private server: Server | null = null

  constructor(private readonly secret = SECRET) {}

  async listen(t: TapLike, port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const id = String(req.headers['webhook-id'])
        const ts = String(req.headers['webhook-timestamp'])
        // Recorded as it arrives, the answer (204, or failWith) only sent after delayMs: a sender that
        // gives up while waiting (a replica closing mid-delivery) has still delivered, at this moment.
        // Recording at answer time put such a delivery after the ones a successor made meanwhile.
        const failWith = this.failWith
        if (failWith === null) {
          this.deliveries.push({
            id,
            timestamp: Number(ts),
            signature: String(req.headers['webhook-signature']),
            signatureOk: signatureMatches(String(req.headers['webhook-signature']), expectedSignature(this.secret, id, ts, body)),
            sequence: Number((JSON.parse(body) as { sequence: string }).sequence),
            body
          })
        }
        const answer = () => res.writeHead(failWith ?? 204).end()
        if (this.delayMs > 0) setTimeout(answer, this.delayMs)
        else answer()
      })
    })
    server.keepAliveTimeout = 1000
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    this.server = server
    t.teardown(() => this.close())
    return (server.address() as { port: number }).port
  }

  async close(): Promise<void> {
    const server = this.server
    this.server = null
    if (!server) return
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }

  /** Distinct sequences in the order first received. */
  firstSeen(): number[] {
    const seen = new Set<number>()
    for (const d of this.deliveries) seen.add(d.sequence)
    return [...seen]
  }

  async waitFor(count: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms
    while (this.firstSeen().length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.firstSeen().length} of ${count} events arrived`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}
