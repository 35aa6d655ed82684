// Start-up with N staged items, as the production process (`node dist/server.js`) to GET /readyz 200:
// first over a tree it has never seen (every item's metadata is read), then after a clean stop (the
// index snapshot is read), then after a kill -9 of a process started from the snapshot (the tree again).
// Usage: npm run bench restart  (BENCH_ITEMS, default 100000)
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { freePort } from '../test/helper.js'
import { memoryOf } from './process-memory.js'
import { seed } from './stats-scaling.js'

async function start(baseDir: string): Promise<{ child: ChildProcess; readyMs: number }> {
  const port = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, ['dist/server.js'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), STAGING_BASE_DIR: baseDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)
    if (ok) return { child, readyMs: performance.now() - t0 }
    await new Promise((r) => setTimeout(r, 5))
  }
}

const stop = (child: ChildProcess, signal: NodeJS.Signals) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill(signal)
  })

export async function restart(count = Number(process.env.BENCH_ITEMS ?? 100_000)): Promise<void> {
  const baseDir = await mkdtemp(join(tmpdir(), 'bench-restart-'))
  try {
    await seed(baseDir, count)
    const runs: [string, NodeJS.Signals][] = [
      ['a tree it has never seen', 'SIGTERM'],
      ['after a clean stop (snapshot)', 'SIGTERM'],
      ['after a clean stop (snapshot), then killed', 'SIGKILL'],
      ['after a kill -9 (tree)', 'SIGTERM']
    ]
    for (const [what, then] of runs) {
      const { child, readyMs } = await start(baseDir)
      console.log(`${count} items, ${what}: ready in ${readyMs.toFixed(0)} ms, peak RSS ${(memoryOf(child.pid!).hwm / 1024 / 1024).toFixed(0)} MiB`)
      await stop(child, then)
    }
  } finally {
    await rm(baseDir, { recursive: true, force: true })
  }
}
