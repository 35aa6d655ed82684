// The only reader of process.env: one zod schema turns the environment into a typed Config.
import { isIP } from 'node:net'
import cron from 'node-cron'
import { z } from 'zod'
import { DEFAULT_BASE_DIR } from './local-tree-dir.js'
import { STORAGE_ENGINES } from './staging/engine.js'
import type { DirectWrites } from './staging/large-body-constants.js'

const ROLES = ['ingest', 'operator'] as const
export type Role = (typeof ROLES)[number]

const text = (fallback: string) => z.string().trim().default(fallback)
const decimal = (fallback: number, min = 0) =>
  z
    .string()
    .trim()
    .default(String(fallback))
    .pipe(z.coerce.number<string>({ error: 'must be a number' }).min(min, { error: `must be at least ${min}` }))
const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .default(String(fallback))
    .pipe(
      z.coerce
        .number<string>({ error: 'must be a number' })
        .int({ error: 'must be a whole number' })
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` })
    )
/** How a boolean setting may be spelled (lower-cased), yes and no. */
const TRUE_WORDS = ['true', '1', 'yes']
const FALSE_WORDS = ['false', '0', 'no']
const boolean = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .default(String(fallback))
    .refine((v) => TRUE_WORDS.includes(v) || FALSE_WORDS.includes(v), { error: 'must be true or false' })
    .transform((v) => TRUE_WORDS.includes(v))
const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
  )
const origin = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { error: 'must be an http(s) URL' })
    .transform((v) => v.replace(/\/+$/, ''))

const TOKEN_NAME = /^[A-Za-z0-9._-]{1,64}$/

/** `role:token` or `role:name:token`; the name (for the logs) may not hold a colon, the token after it may. */
const tokens = list.transform((pairs, ctx) => {
  const out: { role: Role; name: string | null; token: string }[] = []
  for (const pair of pairs) {
    const at = pair.indexOf(':')
    const role = pair.slice(0, at)
    let rest = pair.slice(at + 1)
    let name: string | null = null
    const second = rest.indexOf(':')
    if (second > 0 && TOKEN_NAME.test(rest.slice(0, second))) {
      name = rest.slice(0, second)
      rest = rest.slice(second + 1)
    }
    if (at < 1 || !ROLES.includes(role as Role) || rest.length < 8) {
      // Never echo the pair itself: it holds a secret.
      ctx.addIssue({
        code: 'custom',
        message: 'every entry must be role:token or role:name:token with role ingest or operator, a name of A-Z a-z 0-9 . _ - and a token of at least 8 characters'
      })
      return z.NEVER
    }
    out.push({ role: role as Role, name, token: rest })
  }
  return out
})

const cronExpression = z
  .string()
  .trim()
  .default('')
  .refine((v) => v === '' || cron.validate(v), { error: 'must be a valid cron expression (5 or 6 fields)' })

/** Environment variable names mapped to their schema; the keys are the names API.md documents. */
export const envSchema = z.object({
  HOST: text('127.0.0.1'),
  PORT: integer(8080, 0, 65535),
  STAGING_BASE_DIR: text(DEFAULT_BASE_DIR).refine((v) => v.startsWith('/'), { error: 'must be an absolute path' }),
  STAGING_FAILED_RETENTION_HOURS: decimal(24),
  STAGING_ABANDONED_AFTER_HOURS: decimal(72),
  STAGING_CLEANUP_INTERVAL_MINUTES: decimal(60).refine((v) => v >= 1 / 60, { error: 'must be at least one second (0.0167)' }),
  STAGING_CLEANUP_CRON: cronExpression,
  STAGING_MAX_SIZE_GB: decimal(10).refine((v) => v > 0, { error: 'must be greater than 0' }),
  STAGING_MAX_DOCUMENT_MB: decimal(1024).refine((v) => v > 0, { error: 'must be greater than 0' }),
  STAGING_API_TOKENS: tokens,
  STAGING_AUTH_DISABLED: boolean(false),
  STAGING_METRICS_TOKEN: z.string().default(''),
  STAGING_HTTP_ALLOW_HOSTS: list,
  STAGING_LOCAL_IMPORT_DIR: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || v.startsWith('/'), { error: 'must be an absolute path' }),
  STAGING_UPSTREAM_TIMEOUT_MS: integer(30000, 100, 3_600_000),
  STAGING_UPSTREAM_RETRIES: integer(3, 0, 10),
  STAGING_SHUTDOWN_TIMEOUT_MS: integer(10000, 0, 600_000),
  STAGING_WEBHOOK_MAX_KB: integer(1024, 1, 65536),
  STAGING_HEADERS_TIMEOUT_MS: integer(10_000, 100, 600_000),
  STAGING_REQUEST_TIMEOUT_MS: integer(3_600_000, 0, 86_400_000),
  STAGING_KEEPALIVE_TIMEOUT_MS: integer(10_000, 100, 600_000),
  STAGING_BODY_IDLE_TIMEOUT_MS: integer(30_000, 100, 3_600_000),
  STAGING_BODY_MIN_RATE_BPS: integer(1024, 0, 1_073_741_824),
  STAGING_DRAIN_MAX_KB: integer(8192, 0, 1_048_576),
  STAGING_DRAIN_TIMEOUT_MS: integer(5000, 0, 600_000),
  STAGING_DIRECT_WRITES: z
    .string()
    .trim()
    .toLowerCase()
    .default('auto')
    .refine((v) => v === 'auto' || TRUE_WORDS.includes(v) || FALSE_WORDS.includes(v), { error: 'must be auto, true or false' })
    .transform((v): DirectWrites => (v === 'auto' ? 'auto' : TRUE_WORDS.includes(v) ? 'always' : 'never')),
  FRONTAPP_BASE_URL: origin('https://api2.frontapp.com'),
  FRONTAPP_API_TOKEN: z.string().default(''),
  FRONTAPP_API_SECRET: z.string().default(''),
  FRONTAPP_APP_SECRET: z.string().default(''),
  SAMSARA_BASE_URL: origin('https://api.samsara.com'),
  SAMSARA_API_TOKEN: z.string().default(''),
  TURVO_BASE_URL: origin('https://publicapi.turvo.com/v1'),
  TURVO_API_TOKEN: z.string().default(''),
  TURVO_API_KEY: z.string().default(''),
  STAGING_STORAGE: z.enum(STORAGE_ENGINES).default('local'),
  DATABASE_URL: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || (URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol)), { error: 'must be a postgres:// or postgresql:// URL' }),
  S3_BUCKET: text('').refine((v) => v === '' || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), { error: 'must be a valid S3 bucket name' }),
  S3_ENDPOINT: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)), { error: 'must be an http(s) URL' }),
  S3_REGION: text('us-east-1'),
  S3_FORCE_PATH_STYLE: boolean(false),
  STAGING_EVENTS_SEGMENT_MB: decimal(16).refine((v) => v > 0, { error: 'must be greater than 0' }),
  STAGING_EVENTS_MAX_MB: decimal(1024).refine((v) => v > 0, { error: 'must be greater than 0' }),
  STAGING_EVENTS_RETENTION_HOURS: decimal(168).refine((v) => v > 0, { error: 'must be greater than 0' }),
  STAGING_EVENTS_URL: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)), { error: 'must be an http(s) URL' }),
  // Never echoed in an error: it is a secret.
  STAGING_EVENTS_SECRET: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || /^(whsec_)?[A-Za-z0-9+/]{32,}={0,2}$/.test(v), { error: 'must be a Standard Webhooks secret: whsec_ followed by base64 of at least 24 random bytes' }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
})

const GB = 1024 ** 3
const MB = 1024 ** 2

function toConfig(env: z.infer<typeof envSchema>) {
  return {
    host: env.HOST,
    port: env.PORT,
    baseDir: env.STAGING_BASE_DIR,
    failedRetentionMs: env.STAGING_FAILED_RETENTION_HOURS * 3_600_000,
    abandonedAfterMs: env.STAGING_ABANDONED_AFTER_HOURS * 3_600_000,
    cleanupIntervalMs: Math.round(env.STAGING_CLEANUP_INTERVAL_MINUTES * 60_000),
    cleanupCron: env.STAGING_CLEANUP_CRON,
    maxTotalBytes: Math.floor(env.STAGING_MAX_SIZE_GB * GB),
    maxDocumentBytes: Math.floor(env.STAGING_MAX_DOCUMENT_MB * MB),
    apiTokens: env.STAGING_API_TOKENS,
    authDisabled: env.STAGING_AUTH_DISABLED,
    metricsToken: env.STAGING_METRICS_TOKEN,
    httpAllowHosts: env.STAGING_HTTP_ALLOW_HOSTS.map((h) => h.toLowerCase()),
    localImportDir: env.STAGING_LOCAL_IMPORT_DIR,
    upstreamTimeoutMs: env.STAGING_UPSTREAM_TIMEOUT_MS,
    upstreamRetries: env.STAGING_UPSTREAM_RETRIES,
    shutdownTimeoutMs: env.STAGING_SHUTDOWN_TIMEOUT_MS,
    webhookMaxBytes: env.STAGING_WEBHOOK_MAX_KB * 1024,
    directWrites: env.STAGING_DIRECT_WRITES,
    http: {
      headersTimeoutMs: env.STAGING_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.STAGING_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.STAGING_KEEPALIVE_TIMEOUT_MS
    },
    bodyGuard: {
      bodyIdleTimeoutMs: env.STAGING_BODY_IDLE_TIMEOUT_MS,
      bodyMinBytesPerSecond: env.STAGING_BODY_MIN_RATE_BPS,
      drainMaxBytes: env.STAGING_DRAIN_MAX_KB * 1024,
      drainTimeoutMs: env.STAGING_DRAIN_TIMEOUT_MS
    },
    frontapp: {
      baseUrl: env.FRONTAPP_BASE_URL,
      apiToken: env.FRONTAPP_API_TOKEN,
      apiSecret: env.FRONTAPP_API_SECRET,
      appSecret: env.FRONTAPP_APP_SECRET
    },
    samsara: { baseUrl: env.SAMSARA_BASE_URL, apiToken: env.SAMSARA_API_TOKEN },
    turvo: { baseUrl: env.TURVO_BASE_URL, apiToken: env.TURVO_API_TOKEN, apiKey: env.TURVO_API_KEY },
    storage: {
      engine: env.STAGING_STORAGE,
      databaseUrl: env.DATABASE_URL,
      s3: { bucket: env.S3_BUCKET, endpoint: env.S3_ENDPOINT, region: env.S3_REGION, forcePathStyle: env.S3_FORCE_PATH_STYLE }
    },
    events: {
      segmentBytes: Math.max(1024, Math.floor(env.STAGING_EVENTS_SEGMENT_MB * MB)),
      maxBytes: Math.floor(env.STAGING_EVENTS_MAX_MB * MB),
      maxAgeMs: env.STAGING_EVENTS_RETENTION_HOURS * 3_600_000,
      pushUrl: env.STAGING_EVENTS_URL,
      secret: env.STAGING_EVENTS_SECRET
    },
    logLevel: env.LOG_LEVEL
  }
}

export type Config = ReturnType<typeof toConfig>

/** What the operator CLI (`apex-staging ls`, `stats`, …) reads: where the service is and the token to send. */
export const clientEnvSchema = z.object({
  STAGING_URL: origin('http://127.0.0.1:8080'),
  STAGING_TOKEN: z.string().trim().default('')
})

export interface ClientConfig {
  url: string
  token: string
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`)
    this.name = 'ConfigError'
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  return isIP(h) === 4 && h.startsWith('127.')
}

