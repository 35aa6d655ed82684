// The first thing an operator reads: one start-up line with the effective settings, and no secret anywhere.
import { spawn } from 'node:child_process'
import t from 'tap'
import { PACKAGE_VERSION } from '../../src/version.js'
import { freePort, tempDir } from '../helper.js'

const entry = new URL('../../src/server.ts', import.meta.url).pathname

const SECRETS = {
  STAGING_API_TOKENS: 'ingest:pipeline-a:tok-ingest-1111,operator:tok-operator-2222',
  STAGING_METRICS_TOKEN: 'tok-metrics-3333',
  FRONTAPP_API_TOKEN: 'tok-front-4444',
  FRONTAPP_API_SECRET: 'tok-rule-5555',
  FRONTAPP_APP_SECRET: 'tok-app-6666',
  SAMSARA_API_TOKEN: 'tok-samsara-7777',
  TURVO_API_TOKEN: 'tok-turvo-8888',
  TURVO_API_KEY: 'tok-turvokey-9999'
}

t.test('one start-up line with the settings that matter; secrets never', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'info',
      STAGING_BASE_DIR: dir,
      PORT: String(port),
      STAGING_MAX_SIZE_GB: '2',
      STAGING_MAX_DOCUMENT_MB: '16',
      STAGING_CLEANUP_CRON: '0 */5 * * * *',
      STAGING_HTTP_ALLOW_HOSTS: 'files.internal:8443',
      SAMSARA_BASE_URL: 'https://user:pass-in-url@samsara.example',
      ...SECRETS
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  for (let i = 0; i < 300 && !out.includes('apex-staging started'); i++) await new Promise((r) => setTimeout(r, 100))
  const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
  const started = lines.filter((l) => l.msg === 'apex-staging started')
  t.equal(started.length, 1, 'exactly one start-up line')
  t.match(started[0], {
    address: `http://127.0.0.1:${port}`,
    settings: {
      version: PACKAGE_VERSION,
      auth: { enabled: true, tokens_by_role: { ingest: 1, operator: 1 }, token_names: ['ingest:pipeline-a'], metrics_token: true },
      storage: { engine: 'local', base_dir: dir, direct_writes: 'auto' },
      quota_bytes: 2 * 1024 ** 3,
      max_document_bytes: 16 * 1024 ** 2,
      cleanup_schedule: { cron: '0 */5 * * * *' },
      http_allow_hosts: ['files.internal:8443'],
      frontapp: { api_token: true, rule_webhook_secret: true, app_webhook_secret: true },
      samsara: { base_url: 'https://samsara.example', api_token: true },
      turvo: { api_token: true, api_key: true }
    }
  })
  for (const [name, secret] of Object.entries({ ...SECRETS, URL_PASSWORD: 'pass-in-url' })) {
    for (const piece of secret.split(/[,:]/).filter((p) => p.startsWith('tok-') || p === 'pass-in-url')) {
      t.notOk(out.includes(piece) || err.includes(piece), `${name} is not in the output`)
    }
  }
})
