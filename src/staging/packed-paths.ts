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

function pack<B extends ArrayBufferLike>(paths: readonly string[], allocate: (bytes: number) => B): PackedPaths<B> {
  const ends = new Int32Array(allocate(4 * paths.length))
  let total = 0
  for (let i = 0; i < paths.length; i++) ends[i] = total += Buffer.byteLength(paths[i]!)
  const bytes = allocate(total)
  const view = Buffer.from(bytes)
  for (let i = 0; i < paths.length; i++) view.write(paths[i]!, i > 0 ? ends[i - 1]! : 0)
  return { bytes, ends }
}
