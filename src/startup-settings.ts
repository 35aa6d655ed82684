// The effective settings an operator needs to read from the first log line; never a secret, only whether one is set.
import type { Config } from './config.js'
import { PACKAGE_VERSION } from './version.js'

/** A configured URL without user info, which could hold credentials. */
function withoutUserInfo(url: string): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  return u.toString().replace(/\/$/, '')
}

export function startupSettings(config: Config): Record<string, unknown> {
  const roles = { ingest: 0, operator: 0 }
  for (const t of config.apiTokens) roles[t.role]++
  return {
    version: PACKAGE_VERSION,
    node: process.version,
    listen: `${config.host}:${config.port}`,
    auth: {
      enabled: config.apiTokens.length > 0,
      tokens_by_role: roles,
      token_names: config.apiTokens.flatMap((t) => (t.name ? [`${t.role}:${t.name}`] : [])),
      metrics_token: config.metricsToken !== ''
    },
    storage: { engine: config.storage.engine, base_dir: config.baseDir, direct_writes: config.directWrites },
    quota_bytes: config.maxTotalBytes,
    max_document_bytes: config.maxDocumentBytes,
    failed_retention_hours: config.failedRetentionMs / 3_600_000,
    abandoned_after_hours: config.abandonedAfterMs / 3_600_000,
    cleanup_schedule: config.cleanupCron ? { cron: config.cleanupCron } : { every_minutes: config.cleanupIntervalMs / 60_000 },
    http_allow_hosts: config.httpAllowHosts,
    local_import_dir: config.localImportDir || null,
    upstream: { timeout_ms: config.upstreamTimeoutMs, retries: config.upstreamRetries },
    frontapp: {
      base_url: withoutUserInfo(config.frontapp.baseUrl),
      api_token: config.frontapp.apiToken !== '',
      rule_webhook_secret: config.frontapp.apiSecret !== '',
      app_webhook_secret: config.frontapp.appSecret !== ''
    },
    samsara: { base_url: withoutUserInfo(config.samsara.baseUrl), api_token: config.samsara.apiToken !== '' },
    turvo: { base_url: withoutUserInfo(config.turvo.baseUrl), api_token: config.turvo.apiToken !== '', api_key: config.turvo.apiKey !== '' },
    events: {
      segment_bytes: config.events.segmentBytes,
      max_bytes: config.events.maxBytes,
      retention_hours: config.events.maxAgeMs / 3_600_000,
      // The receiver's origin only: a path or query could carry a token; the secret never appears.
      push_to: config.events.pushUrl ? new URL(config.events.pushUrl).origin : null,
      push_secret: config.events.secret !== ''
    },
    webhook_max_bytes: config.webhookMaxBytes,
    shutdown_timeout_ms: config.shutdownTimeoutMs,
    log_level: config.logLevel
  }
}