function parseEnv<T extends z.ZodObject>(schema: T, env: Record<string, string | undefined>): z.infer<T> {
  const known = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]))
  const parsed = schema.safeParse(known)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`)
    throw new ConfigError([...new Set(problems)])
  }
  return parsed.data
}

/** The CLI's settings; throws ConfigError naming every bad variable. */
export function loadClientConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): ClientConfig {
  const parsed = parseEnv(clientEnvSchema, env)
  return { url: parsed.STAGING_URL, token: parsed.STAGING_TOKEN }
}

/** Reads the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
  const config = toConfig(parseEnv(envSchema, env))
  if (config.apiTokens.length === 0 && !config.authDisabled && !isLoopbackHost(config.host)) {
    throw new ConfigError([
      `STAGING_API_TOKENS: no tokens are set and HOST=${config.host} is not a loopback address; set STAGING_API_TOKENS, or STAGING_AUTH_DISABLED=true to run without auth on purpose`
    ])
  }
  if (config.events.pushUrl !== '' && config.events.secret === '') {
    throw new ConfigError(['STAGING_EVENTS_SECRET: required when STAGING_EVENTS_URL is set (pushed events are always signed)'])
  }
  if (config.storage.engine === 'shared') {
    const missing = [
      config.storage.databaseUrl === '' ? 'DATABASE_URL: required when STAGING_STORAGE=shared' : null,
      config.storage.s3.bucket === '' ? 'S3_BUCKET: required when STAGING_STORAGE=shared' : null
    ].filter((p): p is string => p !== null)
    if (missing.length > 0) throw new ConfigError(missing)
  }
  return config
}
