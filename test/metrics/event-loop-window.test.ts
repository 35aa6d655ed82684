import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { StagingMetrics } from '../../src/metrics/staging-metrics.js'
import { buildTestApp } from '../helper.js'
import { sampleValue } from './prom-text.js'

const LAG_NAMES = ['', '_min', '_max', '_mean', '_stddev', '_p50', '_p90', '_p99'].map((s) => `nodejs_eventloop_lag${s}_seconds`)

const lagValues = (text: string) => Object.fromEntries(LAG_NAMES.map((name) => [name, sampleValue(text, name)]))

t.test('the event-loop gauges are summarised once per window, not at each scrape', async (t) => {
  const metrics = new StagingMetrics({ eventLoopWindowMs: 100 })
  t.teardown(() => metrics.close())
  const before = lagValues(await metrics.registry.metrics())
  for (const name of LAG_NAMES) t.equal(before[name], 0, `${name} is 0 before the first window ends`)

  // Keep the loop a little busy so the window records delays.
  const busy = setInterval(() => {
    const until = Date.now() + 2
    while (Date.now() < until);
  }, 5)
  await sleep(350)
  clearInterval(busy)
  await metrics.registry.metrics()
  // prom-client's own summary resets the histogram at each scrape, so a scrape right after another
  // would read an empty one (min 9.2e9 s, p50 0); a window's summary is still whole.
  const first = lagValues(await metrics.registry.metrics())
  const p50 = first['nodejs_eventloop_lag_p50_seconds']!
  const min = first['nodejs_eventloop_lag_min_seconds']!
  const max = first['nodejs_eventloop_lag_max_seconds']!
  t.ok(p50 > 0 && p50 < 1, `p50 ${p50} s is a real delay`)
  t.ok(min <= p50 && p50 <= max, 'min <= p50 <= max')
  t.ok(first['nodejs_eventloop_lag_p99_seconds']! >= first['nodejs_eventloop_lag_p90_seconds']!, 'p99 >= p90')

  metrics.close()
  await sleep(0)
  const closed = lagValues(await metrics.registry.metrics())
  await sleep(250)
  t.same(lagValues(await metrics.registry.metrics()), closed, 'close stops the window timer')
})

t.test('/metrics carries all eight event-loop gauges', async (t) => {
  const { app } = await buildTestApp(t)
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  for (const name of LAG_NAMES) t.match(text, new RegExp(`^# HELP ${name} `, 'm'), name)
})
