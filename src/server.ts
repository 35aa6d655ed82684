// Process entry: configuration from the environment, the app, listen, and a bounded graceful close.
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { TreeLockedError } from './staging/tree-lock.js'

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`apex-staging: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const app = await buildApp(config)
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: no new requests, waiting for those in flight')
    const force = setTimeout(() => {
      app.log.warn({ timeout_ms: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; exiting')
      process.exit(0)
    }, config.shutdownTimeoutMs)
    force.unref()
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'close failed')
        process.exit(1)
      }
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  await app.listen({ host: config.host, port: config.port })
}

main().catch((err: unknown) => {
  if (err instanceof TreeLockedError) {
    process.stderr.write(`apex-staging: refusing to start: ${err.message}\n`)
    process.exit(3)
  }
  process.stderr.write(`apex-staging: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
