// The scavenge pacer collects once per so many bytes handed over, across bodies, its default
// collection (V8's minor gc, exposed at run time) runs, and the hash workers feed it.
import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import t from 'tap'
import { HashWorkers } from '../../src/staging/hash-workers.js'
import { ScavengePacer, SCAVENGE_EVERY_BYTES } from '../../src/staging/scavenge-pacer.js'
import { tempDir } from '../helper.js'

const MiB = 1024 * 1024

t.test('one collection per everyBytes dropped, counted across calls', async (t) => {
  let collections = 0
  const pacer = new ScavengePacer(() => collections++, 1000)
  pacer.dropped(400)
  pacer.dropped(599)
  t.equal(collections, 0, '999 bytes: none yet')
  pacer.dropped(1)
  t.equal(collections, 1, 'at 1000 bytes')
  for (let i = 0; i < 25; i++) pacer.dropped(100)
  t.equal(collections, 3, '2500 bytes more: two more')
  pacer.dropped(5000)
  t.equal(collections, 4, 'one large drop: one collection')
})

t.test('the default collection is a real minor gc, and the pacer calls it', async (t) => {
  const seen: number[] = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) seen.push((entry as unknown as { detail: { kind: number } }).detail.kind)
  })
  observer.observe({ entryTypes: ['gc'] })
  t.teardown(() => observer.disconnect())
  const pacer = new ScavengePacer()
  pacer.dropped(SCAVENGE_EVERY_BYTES - 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const before = seen.filter((kind) => kind === constants.NODE_PERFORMANCE_GC_MINOR).length
  pacer.dropped(1)
  // The observer hears of it in a later turn.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(seen.filter((kind) => kind === constants.NODE_PERFORMANCE_GC_MINOR).length > before, 'a minor collection ran')
})

t.test('the hash workers tell their pacer of every batch handed over', async (t) => {
  const dir = await tempDir(t)
  let collections = 0
  const workers = new HashWorkers({ threads: 1, pacer: new ScavengePacer(() => collections++, 2 * MiB) })
  t.teardown(() => workers.close())
  const body = randomBytes(5 * MiB)
  const path = join(dir, 'body')
  await writeFile(path, '')
  const job = workers.startWriting(path)
  for (let at = 0; at < body.length; at += MiB) await job.write([body.subarray(at, at + MiB)], MiB, at).written
  t.equal(collections, 2, '5 MiB handed over: a collection at 2 and at 4')
  t.equal(await job.finish(body.length), createHash('sha256').update(body).digest('hex'))
})
