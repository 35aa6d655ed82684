// File paths handed to a worker thread (the metadata readers, the file check) as UTF-8 bytes end to
// end plus where each ends: one buffer instead of thousands of strings copied into the worker's heap.
// The worker opens or stats each by its byte range (fs calls take a Buffer path).

export interface PackedPaths<B extends ArrayBufferLike> {
  bytes: B
  /** Where path i ends in `bytes`; it starts where path i - 1 ends (0 for the first). */
  ends: Int32Array
}

/** In shared memory, for workers that read the same list (the metadata readers). */
export function packPathsShared(paths: readonly string[]): PackedPaths<SharedArrayBuffer> {
  return pack(paths, (n) => new SharedArrayBuffer(n))
}

/** In buffers of their own, to be transferred with a message (the file check's chunks). */
export function packPathsTransferable(paths: readonly string[]): PackedPaths<ArrayBuffer> {
  return pack(paths, (n) => new ArrayBuffer(n))
}

/**
 * The paths `{dirs[d]}/{name}/{leaf}` for every name of `names[d]`, directory by directory, in shared
 * memory: one string per directory is encoded, and no string is made for any one path (at 100k items
 * those strings were a tenth of a second of the start-up's listing, most of it garbage collection).
 */
export function packItemPathsShared(dirs: readonly string[], names: readonly (readonly string[])[], leaf: string): PackedPaths<SharedArrayBuffer> {
  const count = names.reduce((n, list) => n + list.length, 0)
  const ends = new Int32Array(new SharedArrayBuffer(4 * count))
  const joined: string[] = []
  let total = 0
  for (let d = 0, i = 0; d < dirs.length; d++) {
    const list = names[d]!
    if (list.length === 0) continue
    const head = `${dirs[d]!}/`
    const tail = `/${leaf}`
    const all = `${head}${list.join(`${tail}${head}`)}${tail}`
    joined.push(all)
    const bytes = Buffer.byteLength(all)
    if (bytes === all.length) {
      // ASCII: each path ends where its characters do.
      for (const name of list) ends[i++] = total += head.length + name.length + tail.length
    } else {
      const fixed = Buffer.byteLength(head) + Buffer.byteLength(tail)
      for (const name of list) ends[i++] = total += fixed + Buffer.byteLength(name)
    }
  }
  const bytes = new SharedArrayBuffer(total)
  const view = Buffer.from(bytes)
  for (let j = 0, at = 0; j < joined.length; j++) at += view.write(joined[j]!, at)
  return { bytes, ends }
}

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
