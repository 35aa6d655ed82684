import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults follow API.md', async (t) => {
  const c = loadConfig({})
  t.equal(c.host, '127.0.0.1')
  t.equal(c.port, 8080)
  t.equal(c.baseDir, '/tmp/apex-staging')
  t.equal(c.failedRetentionMs, 24 * 3_600_000)
  t.equal(c.abandonedAfterMs, 72 * 3_600_000)
  t.equal(c.cleanupIntervalMs, 60 * 60_000)
  t.equal(c.maxTotalBytes, 10 * 1024 ** 3)
  t.equal(c.maxDocumentBytes, 1024 * 1024 ** 2)
  t.same(c.apiTokens, [])
  t.equal(c.upstreamTimeoutMs, 30000)
  t.equal(c.upstreamRetries, 3)
  t.equal(c.frontapp.baseUrl, 'https://api2.frontapp.com')
  t.equal(c.samsara.baseUrl, 'https://api.samsara.com')
  t.equal(c.turvo.baseUrl, 'https://publicapi.turvo.com/v1')
  t.equal(c.logLevel, 'info')
})

t.test('decimals, lists and tokens are parsed', async (t) => {
  const c = loadConfig({
    STAGING_FAILED_RETENTION_HOURS: '0.5',
    STAGING_CLEANUP_INTERVAL_MINUTES: '0.5',
    STAGING_MAX_SIZE_GB: '0.001',
    STAGING_API_TOKENS: 'ingest:ingest-secret-1, operator:operator-secret-2',
    STAGING_HTTP_ALLOW_HOSTS: 'Files.Example.com:8443, other.example',
    STAGING_CLEANUP_CRON: '*/10 * * * * *'
  })
  t.equal(c.failedRetentionMs, 1_800_000)
  t.equal(c.cleanupIntervalMs, 30_000)
  t.equal(c.maxTotalBytes, Math.floor(0.001 * 1024 ** 3))
  t.same(c.apiTokens, [
    { role: 'ingest', name: null, token: 'ingest-secret-1' },
    { role: 'operator', name: null, token: 'operator-secret-2' }
  ])
  t.same(c.httpAllowHosts, ['files.example.com:8443', 'other.example'])
  t.equal(c.cleanupCron, '*/10 * * * * *')
})

t.test('one error names every bad variable, and never echoes a token', async (t) => {
  const err = t.throws(() =>
    loadConfig({
      PORT: 'eighty',
      STAGING_MAX_SIZE_GB: '-1',
      STAGING_API_TOKENS: 'admin:super-secret-token',
      STAGING_CLEANUP_CRON: 'every minute',
      STAGING_AUTH_DISABLED: 'maybe',
      LOG_LEVEL: 'loud',
      STAGING_BASE_DIR: 'relative/dir'
    })
  ) as ConfigError
  t.ok(err instanceof ConfigError)
  for (const name of ['PORT', 'STAGING_MAX_SIZE_GB', 'STAGING_API_TOKENS', 'STAGING_CLEANUP_CRON', 'STAGING_AUTH_DISABLED', 'LOG_LEVEL', 'STAGING_BASE_DIR']) {
    t.match(err.message, name, `names ${name}`)
  }
  t.notMatch(err.message, 'super-secret-token')
})

t.test('without tokens, auth may be off only on loopback or on purpose', async (t) => {
  t.doesNotThrow(() => loadConfig({ HOST: '127.0.0.1' }))
  t.doesNotThrow(() => loadConfig({ HOST: '::1' }))
  t.doesNotThrow(() => loadConfig({ HOST: 'localhost' }))
  const err = t.throws(() => loadConfig({ HOST: '0.0.0.0' })) as ConfigError
  t.match(err.message, /STAGING_API_TOKENS.*STAGING_AUTH_DISABLED/)
  t.doesNotThrow(() => loadConfig({ HOST: '0.0.0.0', STAGING_AUTH_DISABLED: 'true' }))
  t.doesNotThrow(() => loadConfig({ HOST: '0.0.0.0', STAGING_API_TOKENS: 'operator:long-enough-token' }))
})

t.test('tokens may be named role:name:token (the name is for the logs); role:token still works', async (t) => {
  const c = loadConfig({ STAGING_API_TOKENS: 'ingest:pipeline-a:secret-aaaa-1,operator:oncall:abc:def:ghij,ingest:plain-secret-2' })
  t.same(c.apiTokens, [
    { role: 'ingest', name: 'pipeline-a', token: 'secret-aaaa-1' },
    { role: 'operator', name: 'oncall', token: 'abc:def:ghij' },
    { role: 'ingest', name: null, token: 'plain-secret-2' }
  ])
  const err = t.throws(() => loadConfig({ STAGING_API_TOKENS: 'ingest:name:short' })) as Error
  t.match(err.message, /STAGING_API_TOKENS/)
  t.notMatch(err.message, /short/, 'the token is not echoed')
})

