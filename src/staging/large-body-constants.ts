// The constants shared by the code that writes large bodies: the file writer's batches
// (batched-file-writer.ts), the digest that hands them over (body-digest.ts), the hash workers
// (hash-workers.ts) and the program they run (hash-worker-program.ts, whose header says how and why a
// worker writes as it does), and the setting that chooses how (STAGING_DIRECT_WRITES, config.ts).

/** File offsets and lengths of O_DIRECT writes are multiples of this (any disk's logical block divides it). */
export const BLOCK_BYTES = 4096

/**
 * How the workers write batches: 'auto' (O_DIRECT while the disk takes it quickly, through the page
 * cache for a while when it does not), 'always' (O_DIRECT where the filesystem takes it), 'never'
 * (buffered). STAGING_DIRECT_WRITES auto|true|false; hash-worker-program.ts says why.
 */
export type DirectWrites = 'auto' | 'always' | 'never'

/**
 * 'auto': a window of O_DIRECT writes that ran slower than this while the disk was busy with them
 * (MB/s, 10^6 bytes) sends the next BUFFERED_SPELL_BYTES through the page cache. Where extending
 * O_DIRECT writes to one file wait on each other, they ran at 270-446 MB/s on the eleventh benchmark
 * VM while buffered writes with an fdatasync every 8 MiB made 559-743. On the sixteenth, a quick disk,
 * 64 MiB windows of a pull's O_DIRECT writes ran at 636-1365 MB/s so timed (the time includes the
 * worker's wait to hear of a write while it hashes the next batch), and pulls 1.12x, uploads 1.10x
 * faster than through the page cache (bench/RESULTS.md, the sixteenth machine).
 */
export const SLOW_DIRECT_MB_PER_S = 500

/**
 * 'auto': buffered writes (in a spell) that cost the worker thread at least this much system time per
 * MiB, over a window, end the spell. Per 512 MiB on the benchmark VMs the worker's system time was
 * 0.28-0.40 s (0.55-0.8 ms per MiB; also right after drop_caches) with a quick page cache and
 * 1.57-1.67 s (~3.1 ms per MiB) with cold pages; O_DIRECT's 0.01-0.03 s.
 */
export const SLOW_BUFFERED_MS_PER_MIB = 2
/** 'auto': the bytes of a window, O_DIRECT or buffered, timed before the worker decides. */
export const AUTO_WINDOW_BYTES = 64 * 1024 * 1024
/** 'auto': how long a spell of buffered writes lasts, in bytes written, before O_DIRECT is timed again. */
export const BUFFERED_SPELL_BYTES = 1024 * 1024 * 1024

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
