// The running service's process events (src/process-events.ts), in a real child process: Node's
// warnings become JSON log lines instead of stderr text, and a crash is logged as one fatal line
// while Node's own handling (stack on stderr, exit code 1) stays as it was.
import { spawn } from 'node:child_process'
import t from 'tap'

const child = new URL('./fixtures/process-events-child.ts', import.meta.url).pathname

function run(mode: string): Promise<{ code: number | null; lines: Record<string, unknown>[]; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    proc.on('error', reject)
    proc.on('close', (code) => {
      clearTimeout(timer)
      const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
      resolve({ code, lines, stdout, stderr })
    })
  })
}

t.test('a process warning is one JSON line, and nothing on stderr', async (t) => {
  const { code, lines, stderr } = await run('end')
  t.equal(code, 0)
  t.match(lines, [{ level: 40, msg: 'process warning', warning_code: 'TEST_WARNING', err: { message: 'a warning from the test' } }])
  t.equal(stderr, '', "Node's own warning printer is gone")
})

for (const [mode, origin, message] of [
  ['throw', 'uncaughtException', 'thrown by the test'],
  ['reject', 'unhandledRejection', 'rejected by the test']
] as const) {
  t.test(`${origin}: one fatal JSON line, then Node's exit code and stack as before`, async (t) => {
    const { code, lines, stderr } = await run(mode)
    t.equal(code, 1, 'the process still ends with 1')
    // Found by level, not by position: one CI run saw the warning's line second (a run under load).
    const fatal = lines.filter((l) => l.level === 60)
    t.equal(fatal.length, 1, `one fatal line among ${JSON.stringify(lines.map((l) => [l.level, l.msg]))}`)
    t.match(fatal[0], { msg: 'the process is ending on an uncaught error', origin, err: { message } })
    t.ok(lines.some((l) => l.level === 40 && l.msg === 'process warning'), 'the warning before it is logged too')
    t.match(stderr, message, 'and Node still prints the error on stderr')
  })
}
