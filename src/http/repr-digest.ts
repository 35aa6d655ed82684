// Repr-Digest (RFC 9530): the client's sha-256 of the body it sends, read with a Structured Fields parser.
import { parseDictionary } from 'structured-headers'
import { AppError } from '../errors.js'

function invalid(message: string): AppError {
  return new AppError('ValidationError', `header.repr-digest: ${message}`, {
    extra: { errors: [{ field: 'header.repr-digest', message }] }
  })
}

/**
 * The sha-256 of `Repr-Digest` as lowercase hex, or null when the header is absent or names only
 * other algorithms (RFC 9530 lets a recipient ignore those). A malformed value is a ValidationError.
 */
export function expectedSha256(header: string | string[] | undefined): string | null {
  if (header === undefined) return null
  const value = Array.isArray(header) ? header.join(', ') : header
  let dictionary: ReturnType<typeof parseDictionary>
  try {
    dictionary = parseDictionary(value)
  } catch {
    throw invalid('not a structured-field dictionary such as sha-256=:<base64>:')
  }
  const entry = dictionary.get('sha-256')
  if (entry === undefined) return null
  const [digest] = entry
  // The parser gives byte sequences as ArrayBuffers.
  if (!(digest instanceof ArrayBuffer)) throw invalid('sha-256 must be a byte sequence (:<base64>:)')
  const bytes = Buffer.from(digest)
  if (bytes.length !== 32) throw invalid(`sha-256 must be 32 bytes, got ${bytes.length}`)
  return bytes.toString('hex')
}
