// One line of a segment: `{checksum} {json}\n`, the checksum the first 16 hex digits of the json's
// sha256. A line cut short by kill -9 or power loss fails it (or has no newline) and is dropped.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { sequenceOf, SEQUENCE_DIGITS, type CloudEvent } from './cloud-event.js'

const CHECKSUM_CHARS = 16
const SEGMENT_NAME = new RegExp(`^(\\d{${SEQUENCE_DIGITS}})\\.log$`)

const checksum = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, CHECKSUM_CHARS)

export function encodeLine(event: CloudEvent): string {
  const json = JSON.stringify(event)
  return `${checksum(json)} ${json}\n`
}

/** The event of a line (without its newline), or null when the line is torn or corrupt. */
export function decodeLine(line: string): CloudEvent | null {
  const json = line.slice(CHECKSUM_CHARS + 1)
  if (line[CHECKSUM_CHARS] !== ' ' || checksum(json) !== line.slice(0, CHECKSUM_CHARS)) return null
  try {
    return JSON.parse(json) as CloudEvent
  } catch {
    return null
  }
}

export const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(SEQUENCE_DIGITS, '0')}.log`

/** The first sequence a segment file may hold, from its name; null for other files. */
export function segmentFirstSeq(path: string): number | null {
  const m = SEGMENT_NAME.exec(basename(path))
  return m ? Number(m[1]) : null
}

export const segmentPath = (dir: string, firstSeq: number) => join(dir, segmentName(firstSeq))

/**
 * Streams the valid events of a segment in order, one line at a time (never the whole file), and
 * stops at the first line that is torn or corrupt. `validBytes` is the length of the intact prefix.
 */
export async function scanSegment(path: string, onEvent: (event: CloudEvent) => boolean | void): Promise<{ validBytes: number; torn: boolean; lastSeq: number | null }> {
  const stream = createReadStream(path, { encoding: 'utf8' })
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  let validBytes = 0
  let lastSeq: number | null = null
  let torn = false
  let stopped = false
  try {
    for await (const line of lines) {
      const event = decodeLine(line)
      if (!event) {
        torn = true
        break
      }
      validBytes += Buffer.byteLength(line) + 1
      lastSeq = sequenceOf(event)
      if (onEvent(event) === false) {
        stopped = true
        break
      }
    }
  } finally {
    lines.close()
    stream.destroy()
  }
  return { validBytes, torn: torn && !stopped, lastSeq }
}
