// Pulls PromQL out of the Grafana dashboards and the alert rules, and the metric names out of PromQL.
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan'])

/** Metric names an expression selects: identifiers that are not functions, keywords, labels or durations. */
export function metricNames(expr: string): string[] {
  let e = expr.replace(/\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}/g, '5m')
  const labelValues = /^\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*$/.exec(e)
  if (labelValues) e = labelValues[1] as string
  e = e
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const m of e.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)) {
    const name = m[1] as string
    if (!KEYWORDS.has(name.toLowerCase())) names.add(name)
  }
  return [...names]
}

/** Every `expr` of every rule in a Prometheus rule file. */
export async function ruleExpressions(file: string): Promise<string[]> {
  const doc = parse(await readFile(file, 'utf8')) as { groups: { rules: { expr: string }[] }[] }
  return doc.groups.flatMap((g) => g.rules.map((r) => String(r.expr)))
}

/** Every panel target `expr` and query-variable query in a Grafana dashboard JSON. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const found: string[] = []
  const walk = (node: unknown, key: string | null, parentIsTemplate: boolean) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, null, parentIsTemplate))
    if (node === null || typeof node !== 'object') {
      if (typeof node === 'string' && (key === 'expr' || (parentIsTemplate && key === 'query' && node.includes('(')))) found.push(node)
      return
    }
    const isTemplate = (node as { type?: unknown }).type === 'query' || parentIsTemplate
    for (const [k, v] of Object.entries(node)) walk(v, k, isTemplate && k !== 'targets')
  }
  walk(dashboard, null, false)
  return found
}

export async function dashboardFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => join(e.parentPath, e.name))
}
