// forEachConcurrently: a fixed limit, a limit that changes while the run goes on, failures and stops.
import t from 'tap'
import { forEachConcurrently } from '../../src/staging/concurrently.js'

/** Calls that end only when the test says so, counting how many are in flight. */
function gatedCalls() {
  const gates: (() => void)[] = []
  const started: number[] = []
  let active = 0
  let most = 0
  const each = (item: number) =>
    new Promise<void>((resolve) => {
      started.push(item)
      active++
      most = Math.max(most, active)
      gates.push(() => {
        active--
        resolve()
      })
    })
  const tick = () => new Promise((r) => setImmediate(r))
  /** Ends the `n` oldest calls in flight and lets their successors start. */
  const finish = async (n: number) => {
    for (const open of gates.splice(0, n)) open()
    await tick()
  }
  return { each, started, finish, active: () => active, most: () => most, resetMost: () => (most = active) }
}

t.test('a fixed limit: never more in flight, every item once, in order', async (t) => {
  const calls = gatedCalls()
  const items = Array.from({ length: 20 }, (_, i) => i)
  const run = forEachConcurrently(items, 4, calls.each)
  while (calls.started.length < 20 || calls.active() > 0) await calls.finish(1)
  t.equal(await run, true)
  t.equal(calls.most(), 4)
  t.same(calls.started, items)
})

t.test('a limit that falls and rises is followed as calls end', async (t) => {
  const calls = gatedCalls()
  let limit = 8
  const run = forEachConcurrently(Array.from({ length: 100 }, (_, i) => i), () => limit, calls.each)
  await calls.finish(0)
  t.equal(calls.active(), 8, 'eight at first')
  limit = 2
  await calls.finish(1)
  t.equal(calls.active(), 7, 'the limit fell: an ended call starts no other')
  await calls.finish(5)
  t.equal(calls.active(), 2, 'in flight down to the new limit')
  calls.resetMost()
  await calls.finish(1)
  t.equal(calls.active(), 2, 'then one starts for each that ends')
  t.equal(calls.most(), 2)
  limit = 16
  await calls.finish(1)
  t.equal(calls.active(), 16, 'the limit rose: the next call to end fills the room')
  // A limit of 0 still lets one call run whenever none is in flight, so the run ends whatever it says.
  limit = 0
  while (calls.active() > 1) await calls.finish(1)
  calls.resetMost()
  while (calls.active() > 0) await calls.finish(1)
  t.equal(calls.most(), 1, 'one at a time under a limit of 0')
  t.equal(await run, true)
  t.equal(calls.started.length, 100)
})

t.test('a call that throws stops the run, which rejects once the calls in flight end', async (t) => {
  const taken: number[] = []
  let release = () => {}
  const slow = new Promise<void>((r) => (release = r))
  const run = forEachConcurrently([0, 1, 2, 3, 4, 5], 2, async (i) => {
    taken.push(i)
    if (i === 0) await slow
    if (i === 1) throw new Error('boom')
  })
  let settled = false
  run.catch(() => undefined).finally(() => (settled = true))
  await new Promise((r) => setImmediate(r))
  t.equal(settled, false, 'still waiting for the call in flight')
  release()
  await t.rejects(run, /boom/)
  t.same(taken, [0, 1], 'no item taken after the failure')
})

t.test('stopped() ends the run early; an empty list is done at once', async (t) => {
  let stop = false
  const taken: number[] = []
  const done = await forEachConcurrently([0, 1, 2, 3, 4], 1, async (i) => {
    taken.push(i)
    if (i === 1) stop = true
  }, () => stop)
  t.equal(done, false)
  t.same(taken, [0, 1])
  t.equal(await forEachConcurrently([], 4, async () => undefined), true)
})
