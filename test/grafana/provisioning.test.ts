// The dashboard shows the Staging Lifecycle, and the compose file, Prometheus config and Grafana
// provisioning agree on names, paths and ports (compose itself cannot run here: no Docker engine).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { REPO_ROOT } from '../prometheus/binaries.js'

const read = async (path: string) => readFile(join(REPO_ROOT, path), 'utf8')
const yamlOf = async <T>(path: string) => parse(await read(path)) as T

interface Override {
  matcher: { id: string; options: string }
  properties: { id: string; value: unknown }[]
}

interface Panel {
  type: string
  title: string
  targets?: { expr: string; refId: string }[]
  fieldConfig?: { defaults: { unit?: string; custom?: Record<string, unknown> }; overrides: Override[] }
}

t.test('the dashboard has a Staging Lifecycle row with the operator panels', async (t) => {
  const dashboard = JSON.parse(await read('grafana/dashboards/apex-staging.json')) as { panels: Panel[] }
  t.ok(dashboard.panels.some((p) => p.type === 'row' && p.title === 'Staging Lifecycle'))
  const exprsOf = (p: Panel) => (p.targets ?? []).map((x) => x.expr).join('\n')
  const panelWith = (...needles: string[]) => dashboard.panels.find((p) => needles.every((n) => exprsOf(p).includes(n)))
  t.ok(panelWith('sum by (source) (staging_disk_usage_bytes', 'staging_quota_bytes'), 'disk usage by source against the quota')
  t.ok(panelWith('sum by (status) (staging_documents_by_status'), 'items by status')
  t.ok(panelWith('staging_cleanup_runs_total', 'staging_items_removed_total'), 'cleanup runs and removals')
  t.ok(panelWith('staging_bytes_written_total'), 'bytes written')
  t.ok(panelWith('structured_data_fetched_total'), 'structured fetches')
  t.ok(panelWith('staging_upstream_requests_total{', 'outcome=~"server_error|timeout|network_error|rate_limited"'), 'upstream errors')
  t.ok(panelWith('histogram_quantile(0.5,', 'histogram_quantile(0.99,', 'http_request_duration_seconds_bucket'), 'request latency p50/p99')
  t.ok(panelWith('staging_events_pending{'), 'event push: pending events')
  t.ok(panelWith('staging_events_delivered_total{', 'staging_event_delivery_failures_total{'), 'event push: deliveries and failures')
})

t.test('the upstream errors panel keeps rates and ratios on separate axes', async (t) => {
  const dashboard = JSON.parse(await read('grafana/dashboards/apex-staging.json')) as { panels: Panel[] }
  const panel = dashboard.panels.find((p) => p.title === 'Upstream errors')
  const ratio = panel?.targets?.find((x) => x.expr.includes(') / sum by'))
  const rates = panel?.targets?.filter((x) => x !== ratio) ?? []
  t.ok(ratio, 'the panel has a ratio query')
  t.ok(rates.length > 0, 'and rate queries')
  t.equal(panel?.fieldConfig?.defaults.unit, 'reqps', 'rates: requests per second')
  t.not(panel?.fieldConfig?.defaults.custom?.axisPlacement, 'right')
  const override = panel?.fieldConfig?.overrides.find((o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === ratio?.refId)
  const prop = (id: string) => override?.properties.find((p) => p.id === id)?.value
  t.equal(prop('unit'), 'percentunit', 'the ratio is a percentage')
  t.equal(prop('custom.axisPlacement'), 'right', 'on its own axis')
  t.equal(prop('max'), 1)
  t.notOk(panel?.fieldConfig?.overrides.some((o) => rates.some((r) => r.refId === o.matcher.options)), 'no rate query is moved to the ratio axis')
})

t.test('Grafana provisioning points at the compose Prometheus and the mounted dashboards', async (t) => {
  const ds = await yamlOf<{ datasources: { uid: string; url: string; type: string }[] }>('grafana/provisioning/datasources/prometheus.yml')
  const dashboard = JSON.parse(await read('grafana/dashboards/apex-staging.json')) as {
    templating: { list: { name: string; current?: { value: string } }[] }
  }
  const dsVar = dashboard.templating.list.find((v) => v.name === 'datasource')
  t.equal(ds.datasources[0]?.type, 'prometheus')
  t.equal(dsVar?.current?.value, ds.datasources[0]?.uid, 'the dashboard defaults to the provisioned datasource')

  const compose = await yamlOf<{ services: Record<string, { volumes?: string[]; ports?: string[]; build?: unknown; environment?: Record<string, string>; profiles?: string[] }> }>(
    'docker-compose.yml'
  )
  const defaultServices = Object.entries(compose.services).filter(([, s]) => !s.profiles).map(([name]) => name)
  t.same(defaultServices.sort(), ['alertmanager', 'grafana', 'prometheus', 'staging'], 'the default stack (the shared profile adds the replicas)')
  t.equal(ds.datasources[0]?.url, 'http://prometheus:9090')
  const providers = await yamlOf<{ providers: { options: { path: string } }[] }>('grafana/provisioning/dashboards/apex-staging.yml')
  const grafanaVolumes = compose.services.grafana?.volumes ?? []
  t.ok(grafanaVolumes.includes(`./grafana/dashboards:${providers.providers[0]?.options.path}:ro`), 'dashboards mounted where the provider reads')
  t.ok(grafanaVolumes.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'))

  const promVolumes = compose.services.prometheus?.volumes ?? []
  t.ok(promVolumes.includes('./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro'))
  t.ok(promVolumes.includes('./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro'), 'rules sit next to the config, as rule_files expects')
})

t.test('Prometheus scrapes the compose service under the job name the alerts select', async (t) => {
  const prom = await yamlOf<{ rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(
    'prometheus/prometheus.yml'
  )
  t.same(prom.rule_files, ['alerts.yml'])
  const job = prom.scrape_configs.find((s) => s.job_name === 'apex-staging')
  t.same(job?.static_configs[0]?.targets, ['staging:8080'])
  const compose = await yamlOf<{ services: { staging: { environment: Record<string, string> } } }>('docker-compose.yml')
  t.equal(compose.services.staging.environment.PORT, '8080')
  t.match(await read('prometheus/alerts.yml'), /up\{job="apex-staging"\} == 0/)
})
