// One line of a segment: `{checksum} {json}\n`, the checksum the first 16 hex digits of the json's
// sha256. A line cut short by kill -9 or power loss fails it (or has no newline) and is dropped.
// Segments are preallocated with zeros, so a line starting with a zero byte is where the data ends.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { basename, join } from 'node:path'
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

/** A line longer than this is corruption, not an event: the scan stops instead of buffering it. */
const MAX_LINE_BYTES = 4 * 1024 * 1024
const NEWLINE = 0x0a

export interface ScanResult {
  /** Length of the intact prefix: where the next line is written. */
  validBytes: number
  /** A torn or corrupt line ended the scan (not the zeros of the preallocated rest, nor the end). */
  torn: boolean
  lastSeq: number | null
}

/**
 * Streams the valid events of a segment in order, a chunk at a time (never the whole file), until
 * the zeros of its preallocated rest, its end, the first torn or corrupt line, or `onEvent` → false.
 */
export async function scanSegment(path: string, onEvent: (event: CloudEvent) => boolean | void): Promise<ScanResult> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 })
  let validBytes = 0
  let lastSeq: number | null = null
  let partial: Buffer[] = []
  let partialBytes = 0
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0
      while (from < chunk.length) {
        if (partialBytes === 0 && chunk[from] === 0) return { validBytes, torn: false, lastSeq }
        const nl = chunk.indexOf(NEWLINE, from)
        if (nl < 0) {
          partial.push(chunk.subarray(from))
          partialBytes += chunk.length - from
          if (partialBytes > MAX_LINE_BYTES) return { validBytes, torn: true, lastSeq }
          break
        }
        const line = partialBytes === 0 ? chunk.subarray(from, nl) : Buffer.concat([...partial, chunk.subarray(from, nl)])
        partial = []
        partialBytes = 0
        from = nl + 1
        const event = decodeLine(line.toString('utf8'))
        if (!event) return { validBytes, torn: true, lastSeq }
        validBytes += line.length + 1
        lastSeq = sequenceOf(event)
        if (onEvent(event) === false) return { validBytes, torn: false, lastSeq }
      }
    }
  } finally {
    stream.destroy()
  }
  // A last line without its newline was cut short.
  return { validBytes, torn: partialBytes > 0, lastSeq }
}
