// promtool's own checks of the shipped Prometheus configuration, rules and rule unit tests.
import t from 'tap'
import { requireBinary, run } from './binaries.js'

t.test('promtool check config prometheus/prometheus.yml (which also checks the rule files)', async (t) => {
  const promtool = await requireBinary(t, 'promtool')
  if (!promtool) return
  const result = await run(promtool, ['check', 'config', 'prometheus/prometheus.yml'])
  t.equal(result.code, 0, result.output)
  t.match(result.output, /SUCCESS: 1 rule files found/)
})

t.test('promtool check rules prometheus/alerts.yml', async (t) => {
  const promtool = await requireBinary(t, 'promtool')
  if (!promtool) return
  const result = await run(promtool, ['check', 'rules', 'prometheus/alerts.yml'])
  t.equal(result.code, 0, result.output)
  t.match(result.output, /SUCCESS: 6 rules found/)
})

t.test('promtool test rules prometheus/alerts.test.yml', async (t) => {
  const promtool = await requireBinary(t, 'promtool')
  if (!promtool) return
  const result = await run(promtool, ['test', 'rules', 'prometheus/alerts.test.yml'])
  t.equal(result.code, 0, result.output)
  t.match(result.output, /SUCCESS/)
})

t.test('amtool check-config alertmanager/alertmanager.yml', async (t) => {
  const amtool = await requireBinary(t, 'amtool')
  if (!amtool) return
  const result = await run(amtool, ['check-config', 'alertmanager/alertmanager.yml'])
  t.equal(result.code, 0, result.output)
  t.match(result.output, /SUCCESS/)
})
