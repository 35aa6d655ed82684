import t from 'tap'
import { CleanupJob } from '../../src/jobs/cleanup-job.js'
import type { CleanupSweeper, SweepResult } from '../../src/staging/sweep.js'
import type { TapLike } from '../helper.js'
import { captureLog } from '../logs/log-capture.js'

const DEBUG = 20
const WARN = 40
const ERROR = 50

/** The app's logger, its JSON lines (debug and up) in an array; `above(level)` are the lines past a level. */
function jobLog() {
  const { logger, lines } = captureLog('debug')
  return { log: logger, lines, above: (level: number) => lines.filter((l) => (l.level as number) > level) }
}

function fakeSweeper() {
  const calls: boolean[] = []
  let release: (() => void) | null = null
  const sweeper = {
    isRunning: false,
    async run(dryRun: boolean): Promise<SweepResult> {
      calls.push(dryRun)
      sweeper.isRunning = true
      await new Promise<void>((resolve) => {
        release = resolve
      })
      sweeper.isRunning = false
      return {} as SweepResult
    }
  }
  return { sweeper: sweeper as unknown as CleanupSweeper, calls, finish: () => release?.() }
}

t.test('interval mode: a sweep once the interval has passed, none while one runs', async (t) => {
  let now = 1_000_000
  const { sweeper, calls, finish } = fakeSweeper()
  const { log, above } = jobLog()
  const job = new CleanupJob({ sweeper, intervalMs: 60_000, cronExpression: '', log, now: () => now })
  job.start()
  t.teardown(() => job.stop())
  t.equal(job.nextRunAt(), 1_060_000)
  await job.tick()
  t.same(calls, [], 'not due yet')
  now += 60_000
  const running = job.tick()
  t.same(calls, [false], 'due: a real (not dry) sweep')
  t.equal(job.nextRunAt(), 1_120_000)
  now += 60_000
  await job.tick()
  t.same(calls, [false], 'no second sweep while the first runs')
  finish()
  await running
  now += 60_000
  const next = job.tick()
  t.same(calls, [false, false])
  finish()
  await next
  t.same(above(WARN), [], 'no sweep failed')
})

t.test('cron mode follows the expression and reports the next run', async (t) => {
  const { sweeper } = fakeSweeper()
  const { log, above } = jobLog()
  const job = new CleanupJob({ sweeper, intervalMs: 60_000, cronExpression: '0 0 3 * * *', log })
  t.equal(job.nextRunAt(), null, 'stopped: no next run')
  job.start()
  const next = new Date(job.nextRunAt() as number)
  t.equal(next.getSeconds(), 0)
  t.equal(next.getMinutes(), 0)
  t.equal(next.getHours(), 3)
  t.ok(next.getTime() > Date.now())
  await job.stop()
  t.equal(job.nextRunAt(), null)
  t.same(above(WARN), [], 'no sweep failed')
})

t.test('a failing sweep is reported, not thrown', async (t) => {
  const { log, above } = jobLog()
  const sweeper = { isRunning: false, run: async () => Promise.reject(new Error('disk gone')) } as unknown as CleanupSweeper
  let now = 0
  const job = new CleanupJob({ sweeper, intervalMs: 10, cronExpression: '', log, now: () => now })
  now = 100
  await job.tick()
  const errors = above(WARN)
  t.equal(errors.length, 1)
  t.match(errors[0], { level: ERROR, msg: 'scheduled cleanup failed', err: { message: 'disk gone' } })
})

t.test('node-cron really fires the tick', async (t) => {
  const { sweeper, calls, finish } = fakeSweeper()
  const { log, above } = jobLog()
  const job = new CleanupJob({ sweeper, intervalMs: 1, cronExpression: '', log })
  job.start()
  t.teardown(() => job.stop())
  // The tick runs every second; wait (bounded) for the first sweep.
  for (let i = 0; i < 40 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 100))
  t.equal(calls.length, 1)
  finish()
  t.same(above(WARN), [], 'no sweep failed')
})

/** Holds the event loop, as a long GC or a blocking step would, until `until` (ms since the epoch). */
function holdLoopUntil(until: number): void {
  while (Date.now() < until) {
    // busy: nothing else on this thread runs meanwhile
  }
}

