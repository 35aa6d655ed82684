// The start-up load's check of a parsed .metadata.json. zod's safeParse builds a copy of every record
// (a sixth of a 100k-item load in a CPU profile, and as much again in garbage collection), so the
// common record is checked here by hand, in place, with checks as strict as the schema's or stricter:
// what this accepts, itemRecordSchema accepts too (test/staging/record-check.test.ts holds it to that).
// Anything else goes to zod, which decides.
import { z } from 'zod'
import { KINDS, STATUSES, type ItemRecord, type Source } from './record.js'

/** The very pattern of the schema's timestamps (z.iso.datetime with millisecond precision). */
const TIMESTAMP = z.core.regexes.datetime({ precision: 3 })
const SHA256 = /^[0-9a-f]{64}$/
const KIND_SET: ReadonlySet<unknown> = new Set(KINDS)
const STATUS_SET: ReadonlySet<unknown> = new Set(STATUSES)

const isTimestamp = (v: unknown) => typeof v === 'string' && TIMESTAMP.test(v)
const isStringOrNull = (v: unknown) => v === null || typeof v === 'string'

/**
 * A filename that is one path component (sanitiseFilename's always are): it joins its item's
 * directory by plain concatenation, and cannot point outside it.
 */
export function isOneComponent(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')
}

/** Whether `value` is a record of `source`/`documentId` (an id already matched against ID_PATTERN) that the schema accepts as it is. */
export function isPlainRecord(value: unknown, source: Source, documentId: string): value is ItemRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const r = value as Record<string, unknown>
  const size = r.file_size_bytes
  return (
    r.document_id === documentId &&
    r.source === source &&
    KIND_SET.has(r.kind) &&
    STATUS_SET.has(r.status) &&
    isTimestamp(r.created_at) &&
    isTimestamp(r.updated_at) &&
    typeof r.file_path === 'string' &&
    isOneComponent(r.filename) &&
    isStringOrNull(r.original_filename) &&
    typeof r.content_type === 'string' &&
    typeof size === 'number' &&
    Number.isSafeInteger(size) &&
    size >= 0 &&
    typeof r.sha256 === 'string' &&
    SHA256.test(r.sha256) &&
    isStringOrNull(r.source_location) &&
    isStringOrNull(r.error) &&
    (r.expires_at === null || isTimestamp(r.expires_at))
  )
}
