// How long the cleanup schedule may go between two sweeps, for the StagingCleanupStalled alert.
import cron from 'node-cron'

/** Runs of a cron expression looked at; enough to see the uneven gaps of e.g. `0 3,4 * * *`. */
const LOOKAHEAD = 50

/**
 * The interval setting as seconds, or for a cron expression the widest gap between its next runs:
 * a schedule such as "03:00 and 04:00 daily" must not look stalled during its 23-hour gap.
 */
export function cleanupIntervalSeconds(intervalMs: number, cronExpression: string): number {
  if (cronExpression === '') return intervalMs / 1000
  // A created task is stopped until started; it only serves to ask node-cron for the next runs.
  const probe = cron.createTask(cronExpression, () => undefined, { name: 'staging-cleanup-interval-probe' })
  try {
    const runs = probe.getNextRuns(LOOKAHEAD).map((d) => d.getTime())
    let widest = 0
    for (let i = 1; i < runs.length; i++) widest = Math.max(widest, (runs[i] as number) - (runs[i - 1] as number))
    return widest / 1000
  } finally {
    void probe.destroy()
  }
}
