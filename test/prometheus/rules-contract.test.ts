// Every alert the issue asks for exists, carries a summary, a description and a README runbook,
// and has promtool unit tests that see it fire.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { REPO_ROOT } from './binaries.js'

const REQUIRED = ['StagingDiskUsageHigh', 'StagingFailedDocumentsHigh', 'StagingCleanupStalled', 'StagingUpstreamErrorsHigh', 'StagingServiceDown']

interface Rule {
  alert?: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[]
}

/** Where the README's runbook lives unless RUNBOOK_BASE_URL (compose) sets the runbook_base_url external label. */
const DEFAULT_RUNBOOK_BASE = 'https://github.com/apex-staging/apex-staging/blob/main/README.md'

t.test('each alert has a severity, a summary, a description, a README runbook and firing unit tests', async (t) => {
  const rules = (parse(await readFile(join(REPO_ROOT, 'prometheus/alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules)
  const tests = (parse(await readFile(join(REPO_ROOT, 'prometheus/alerts.test.yml'), 'utf8')) as { tests: RuleTest[] }).tests
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8')
  const alerts = rules.filter((r) => r.alert).map((r) => r.alert)
  for (const name of REQUIRED) t.ok(alerts.includes(name), `${name} is defined`)

  for (const rule of rules) {
    const name = rule.alert as string
    t.ok(rule.labels?.severity, `${name} has a severity`)
    t.ok(rule.annotations?.summary, `${name} has a summary`)
    t.ok(rule.annotations?.description, `${name} has a description`)
    t.equal(rule.annotations?.runbook_url, `{{ or $externalLabels.runbook_base_url "${DEFAULT_RUNBOOK_BASE}" }}#${name.toLowerCase()}`, `${name} links its runbook, absolute`)
    t.match(readme, new RegExp(`^#### ${name}$`, 'm'), `README has a runbook section for ${name}`)
    const cases = tests.flatMap((c) => c.alert_rule_test ?? []).filter((c) => c.alertname === name)
    t.ok(cases.some((c) => c.exp_alerts.length > 0), `${name} has a unit test where it fires`)
    t.ok(cases.some((c) => c.exp_alerts.length === 0), `${name} has a unit test where it does not`)
  }
  t.equal(rules.find((r) => r.alert === 'StagingDiskUsageHigh')?.for, '5m')
  t.equal(rules.find((r) => r.alert === 'StagingFailedDocumentsHigh')?.for, '10m')
})
