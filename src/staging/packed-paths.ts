// File paths handed to a worker thread (the metadata readers, the file check) as UTF-8 bytes end to
// end plus where each ends: one buffer instead of thousands of strings copied into the worker's heap.
// The file check stats each by its byte range (fs calls take a Buffer path); the metadata readers get
// only the names and put each path together from its head, name and tail (SharedPathList).

export interface PackedPaths<B extends ArrayBufferLike> {
  bytes: B
  /** Where path i ends in `bytes`; it starts where path i - 1 ends (0 for the first). */
  ends: Int32Array
}

/** In buffers of their own, to be transferred with a message (the file check's chunks). */
export function packPathsTransferable(paths: readonly string[]): PackedPaths<ArrayBuffer> {
  return pack(paths, (n) => new ArrayBuffer(n))
}

/**
 * Paths that share their beginnings and end, for reader threads: path i is `heads[headAt[i]]`, then
 * name i, then `tail`. Only the names are packed (UTF-8 end to end, in shared memory); a reader puts
 * each path together in a buffer of its own. At 100k items, packing every whole path (5.5 MB) cost
 * the start-up's listing ~70 ms here, most of it first touches of fresh memory; the names are a quarter.
 */
export interface SharedPathList {
  names: SharedArrayBuffer
  /** Where name i ends in `names`; it starts where name i - 1 ends (0 for the first). */
  ends: Int32Array
  headAt: Uint8Array
  heads: string[]
  tail: string
}

/**
 * The list of `heads[g] + name + tail` for the names in order, the first `sizes[0]` under head 0, the
 * next `sizes[1]` under head 1, and so on (at most 256 heads).
 */
export function packPathListShared(heads: readonly string[], sizes: readonly number[], names: readonly string[], tail: string): SharedPathList {
  if (heads.length > 256) throw new RangeError('at most 256 path heads')
  const { bytes, ends } = pack(names, (n) => new SharedArrayBuffer(n))
  const headAt = new Uint8Array(new SharedArrayBuffer(names.length))
  for (let g = 0, i = 0; g < sizes.length; i += sizes[g]!, g++) headAt.fill(g, i, i + sizes[g]!)
  return { names: bytes, ends, headAt, heads: [...heads], tail }
}

/** Whole paths as a list (one empty head, no tail). */
export const pathListShared = (paths: readonly string[]): SharedPathList => packPathListShared([''], [paths.length], paths, '')

function pack<B extends ArrayBufferLike>(paths: readonly string[], allocate: (bytes: number) => B): PackedPaths<B> {
  const ends = new Int32Array(allocate(4 * paths.length))
  // Paths are ASCII as a rule: then one encoding of them all, and each ends where its characters do.
  const joined = paths.join('')
  const total = Buffer.byteLength(joined)
  const bytes = allocate(total)
  const view = Buffer.from(bytes)
  if (total === joined.length) {
    view.write(joined, 0, 'latin1')
    for (let i = 0, end = 0; i < paths.length; i++) ends[i] = end += paths[i]!.length
    return { bytes, ends }
  }
  for (let i = 0, end = 0; i < paths.length; i++) ends[i] = end += Buffer.byteLength(paths[i]!)
  view.write(joined, 0)
  return { bytes, ends }
}
