// Runs the apex-staging CLI as a child process (`node --import tsx src/cli.ts`) against a real server on port 0.
import { execFile } from 'node:child_process'
import { buildTestApp } from '../helper.js'

export const CLI_ENTRY = new URL('../../src/cli.ts', import.meta.url).pathname
export const INGEST = 'ingest-cli-token-1'
export const OPERATOR = 'operator-cli-token-2'

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

export async function server(t: Parameters<typeof buildTestApp>[0]) {
  const built = await buildTestApp(t, { STAGING_API_TOKENS: `ingest:${INGEST},operator:${OPERATOR}`, STAGING_FAILED_RETENTION_HOURS: '1' })
  await built.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = built.app.server.address() as { port: number }
  const as = (token: string) => ({ STAGING_URL: `http://127.0.0.1:${port}`, STAGING_TOKEN: token })
  return { ...built, as }
}

