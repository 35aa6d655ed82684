// Every metric name used by the dashboards and the alert rules is one the running service exports.
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'
import { REPO_ROOT } from '../prometheus/binaries.js'
import { exportedNames } from './prom-text.js'
import { dashboardExpressions, dashboardFiles, metricNames, ruleExpressions } from './promql-names.js'

/** Series Prometheus itself adds to every scrape target. */
const PROMETHEUS_SYNTHETIC = new Set(['up'])

t.test('metricNames finds selectors and ignores functions, labels, keywords and durations', async (t) => {
  t.same(
    metricNames('histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="$job", route=~"a|b"}[$__rate_interval])))'),
    ['http_request_duration_seconds_bucket']
  )
  t.same(
    metricNames('time() - max by (job) ((a_seconds > 0) or on(job) b_seconds offset 5m) > 2 * max without (x) (c_seconds) and bool 1e3'),
    ['a_seconds', 'b_seconds', 'c_seconds']
  )
  t.same(metricNames('label_values(staging_quota_bytes{job="$job"}, instance)'), ['staging_quota_bytes'])
  t.same(metricNames('sum(x_total{outcome!="ok"}) / sum(rate(y_total[5m]))'), ['x_total', 'y_total'])
})

t.test('dashboards and rules use only metric names the service exports', async (t) => {
  const { app } = await buildTestApp(t)
  await upload(app, 'DOC-1', 'abc')
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const exported = exportedNames(text)
  t.ok(exported.has('http_request_duration_seconds_bucket'), 'histogram series names are derived')

  const sources: { file: string; exprs: string[] }[] = [
    { file: join(REPO_ROOT, 'prometheus/alerts.yml'), exprs: await ruleExpressions(join(REPO_ROOT, 'prometheus/alerts.yml')) }
  ]
  const dashboards = await dashboardFiles(join(REPO_ROOT, 'grafana'))
  t.ok(dashboards.length >= 1, 'at least one dashboard')
  for (const file of dashboards) sources.push({ file, exprs: dashboardExpressions(JSON.parse(await readFile(file, 'utf8'))) })

  let checked = 0
  for (const { file, exprs } of sources) {
    t.ok(exprs.length >= 5, `${relative(REPO_ROOT, file)} has expressions (${exprs.length})`)
    for (const expr of exprs) {
      const names = metricNames(expr)
      t.ok(names.length > 0, `a metric in: ${expr}`)
      for (const name of names) {
        checked++
        if (!exported.has(name) && !PROMETHEUS_SYNTHETIC.has(name)) t.fail(`${relative(REPO_ROOT, file)} uses ${name}, which /metrics does not export: ${expr}`)
      }
    }
  }
  t.ok(checked > 20, `${checked} metric references checked`)
})
