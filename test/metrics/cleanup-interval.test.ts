import t from 'tap'
import { cleanupIntervalSeconds } from '../../src/metrics/cleanup-interval.js'
import { buildTestApp } from '../helper.js'
import { sampleValue } from './prom-text.js'

t.test('the interval setting is exported as seconds', async (t) => {
  t.equal(cleanupIntervalSeconds(90 * 60_000, ''), 5400)
  t.equal(cleanupIntervalSeconds(30_000, ''), 30)
})

t.test('a cron expression exports the widest gap between its runs', async (t) => {
  t.equal(cleanupIntervalSeconds(3_600_000, '*/5 * * * * *'), 5)
  t.equal(cleanupIntervalSeconds(3_600_000, '*/15 * * * *'), 900)
  t.equal(cleanupIntervalSeconds(3_600_000, '0 3,4 * * *'), 23 * 3600, 'the 23-hour gap, not the 1-hour one')
})

t.test('the app exports the cron gap as staging_cleanup_interval_seconds', async (t) => {
  const { app } = await buildTestApp(t, { STAGING_CLEANUP_CRON: '0 */2 * * *' })
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(sampleValue(text, 'staging_cleanup_interval_seconds'), 7200)
})