/** Replaces the console's methods with recorders for the rest of the test: node-cron must not use them. */
function recordConsole(t: TapLike) {
  const written: string[] = []
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method]
    console[method] = (...args: unknown[]) => void written.push(args.map(String).join(' '))
    t.teardown(() => {
      console[method] = original
    })
  }
  return written
}

const waitFor = async (done: () => boolean, ms: number) => {
  for (let waited = 0; waited < ms && !done(); waited += 50) await new Promise((r) => setTimeout(r, 50))
}

/** A started job on real node-cron (interval mode when `cronExpression` is ''), its sweeper and its log. */
function startJob(t: TapLike, cronExpression: string) {
  const { log, lines, above } = jobLog()
  const { sweeper, calls, finish } = fakeSweeper()
  const job = new CleanupJob({ sweeper, intervalMs: 1, cronExpression, log })
  job.start()
  t.teardown(() => job.stop())
  // Anything above debug (a failed sweep included) is a failure in these tests but for the missed-run warning.
  const aboveDebug = () => above(DEBUG)
  return { job, calls, finish, lines, aboveDebug }
}

t.test('a sweep that outlasts the tick: no warning per second, and the next one runs once it is due', async (t) => {
  const written = recordConsole(t)
  const { calls, finish, aboveDebug } = startJob(t, '')
  await waitFor(() => calls.length === 1, 3000)
  t.equal(calls.length, 1, 'the first sweep started')
  // Three more one-second ticks pass while that sweep runs.
  await new Promise((r) => setTimeout(r, 3200))
  t.equal(calls.length, 1, 'no second sweep while the first runs')
  finish()
  await waitFor(() => calls.length === 2, 3000)
  t.equal(calls.length, 2, 'the next tick after the end starts the next sweep')
  finish()
  t.same(written, [], 'nothing on the console')
  t.same(aboveDebug(), [], 'and nothing above debug in the log')
})

t.test('a held-up event loop: the interval tick is quiet, a late cron run still runs', async (t) => {
  const written = recordConsole(t)

  const interval = startJob(t, '')
  holdLoopUntil(Date.now() + 2500)
  await waitFor(() => interval.calls.length === 1, 3000)
  t.equal(interval.calls.length, 1, 'interval mode: the sweep ran after the stall')
  interval.finish()
  t.same(interval.aboveDebug(), [], 'interval mode: lost ticks are not logged')

  // Every 5 s: hold the loop from before one match until 2.2 s past it, so its run starts 2.2 s late.
  // A timer that wakes after the match (a loaded machine) would test nothing: then try the next one.
  let heldUp = false
  for (let attempt = 1; attempt <= 3 && !heldUp; attempt++) {
    const match = Math.ceil((Date.now() + 1500) / 5000) * 5000
    const late = startJob(t, '*/5 * * * * *')
    await new Promise((r) => setTimeout(r, match - 800 - Date.now()))
    if (Date.now() >= match) {
      await late.job.stop()
      continue
    }
    heldUp = true
    holdLoopUntil(match + 2200)
    await waitFor(() => late.calls.length === 1, 1500)
    t.equal(late.calls.length, 1, 'cron mode: the run 2.2 s late still ran')
    late.finish()
    t.same(late.aboveDebug(), [], 'cron mode: nothing missed')
  }
  t.ok(heldUp, 'a match was held up (in at most 3 attempts)')
  t.same(written, [], 'nothing on the console')
})

t.test('cron runs skipped by a long stall are logged as missed, as JSON, with their time', async (t) => {
  const written = recordConsole(t)
  const { calls, finish, lines } = startJob(t, '* * * * * *')
  await waitFor(() => calls.length === 1, 3000)
  finish()
  const before = calls.length
  // Every second matches: a 3.5 s stall passes over matches that are then behind the latest one.
  holdLoopUntil(Date.now() + 3500)
  await waitFor(() => calls.length > before, 2000)
  t.ok(calls.length > before, 'the latest match ran')
  finish()
  const missed = lines.filter((l) => String(l.msg).startsWith('scheduled cleanup missed its time'))
  t.ok(missed.length >= 1, `the skipped matches were logged (${missed.length})`)
  t.match(missed[0], { level: WARN, cron: '* * * * * *', scheduled_at: /^\d{4}-\d\d-\d\dT/ })
  t.same(lines.filter((l) => (l.level as number) >= ERROR), [], 'no sweep failed')
  t.same(written, [], 'nothing on the console')
})
