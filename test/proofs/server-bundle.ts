// The service entry bundled once per test process (esbuild, packages left external), so that tests
// which start and kill many server processes do not pay TypeScript start-up for each one.
import type { ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { buildSync } from 'esbuild'
import { spawnNode } from '../child-process.js'

const root = new URL('../../', import.meta.url).pathname
let bundled: string | null = null

function bundle(): string {
  if (bundled) return bundled
  const dir = `${root}node_modules/.cache/apex-staging-test`
  mkdirSync(dir, { recursive: true })
  const outfile = `${dir}/server-${process.pid}.mjs`
  buildSync({ entryPoints: [`${root}src/server.ts`], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' })
  bundled = outfile
  return outfile
}

export function startServer(env: Record<string, string>): ChildProcess {
  return spawnNode([bundle()], { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env })
}

export async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('the server did not start')
}
