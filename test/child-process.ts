// Service processes that tests start: their stderr is forwarded through a pipe of this test process
// (never inherited, so a survivor cannot hold the runner's output open), and any still running when
// this test process exits, whatever the reason, is killed.
import { spawn, type ChildProcess } from 'node:child_process'

const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Spawns `node args…` with `env`; stdout ignored, stderr forwarded. */
export function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  child.stderr?.pipe(process.stderr, { end: false })
  return child
}
