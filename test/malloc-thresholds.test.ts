// glibc's thresholds raised as the service starts (src/malloc-thresholds.ts): in a fresh process, a
// freed block a MiB below the raised mmap threshold (7 MiB: MALLOC_THRESHOLD_BLOCK_BYTES is 8) goes back
// to the kernel at once (glibc mapped it with mmap), unless the thresholds were raised first; then it
// stays in the heap for the next allocations, as a pull's socket reads do. Resident memory moves by a
// MiB or two for other reasons (the collections themselves, under a loaded test run), hence a block
// that large and margins that wide.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { MALLOC_THRESHOLD_BLOCK_BYTES } from '../src/malloc-thresholds.js'

const MiB = 1024 * 1024
const run = promisify(execFile)
/** Freed by the child: below the raised mmap threshold, so that the raise keeps it in the heap. */
const BLOCK_BYTES = MALLOC_THRESHOLD_BLOCK_BYTES - MiB
const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime

/** In a new process: how many MiB of resident memory freeing a BLOCK_BYTES block gave back, after `raise` or not. */
async function givenBack(raise: boolean): Promise<number> {
  const module = fileURLToPath(new URL('../src/malloc-thresholds.ts', import.meta.url))
  const program = `
    import { raiseMallocThresholds } from ${JSON.stringify(module)}
    if (${raise}) raiseMallocThresholds()
    // Whatever is garbage so far (the raise's block among it) is collected before the measurement.
    gc()
    gc()
    let block = Buffer.allocUnsafeSlow(${BLOCK_BYTES})
    block.fill(1)
    const held = process.memoryUsage.rss()
    block = null
    gc()
    process.stdout.write(String((held - process.memoryUsage.rss()) / ${MiB}))`
  // Array buffers swept inside gc(), not on a background thread later.
  const args = ['--import', 'tsx', '--expose-gc', '--no-concurrent-array-buffer-sweeping', '--input-type=module', '-e', program]
  const { stdout } = await run(process.execPath, args)
  return Number(stdout)
}

t.test(`after the raise, a freed block of ${BLOCK_BYTES / MiB} MiB stays in the heap instead of going back to the kernel`, { skip: glibc ? false : 'glibc only' }, async (t) => {
  const plain = await givenBack(false)
  const raised = await givenBack(true)
  t.ok(plain >= 4.5, `without it glibc unmapped the block at once (${plain.toFixed(2)} MiB given back)`)
  t.ok(raised <= 2.5, `with it the block stayed in the heap (${raised.toFixed(2)} MiB given back)`)
})
