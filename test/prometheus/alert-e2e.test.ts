// End to end: a real Prometheus scrapes a running service with a test copy of the shipped rules
// (only `for:` shortened) and StagingFailedDocumentsHigh fires through /api/v1/alerts.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { tempDir, upload } from '../helper.js'
import { dashboardExpressions } from '../metrics/promql-names.js'
import { REPO_ROOT, requireBinary } from './binaries.js'
import { startPrometheus, waitFor } from './prometheus-server.js'

const ALERT = 'StagingFailedDocumentsHigh'
const JOB = 'apex-staging'

interface Rule {
  alert?: string
  expr: string
  for?: string
}

interface AlertsResponse {
  data: { alerts: { labels: Record<string, string>; state: string; value: string }[] }
}

interface RulesResponse {
  data: { groups: { lastEvaluation: string; rules: { name: string; health: string; lastError?: string }[] }[] }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`${url}: ${res.status}`)
  return (await res.json()) as T
}

t.test(`${ALERT} fires in a real Prometheus once more than 10 items have failed`, async (t) => {
  const binary = await requireBinary(t, 'prometheus')
  if (!binary) return

  const baseDir = await tempDir(t, 'staging-e2e-')
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', STAGING_BASE_DIR: baseDir }), { logger: pino({ level: 'silent' }), schedule: false })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }

  const fail = async (id: string) => {
    t.equal((await upload(app, id, `bytes of ${id}`)).statusCode, 201)
    const res = await app.inject({ method: 'PATCH', url: `/v1/staging/local_upload/${id}`, payload: { status: 'failed', error: 'parser crashed' } })
    t.equal(res.statusCode, 200)
  }
  for (let i = 1; i <= 10; i++) await fail(`FAILED-${i}`)

  // The shipped rules, with only the waiting time shortened; the expressions are exactly those shipped.
  const promDir = await tempDir(t, 'prometheus-e2e-')
  const rules = parse(await readFile(join(REPO_ROOT, 'prometheus/alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === ALERT)
  t.ok(rule, `${ALERT} is in prometheus/alerts.yml`)
  if (!rule) return
  for (const r of rules.groups.flatMap((g) => g.rules)) if (r.for) r.for = r.alert === ALERT ? '2s' : '1h'
  const rulesFile = join(promDir, 'alerts.yml')
  await writeFile(rulesFile, stringify(rules))

  const prom = await startPrometheus({ binary, dir: promDir, target: `127.0.0.1:${port}`, jobName: JOB, rulesFile })
  t.teardown(() => prom.stop())
  const diagnose = (err: unknown) => {
    throw new Error(`${(err as Error).message}\n--- prometheus output ---\n${prom.output().slice(-4000)}`)
  }

  // With exactly 10 failed items Prometheus sees them, evaluates the rule, and nothing is pending or firing.
  await waitFor('Prometheus to scrape 10 failed items', 60_000, async () => {
    const q = await getJson<{ data: { result: { value: [number, string] }[] } }>(
      `${prom.url}/api/v1/query?query=${encodeURIComponent(`sum(staging_documents_by_status{job="${JOB}",status="failed"})`)}`
    )
    return q.data.result[0]?.value[1] === '10' ? true : undefined
  }).catch(diagnose)
  const seenAt = Date.now()
  await waitFor('two rule evaluations after that scrape', 30_000, async () => {
    const r = await getJson<RulesResponse>(`${prom.url}/api/v1/rules`)
    return r.data.groups.every((g) => Date.parse(g.lastEvaluation) > seenAt + 1000) ? true : undefined
  }).catch(diagnose)
  const before = await getJson<AlertsResponse>(`${prom.url}/api/v1/alerts`)
  t.same(before.data.alerts.filter((a) => a.labels.alertname === ALERT), [], 'not pending or firing at 10 failed items')

  await fail('FAILED-11')
  const firing = await waitFor(`${ALERT} to fire`, 60_000, async () => {
    const a = await getJson<AlertsResponse>(`${prom.url}/api/v1/alerts`)
    return a.data.alerts.find((x) => x.labels.alertname === ALERT && x.state === 'firing')
  }).catch(diagnose)
  t.match(firing.labels, { alertname: ALERT, job: JOB, instance: `127.0.0.1:${port}`, severity: 'warning' })
  t.equal(Number(firing.value), 11)

  const rulesNow = await getJson<RulesResponse>(`${prom.url}/api/v1/rules`)
  for (const r of rulesNow.data.groups.flatMap((g) => g.rules)) t.equal(r.health, 'ok', `${r.name} evaluates against the live series ${r.lastError ?? ''}`)

  // Every dashboard query, with Grafana's variables filled in, is PromQL that Prometheus accepts.
  const dashboard = JSON.parse(await readFile(join(REPO_ROOT, 'grafana/dashboards/apex-staging.json'), 'utf8'))
  for (const expr of dashboardExpressions(dashboard).filter((e) => !e.startsWith('label_values('))) {
    const query = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', JOB).replaceAll('$instance', '.*')
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`)
    t.equal(res.status, 200, `dashboard query is valid PromQL: ${expr} ${res.ok ? '' : await res.text()}`)
  }
})
