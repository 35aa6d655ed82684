// The old generation's room after each full GC (src/heap-growth.ts): the rule, and V8 following it in
// a process whose live heap grows, as the served process's does with its index.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { HEAP_ROOM_BYTES, growthPercent } from '../src/heap-growth.js'

const MiB = 1024 * 1024
const run = promisify(execFile)

t.test('the room is what large transfers need or half the live heap, within 1.5x and 4x', async (t) => {
  t.equal(growthPercent(0), 300, 'nothing measured yet: the launchers\' 4x')
  t.equal(growthPercent(16 * MiB), 300, 'a service at rest keeps 4x')
  t.equal(growthPercent(24 * MiB), 300)
  t.equal(growthPercent(36 * MiB), 200)
  t.equal(growthPercent(60 * MiB), 120, 'a 100k-item index')
  t.equal(growthPercent(72 * MiB), 100)
  t.equal(growthPercent(100 * MiB), 80, 'rounded up to a step of 10')
  t.equal(growthPercent(144 * MiB), 50)
  t.equal(growthPercent(2048 * MiB), 50, 'never less than half the live heap')
  for (let live = MiB; live <= 512 * MiB; live += 3 * MiB) {
    const room = (live * growthPercent(live)) / 100
    if (room < Math.min(HEAP_ROOM_BYTES, 3 * live) || room < live / 2 || room > 3 * live) {
      t.fail(`${live / MiB} MiB live gets ${room / MiB} MiB of room`)
    }
  }
})

t.test('V8 takes each new growth from the next full GC on', async (t) => {
  // The launchers' 4x first, then the governor with a small room, while the child keeps ~130 MiB of
  // objects alive in steps (the observer runs between them). V8 prints the factor of every new limit.
  const heapGrowth = fileURLToPath(new URL('../src/heap-growth.ts', import.meta.url))
  const program = `
    import { setFlagsFromString } from 'node:v8'
    import { governHeapGrowth } from ${JSON.stringify(heapGrowth)}
    setFlagsFromString('--heap-growing-percent=300')
    const changes = []
    governHeapGrowth({ roomBytes: ${8 * MiB}, onChange: (percent) => changes.push(percent) })
    const kept = []
    const step = () => {
      for (let n = 0; n < 100000; n++) kept.push({ n, s: 'item-' + kept.length })
      if (kept.length < 2000000) setImmediate(step)
      else setTimeout(() => process.stderr.write('CHANGES ' + JSON.stringify(changes) + '\\n'), 50)
    }
    step()`
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--trace-gc-verbose', '--input-type=module', '-e', program], { maxBuffer: 64 * MiB })
  const factors = [...stdout.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d+)\)/g)].map((m) => m[1])
  const changes = JSON.parse(/CHANGES (.*)/.exec(stderr)?.[1] ?? 'null') as number[] | null
  t.ok(factors.length >= 3, `full GCs ran and set new limits (${factors.join(', ')})`)
  t.equal(factors[0], '4.0', 'the first full GC still used the launchers\' 4x')
  t.equal(changes?.at(-1), 50, 'the governor came down to half the live heap as it grew past twice the room')
  t.equal(factors.at(-1), '1.5', 'and V8 set the last limit with it')
  t.notOk(factors.slice(factors.indexOf('1.5')).includes('4.0'), 'never 4x again once the heap was large')
})
