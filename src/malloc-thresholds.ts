// Keeps glibc's malloc from handing the top of its heap back to the kernel after each burst of a
// large pull's garbage. Every socket read is a fresh 64 KiB malloc, freed only when a scavenge
// collects its Buffer (every 8 MiB handed to a hash worker: scavenge-pacer.ts), so megabytes are freed
// at once. Where they lay at the top of the heap, glibc gave them back (free() trims the main heap
// with brk once more than M_TRIM_THRESHOLD, 128 KiB by default, is free at its top) and the next reads
// faulted every page in again: some processes ran pulls with 7-14k page faults per 512 MiB on the main
// thread (1144 brk calls in three pulls), others with 190-1750, at 10-15% less throughput
// (bench/RESULTS.md, the twelfth machine).
//
// The thresholds cannot be set from JavaScript (mallopt), and the environment variables for them
// (MALLOC_TRIM_THRESHOLD_) are read only as the process starts. But glibc raises them itself: when it
// frees a block it had mapped with mmap, it sets the mmap threshold to the block's size and the trim
// threshold to twice that (mallopt(3), M_MMAP_THRESHOLD, "dynamic adjustment"). So the service
// allocates one such block as it starts and drops it; the next collection frees it. Other C libraries
// (musl) ignore this and lose nothing but the block's brief allocation.
//
// Since blocks up to the new mmap threshold then come from the heap too, it is kept small: 8 MiB
// (trim past 16 MiB), what the scavenge pacer lets pile up between two collections.

/** The block allocated and dropped: glibc's new mmap threshold, half its new trim threshold. */
export const MALLOC_THRESHOLD_BLOCK_BYTES = 8 * 1024 * 1024

/**
 * Allocates a block of `bytes` outside V8's heap (an ArrayBuffer's backing store, which glibc maps
 * with mmap at this size) and drops it; glibc raises its thresholds when a later collection frees it.
 */
export function raiseMallocThresholds(bytes = MALLOC_THRESHOLD_BLOCK_BYTES): void {
  // Written to, so that the block is really there; nothing keeps it.
  Buffer.allocUnsafeSlow(bytes).fill(0, 0, 1)
}
