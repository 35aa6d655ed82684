// When the cleanup sweep runs: node-cron drives it, either on STAGING_CLEANUP_CRON or, for the
// interval setting, on a one-second tick that starts a sweep once the interval has passed since the last.
import cron, { type ScheduledTask, type TaskContext } from 'node-cron'
import type { Sweeper } from '../staging/engine.js'

/** The service's logger (pino): a failed sweep and node-cron's own messages go there, never to the console. */
export interface JobLog {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface CleanupJobOptions {
  sweeper: Sweeper
  intervalMs: number
  cronExpression: string
  /** A failed sweep is logged here ('scheduled cleanup failed'), and so are node-cron's own messages. */
  log: JobLog
  /** Wall clock for scheduling (TTL decisions use the sweeper's own clock). */
  now?: () => number
}

/**
 * How late a run of STAGING_CLEANUP_CRON may start and still run, when the event loop was held up
 * across its time (a long GC, a blocking step). node-cron's default is one second, past which the run
 * is skipped until the next match: a daily sweep would then wait a day. A late sweep is harmless, so
 * any run that is late by less than the gap to the next one still runs (node-cron never runs two
 * matches for one late wake-up: it takes the latest).
 */
const LATE_RUN_TOLERANCE_MS = 24 * 60 * 60 * 1000

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
    const { cronExpression, log } = this.options
    const interval = cronExpression === ''
    // The task returns at once: a sweep that outlasts the tick is this class's to skip (isRunning),
    // where node-cron's overlap guard would log a warning every second of it.
    this.task = cron.schedule(interval ? '* * * * * *' : cronExpression, () => void this.tick(), {
      name: 'staging-cleanup',
      unref: true,
      logger: cronLogger(log),
      // The interval's one-second tick compares the clock with the due time, so a tick lost to a busy
      // event loop only delays the sweep by as much (the event-loop lag metrics show the stall).
      suppressMissedWarning: interval,
      missedExecutionTolerance: interval ? undefined : LATE_RUN_TOLERANCE_MS
    })
    if (!interval) {
      this.task.on('execution:missed', (context: TaskContext) => {
        log.warn({ scheduled_at: context.date.toISOString(), cron: cronExpression }, 'scheduled cleanup missed its time; a later match runs in its place')
      })
    }
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
      this.options.log.error({ err }, 'scheduled cleanup failed')
    }
  }
}

/** node-cron's logger interface onto the service's: one JSON line per message, with `component: 'cron'`. */
function cronLogger(log: JobLog) {
  const fields = (err?: unknown) => (err === undefined ? { component: 'cron' } : { component: 'cron', err })
  const split = (message: string | Error, err?: Error): [object, string] =>
    message instanceof Error ? [fields(message), message.message] : [fields(err), message]
  return {
    info: (message: string) => log.info(fields(), message),
    warn: (message: string) => log.warn(fields(), message),
    error: (message: string | Error, err?: Error) => log.error(...split(message, err)),
    debug: (message: string | Error, err?: Error) => log.debug(...split(message, err))
  }
}