t.test('the storage engine: local by default; shared needs a database and a bucket', async (t) => {
  t.same(loadConfig({}).storage, { engine: 'local', databaseUrl: '', s3: { bucket: '', endpoint: '', region: 'us-east-1', forcePathStyle: false } })
  const shared = loadConfig({
    STAGING_STORAGE: 'shared',
    DATABASE_URL: 'postgres://staging:pw@127.0.0.1:5432/staging',
    S3_BUCKET: 'staging-items',
    S3_ENDPOINT: 'http://127.0.0.1:9000',
    S3_FORCE_PATH_STYLE: 'true'
  })
  t.same(shared.storage, { engine: 'shared', databaseUrl: 'postgres://staging:pw@127.0.0.1:5432/staging', s3: { bucket: 'staging-items', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true } })
  const missing = t.throws(() => loadConfig({ STAGING_STORAGE: 'shared' })) as ConfigError
  t.match(missing.message, 'DATABASE_URL: required when STAGING_STORAGE=shared')
  t.match(missing.message, 'S3_BUCKET: required when STAGING_STORAGE=shared')
  const bad = t.throws(() => loadConfig({ STAGING_STORAGE: 'nfs', DATABASE_URL: 'mysql://u:hunter2@db/x', S3_BUCKET: 'A_B', S3_ENDPOINT: 'ftp://x' })) as ConfigError
  for (const name of ['STAGING_STORAGE', 'DATABASE_URL', 'S3_BUCKET', 'S3_ENDPOINT']) t.match(bad.message, name, `names ${name}`)
  t.notMatch(bad.message, 'hunter2', 'the database password is never echoed')
})

t.test('the event feed: sizes and retention, and push needs a URL with a Standard Webhooks secret', async (t) => {
  const defaults = loadConfig({})
  t.same(defaults.events, { segmentBytes: 16 * 1024 ** 2, maxBytes: 1024 ** 3, maxAgeMs: 168 * 3_600_000, pushUrl: '', secret: '' })
  const secret = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`
  const set = loadConfig({ STAGING_EVENTS_SEGMENT_MB: '0.5', STAGING_EVENTS_MAX_MB: '64', STAGING_EVENTS_RETENTION_HOURS: '1.5', STAGING_EVENTS_URL: 'https://hooks.example/staging', STAGING_EVENTS_SECRET: secret })
  t.same(set.events, { segmentBytes: 512 * 1024, maxBytes: 64 * 1024 ** 2, maxAgeMs: 5_400_000, pushUrl: 'https://hooks.example/staging', secret })
  const bad = t.throws(() => loadConfig({ STAGING_EVENTS_SEGMENT_MB: '0', STAGING_EVENTS_MAX_MB: 'x', STAGING_EVENTS_RETENTION_HOURS: '-1', STAGING_EVENTS_URL: 'ftp://x/y', STAGING_EVENTS_SECRET: 'not-a-secret-hunter2' })) as ConfigError
  for (const name of ['STAGING_EVENTS_SEGMENT_MB', 'STAGING_EVENTS_MAX_MB', 'STAGING_EVENTS_RETENTION_HOURS', 'STAGING_EVENTS_URL', 'STAGING_EVENTS_SECRET']) t.match(bad.message, name, `names ${name}`)
  t.notMatch(bad.message, 'hunter2', 'the secret is not echoed')
})

t.test('STAGING_DIRECT_WRITES: auto by default; true and false (and their spellings) force one way; anything else is refused', async (t) => {
  t.equal(loadConfig({}).directWrites, 'auto')
  for (const [value, mode] of [['auto', 'auto'], [' AUTO ', 'auto'], ['true', 'always'], ['yes', 'always'], ['1', 'always'], ['false', 'never'], ['no', 'never'], ['0', 'never']]) {
    t.equal(loadConfig({ STAGING_DIRECT_WRITES: value }).directWrites, mode, `${JSON.stringify(value)} is ${mode}`)
  }
  const err = t.throws(() => loadConfig({ STAGING_DIRECT_WRITES: 'sometimes' })) as ConfigError
  t.match(err.message, /STAGING_DIRECT_WRITES.*must be auto, true or false/)
})
