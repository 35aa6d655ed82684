// docker-compose.yml works as written: nothing required to run `ps`/`logs`/`down`, every setting in
// .env.example and passed to the service, Alertmanager wired to Prometheus. No Docker engine runs in
// CI, so the file is checked structurally; `docker compose config` runs too where the plugin exists.
import { execFile } from 'node:child_process'
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { clientEnvSchema, envSchema } from '../../src/config.js'
import { REPO_ROOT } from '../prometheus/binaries.js'

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  depends_on?: string[]
}

const read = (path: string) => readFile(join(REPO_ROOT, path), 'utf8')
const composeText = await read('docker-compose.yml')
const compose = parse(composeText) as { services: Record<string, Service>; volumes: Record<string, unknown> }
const envExample = await read('.env.example')
const exampleKeys = new Set([...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string))
/** Fixed inside the container: the port mapping and the data volume depend on them. */
const FIXED_IN_CONTAINER = ['HOST', 'PORT', 'STAGING_BASE_DIR']

t.test('no variable is required: a fresh shell can run docker compose ps, logs and down', async (t) => {
  t.notMatch(composeText, /\$\{[A-Z0-9_]+:?\?/, 'no ${VAR:?} or ${VAR?}')
  // `$$VAR` is compose's escape for a literal `$` (a shell variable inside the container), not interpolation.
  t.notMatch(composeText, /(?<!\$)\$[A-Z_]/, 'only ${VAR:-default} forms')
})

t.test('.env.example lists every setting of src/config.ts, the CLI\'s and the ones compose reads', async (t) => {
  for (const key of [...Object.keys(envSchema.shape), ...Object.keys(clientEnvSchema.shape)]) t.ok(exampleKeys.has(key), `${key} in .env.example`)
  const referenced = [...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string)
  for (const key of new Set(referenced)) t.ok(exampleKeys.has(key), `${key} (used by docker-compose.yml) in .env.example`)
})

t.test('every service setting is passed through to the container', async (t) => {
  const env = compose.services.staging?.environment ?? {}
  for (const key of Object.keys(envSchema.shape)) {
    if (FIXED_IN_CONTAINER.includes(key)) {
      t.ok(env[key], `${key} is fixed`)
      continue
    }
    t.match(env[key], new RegExp(`^\\$\\{${key}:-[^}]*\\}$`), `${key} is passed from the shell or .env`)
  }
  t.equal(env.HOST, '0.0.0.0')
  t.equal(env.PORT, '8080')
  t.ok(compose.services.staging?.volumes?.includes(`staging-data:${env.STAGING_BASE_DIR}`), 'the tree is a volume')
})

t.test('Alertmanager receives the alerts of the shipped rules', async (t) => {
  const am = compose.services.alertmanager
  t.ok(am, 'an alertmanager service')
  const configArg = am?.command?.find((c) => c.startsWith('--config.file='))?.split('=')[1]
  t.ok(am?.volumes?.includes(`./alertmanager/alertmanager.yml:${configArg}:ro`), 'its config file is the shipped one')
  await access(join(REPO_ROOT, 'alertmanager/alertmanager.yml'))
  const prom = parse(await read('prometheus/prometheus.yml')) as {
    rule_files: string[]
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] }
    global: { external_labels: Record<string, string> }
  }
  t.same(prom.alerting.alertmanagers[0]?.static_configs[0]?.targets, ['alertmanager:9093'], 'Prometheus sends to the compose alertmanager')
  t.ok(am?.ports?.some((p) => p.endsWith(':9093')), 'on the port it listens on')
  t.ok(compose.services.prometheus?.depends_on?.includes('alertmanager'))
  t.same(prom.rule_files, ['alerts.yml'])
  const routes = parse(await read('alertmanager/alertmanager.yml')) as { route: { receiver: string }; receivers: { name: string }[] }
  t.ok(routes.receivers.some((r) => r.name === routes.route.receiver), 'the default route has a receiver')
})

t.test('runbook links are absolute, from RUNBOOK_BASE_URL', async (t) => {
  const prometheus = compose.services.prometheus
  t.ok(prometheus?.command?.includes('--enable-feature=expand-external-labels'))
  t.equal(prometheus?.environment?.RUNBOOK_BASE_URL, '${RUNBOOK_BASE_URL:-}')
  const prom = parse(await read('prometheus/prometheus.yml')) as { global: { external_labels: Record<string, string> } }
  t.equal(prom.global.external_labels.runbook_base_url, '${RUNBOOK_BASE_URL}')
  for (const m of (await read('prometheus/alerts.yml')).matchAll(/runbook_url: (.*)/g)) {
    t.match(m[1], /^'\{\{ or \$externalLabels\.runbook_base_url "https:\/\/[^"]+" \}\}#[a-z]+'$/, 'base URL or an absolute default, then the anchor')
  }
})

t.test('every port is bound to loopback and every named volume is declared', async (t) => {
  for (const [name, service] of Object.entries(compose.services)) {
    for (const port of service.ports ?? []) t.match(port, /^127\.0\.0\.1:/, `${name} ${port}`)
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0] as string
      if (!source.startsWith('.')) t.ok(source in compose.volumes, `${name}: volume ${source} declared`)
      else await access(join(REPO_ROOT, source))
    }
  }
})

t.test('docker compose config accepts the file (where the compose plugin is installed)', async (t) => {
  const run = promisify(execFile)
  const available = await run('docker', ['compose', 'version']).then(() => true, () => false)
  if (!available) {
    t.pass('skipped: the docker compose plugin is not installed here', { skip: 'no docker compose plugin' })
    return
  }
  const { stdout } = await run('docker', ['compose', '--env-file', '/dev/null', 'config', '--services'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' } })
  t.same(stdout.trim().split('\n').sort(), Object.keys(compose.services).sort())
})
