// File paths handed to a worker thread (the metadata readers, the file check) as UTF-8 bytes end to
// end plus where each ends: one buffer instead of thousands of strings copied into the worker's heap.
// The worker opens or stats each by its byte range (fs calls take a Buffer path).

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

/** The list of `heads[g] + name + tail` for every name of `names[g]`, group by group (at most 256 groups). */
export function packPathListShared(heads: readonly string[], names: readonly (readonly string[])[], tail: string): SharedPathList {
  if (heads.length > 256) throw new RangeError('at most 256 path heads')
  const count = names.reduce((n, list) => n + list.length, 0)
  const ends = new Int32Array(new SharedArrayBuffer(4 * count))
  const headAt = new Uint8Array(new SharedArrayBuffer(count))
  const joined: string[] = []
  let total = 0
  for (let g = 0, i = 0; g < heads.length; g++) {
    const list = names[g]!
    const all = list.join('')
    joined.push(all)
    const ascii = Buffer.byteLength(all) === all.length
    headAt.fill(g, i, i + list.length)
    for (const name of list) ends[i++] = total += ascii ? name.length : Buffer.byteLength(name)
  }
  const bytes = new SharedArrayBuffer(total)
  const view = Buffer.from(bytes)
  for (let j = 0, at = 0; j < joined.length; j++) at += view.write(joined[j]!, at)
  return { names: bytes, ends, headAt, heads: [...heads], tail }
}

/** Whole paths as a list (one empty head, no tail). */
export const pathListShared = (paths: readonly string[]): SharedPathList => packPathListShared([''], [paths], '')

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
