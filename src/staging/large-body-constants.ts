// The constants shared by the code that writes large bodies: the file writer's batches
// (batched-file-writer.ts), the digest that hands them over (body-digest.ts), the hash workers
// (hash-workers.ts) and the program they run (hash-worker-program.ts, whose header says how and why a
// worker writes as it does), and the setting that chooses how (STAGING_DIRECT_WRITES, config.ts).

/** File offsets and lengths of O_DIRECT writes are multiples of this (any disk's logical block divides it). */
export const BLOCK_BYTES = 4096

/**
 * How the workers write batches: 'auto' (buffered, O_DIRECT while buffered writes are slow), 'always'
 * (O_DIRECT where the filesystem takes it), 'never' (buffered). STAGING_DIRECT_WRITES auto|true|false.
 */
export type DirectWrites = 'auto' | 'always' | 'never'

/**
 * 'auto': buffered writes that cost the worker thread at least this much system time per MiB, over a
 * window, switch it to O_DIRECT. Per 512 MiB on the benchmark VMs the worker's system time was
 * 0.28-0.40 s (0.55-0.8 ms per MiB; also right after drop_caches) with a quick page cache and
 * 1.57-1.67 s (~3.1 ms per MiB) with cold pages; O_DIRECT's 0.01-0.03 s.
 */
export const SLOW_BUFFERED_MS_PER_MIB = 2
/** 'auto': the buffered bytes a worker times before it decides (~40-200 ms of system time: the clock ticks in 10 ms). */
export const PAGE_CACHE_WINDOW_BYTES = 64 * 1024 * 1024
/** 'auto': how long a switch to O_DIRECT lasts, in bytes written, before the page cache is timed again. */
export const DIRECT_SPELL_BYTES = 1024 * 1024 * 1024

/**
 * The largest batch the file writer makes from socket reads (1 MiB and the 64 KiB read that crossed
 * it): the size of the shared buffers batches come in (hash-workers.ts) and of the worker's aligned
 * copies, so that one copy fits every such batch (sized to the batch, 3-4 copies were made per 512 MiB
 * pull, 8-11 per multipart upload, against 3). A whole number of WebAssembly pages (17 of 64 KiB).
 */
export const BATCH_BUFFER_BYTES = 1024 * 1024 + 64 * 1024

/** WebAssembly's page: the unit a WebAssembly.Memory (the page-aligned buffers of batches) is sized in. */
export const WASM_PAGE_BYTES = 64 * 1024

/**
 * Batches a body hands to the worker before the oldest is written (body-digest.ts): while the worker
 * writes and hashes one, the main thread gathers the next. One at a time left both threads waiting on each other; in pulls one gave
 * ~0.7x `curl -o`, two ~0.8x, three ~0.86x, four no more (bench/RESULTS.md). hash-workers.ts keeps as
 * many shared batch buffers, and the worker as many aligned copies.
 */
export const WRITES_IN_FLIGHT = 3
