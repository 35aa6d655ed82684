// Stored filenames: a single safe path component, never the metadata file or a dotfile.
import { basename } from 'node:path'

const METADATA = '.metadata.json'
const MAX_BYTES = 200

export function sanitiseFilename(given: string | null | undefined, fallback = 'document.bin'): string {
  if (!given) return fallback
  // Both separators count: a Windows client may send C:\dir\name.pdf.
  let name = basename(given.replace(/\\/g, '/'))
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f/]/g, '').trim()
  // No leading dot: that also rules out .metadata.json and hidden files.
  name = name.replace(/^\.+/, '')
  while (Buffer.byteLength(name) > MAX_BYTES) name = name.slice(0, -1)
  return name === '' ? fallback : name
}

export { METADATA as METADATA_FILE }
