// Stored filenames: a single safe path component, never the metadata file or a dotfile, always
// well-formed Unicode without invisible format characters, cut to length on a character boundary.
import { basename, extname } from 'node:path'

const METADATA = '.metadata.json'
const MAX_BYTES = 200
/** An extension longer than this is not kept apart when a name is cut. */
const MAX_EXTENSION_BYTES = 16

/**
 * Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width characters,
 * soft hyphen, BOM), line and paragraph separators, lone surrogates, and the path separator.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}/]/gu

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/** The longest prefix of `text` within `maxBytes` of UTF-8 that ends on a character (grapheme) boundary. */
export function cutToBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  let out = ''
  let bytes = 0
  for (const { segment } of graphemes.segment(text)) {
    const size = Buffer.byteLength(segment)
    if (bytes + size > maxBytes) break
    out += segment
    bytes += size
  }
  return out
}

export function sanitiseFilename(given: string | null | undefined, fallback = 'document.bin'): string {
  if (!given) return fallback
  // Both separators count: a Windows client may send C:\dir\name.pdf.
  let name = basename(given.replace(/\\/g, '/'))
  name = name.replace(UNSAFE, '').trim()
  if (Buffer.byteLength(name) > MAX_BYTES) {
    // Cut the stem, keeping a short extension, so that a long name still opens with the right program.
    const ext = extname(name)
    const kept = ext.length > 1 && Buffer.byteLength(ext) <= MAX_EXTENSION_BYTES ? ext : ''
    name = cutToBytes(name.slice(0, name.length - kept.length), MAX_BYTES - Buffer.byteLength(kept)).trimEnd() + kept
  }
  // No leading dot: that also rules out .metadata.json and hidden files.
  name = name.replace(/^\.+/, '')
  return name === '' ? fallback : name
}

export { METADATA as METADATA_FILE }

/** The index as it stood at a clean stop, in the base directory (index-snapshot.ts). */
export const SNAPSHOT_FILE = '.index-snapshot'
