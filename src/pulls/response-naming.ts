// What a pulled document is called and what type it is: Content-Disposition, the URL path, the extension.
import { extname } from 'node:path'

/** The filename of a Content-Disposition header; RFC 5987 `filename*` wins over `filename`. */
export function dispositionFilename(header: string | undefined): string | null {
  if (!header) return null
  const extended = /filename\*\s*=\s*([\w!#$%&+^`{}~-]*)'[^']*'([^;\s]+)/i.exec(header)
  if (extended) {
    const [, charset = '', encoded = ''] = extended
    try {
      if (/^utf-8$/i.test(charset)) return decodeURIComponent(encoded)
      // ISO-8859-1: each %XX is one code point.
      return encoded.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    } catch {
      // A malformed filename* falls back to the plain parameter.
    }
  }
  const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header)
  if (quoted) return (quoted[1] ?? '').replace(/\\(.)/g, '$1') || null
  const token = /(?:^|;)\s*filename\s*=\s*([^;\s]+)/i.exec(header)
  return token?.[1] ?? null
}

/** The last non-empty segment of a URL path, percent-decoded; null for `/`. */
export function urlFilename(url: URL): string | null {
  const last = url.pathname.split('/').filter((s) => s.length > 0).pop()
  if (!last) return null
  try {
    return decodeURIComponent(last)
  } catch {
    return last
  }
}

const BY_EXTENSION: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.webp': 'image/webp',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.html': 'text/html',
  '.zip': 'application/zip',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xls': 'application/vnd.ms-excel',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.eml': 'message/rfc822'
}

/** A content type from the file's extension, for moves and for responses that name none. */
export function typeFromName(name: string): string {
  return BY_EXTENSION[extname(name).toLowerCase()] ?? 'application/octet-stream'
}
