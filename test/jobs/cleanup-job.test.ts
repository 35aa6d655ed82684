import t from 'tap'
import { CleanupJob } from '../../src/jobs/cleanup-job.js'
import type { CleanupSweeper, SweepResult } from '../../src/staging/sweep.js'

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
  const job = new CleanupJob({ sweeper, intervalMs: 60_000, cronExpression: '', onError: (e) => t.fail(String(e)), now: () => now })
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
})

t.test('cron mode follows the expression and reports the next run', async (t) => {
  const { sweeper } = fakeSweeper()
  const job = new CleanupJob({ sweeper, intervalMs: 60_000, cronExpression: '0 0 3 * * *', onError: (e) => t.fail(String(e)) })
  t.equal(job.nextRunAt(), null, 'stopped: no next run')
  job.start()
  const next = new Date(job.nextRunAt() as number)
  t.equal(next.getSeconds(), 0)
  t.equal(next.getMinutes(), 0)
  t.equal(next.getHours(), 3)
  t.ok(next.getTime() > Date.now())
  await job.stop()
  t.equal(job.nextRunAt(), null)
})

t.test('a failing sweep is reported, not thrown', async (t) => {
  const errors: unknown[] = []
  const sweeper = { isRunning: false, run: async () => Promise.reject(new Error('disk gone')) } as unknown as CleanupSweeper
  let now = 0
  const job = new CleanupJob({ sweeper, intervalMs: 10, cronExpression: '', onError: (e) => errors.push(e), now: () => now })
  now = 100
  await job.tick()
  t.equal(errors.length, 1)
  t.match(errors[0], { message: 'disk gone' })
})

t.test('node-cron really fires the tick', async (t) => {
  const { sweeper, calls, finish } = fakeSweeper()
  const job = new CleanupJob({ sweeper, intervalMs: 1, cronExpression: '', onError: (e) => t.fail(String(e)) })
  job.start()
  t.teardown(() => job.stop())
  // The tick runs every second; wait (bounded) for the first sweep.
  for (let i = 0; i < 40 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 100))
  t.equal(calls.length, 1)
  finish()
})
