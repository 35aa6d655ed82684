// Finds Prometheus's binaries for the tests; a missing binary fails in CI and skips, saying so, elsewhere.
import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'

export const REPO_ROOT = new URL('../../', import.meta.url).pathname

export async function findBinary(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name)
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return null
}

/** The binary's path, or null after failing (CI) or skipping (locally) the test with the reason. */
export async function requireBinary(t: Test, name: string): Promise<string | null> {
  const found = await findBinary(name)
  if (found) return found
  const why = `${name} not found on PATH; install Debian's "prometheus" and "prometheus-alertmanager" packages (apt-get install -y prometheus prometheus-alertmanager), as .ci/run does`
  // .ci/run sets STAGING_REQUIRE_PROMETHEUS; CI=true counts too.
  const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
  if (process.env.STAGING_REQUIRE_PROMETHEUS || inCi) t.fail(why)
  else t.pass(`skipped: ${why}`, { skip: why })
  return null
}

export interface RunResult {
  code: number
  output: string
}

export async function run(binary: string, args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(binary, args, { cwd: REPO_ROOT, timeout: 60_000 })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string }
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message }
  }
}
