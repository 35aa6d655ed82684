// When the cleanup sweep runs: node-cron drives it, either on STAGING_CLEANUP_CRON or, for the
// interval setting, on a one-second tick that starts a sweep once the interval has passed since the last.
import cron, { type ScheduledTask } from 'node-cron'
import type { Sweeper } from '../staging/engine.js'

export interface CleanupJobOptions {
  sweeper: Sweeper
  intervalMs: number
  cronExpression: string
  onError: (err: unknown) => void
  /** Wall clock for scheduling (TTL decisions use the sweeper's own clock). */
  now?: () => number
}

export class CleanupJob {
  private task: ScheduledTask | null = null
  private nextDue: number
  private readonly now: () => number

  constructor(private readonly options: CleanupJobOptions) {
    this.now = options.now ?? Date.now
    this.nextDue = this.now() + options.intervalMs
  }

  start(): void {
    if (this.task) return
    const { cronExpression } = this.options
    const expression = cronExpression !== '' ? cronExpression : '* * * * * *'
    this.task = cron.schedule(expression, () => this.tick(), { name: 'staging-cleanup', noOverlap: true, unref: true })
  }

  async stop(): Promise<void> {
    const task = this.task
    this.task = null
    if (task) await task.destroy()
  }

  /** When the next sweep is due, or null while stopped. */
  nextRunAt(): number | null {
    if (!this.task) return null
    if (this.options.cronExpression === '') return this.nextDue
    return this.task.getNextRun()?.getTime() ?? null
  }

  /** One scheduler tick; public so that tests can drive the schedule without waiting. */
  async tick(): Promise<void> {
    if (this.options.cronExpression === '') {
      if (this.now() < this.nextDue) return
      this.nextDue = this.now() + this.options.intervalMs
    }
    // A sweep still running (a manual one, or a slow one) is not doubled: skip this turn.
    if (this.options.sweeper.isRunning) return
    try {
      await this.options.sweeper.run(false)
    } catch (err) {
      this.options.onError(err)
    }
  }
}
