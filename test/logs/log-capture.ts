// A pino logger whose JSON lines land in an array, so tests can read what an operator would read.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { createLogger } from '../../src/app.js'

export function captureLog(level: 'info' | 'debug' | 'trace' = 'info') {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      raw.push(String(chunk))
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    }
  })
  // The app's own logger factory, so the redaction under test is the one that runs in production.
  const logger = createLogger({ logLevel: level }, sink as unknown as pino.DestinationStream)
  return { logger, lines, text: () => raw.join('') }
}
