// `npm run bench side-by-side`: the shared side-by-side benchmark (shared/perf/run.mjs, beside the
// repository in CI clones) against nginx, @tus/server, curl, rm -rf and dd, in one run; its summary
// table is printed as is. Installs what it needs (Debian's nginx-light and wrk) when missing.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const CASES = ['small', 'upload', 'pull', 'cleanup', 'stats', 'disk']

/** shared/ sits beside the repository (CI clones); a worktree one level deeper also finds it. */
function findRunner(): string {
  const candidates = [process.env.STAGING_PERF_RUN, join(repo, '../shared/perf/run.mjs'), join(repo, '../../shared/perf/run.mjs')]
  const found = candidates.find((p): p is string => !!p && existsSync(p))
  if (!found) throw new Error(`shared/perf/run.mjs not found (looked at ${candidates.filter(Boolean).join(', ')}); set STAGING_PERF_RUN`)
  return found
}

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function ensureTools(): void {
  if (has('nginx') && has('wrk')) return
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n']
  const run = (args: string[]) => execFileSync(sudo[0] ?? args[0]!, [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  console.error('installing nginx-light and wrk (apt-get)')
  run(['apt-get', 'update', '-qq'])
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'nginx-light', 'wrk'])
}

export async function sideBySide(cases = CASES): Promise<void> {
  ensureTools()
  const runner = findRunner()
  const args = [runner, '--project', repo, ...cases.flatMap((c) => ['--case', c])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    out += chunk
    process.stderr.write(chunk)
  })
  const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? 1)))
  const summary = out.slice(out.indexOf('## Summary'))
  console.log(out.split('\n').filter((l) => l.startsWith('# ')).join('\n'))
  console.log(`load average at the end ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`)
  console.log(summary.startsWith('## Summary') ? summary : out)
  if (code !== 0) throw new Error(`${runner} exited ${code}`)
}
