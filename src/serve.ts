// Runs the service as a process: configuration from the environment, the app, listen, one start-up
// line with the effective settings, and a bounded graceful close. `node dist/server.js` and
// `apex-staging serve` both come here.
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { governHeapGrowth } from './heap-growth.js'
import { raiseMallocThresholds } from './malloc-thresholds.js'
import { logProcessEvents } from './process-events.js'
import type { PreparedTree } from './staging/prepared-tree.js'
import { TreeLockedError } from './staging/tree-lock.js'
import { startupSettings } from './startup-settings.js'

async function main(env: NodeJS.ProcessEnv, early: Promise<PreparedTree | null>): Promise<void> {
  let config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`apex-staging: ${err.message}\n`)
      // The head start may hold the tree (it reads only STAGING_BASE_DIR): give it back.
      await early.then((prepared) => prepared?.release(), () => undefined)
      process.exit(2)
    }
    throw err
  }
  // From the tree's load on: the old generation's room after each full GC (heap-growth.ts).
  governHeapGrowth()
  // So that large pulls do not fault their socket buffers back in, burst after burst (malloc-thresholds.ts).
  raiseMallocThresholds()
  // Another process holding the tree rejects here: TreeLockedError.
  const prepared = await early
  let app
  try {
    app = await buildApp(config, prepared ? { preparedTree: prepared } : {})
  } catch (err) {
    await prepared?.release()
    throw err
  }
  logProcessEvents(process, app.log)
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
  const address = await app.listen({ host: config.host, port: config.port })
  app.log.info({ address, settings: startupSettings(config) }, 'apex-staging started')
}

/**
 * Starts the service; exits 2 on bad configuration, 3 when another process holds the tree, 1 when
 * start-up fails. `early` is the tree the process entry began loading (prepareTreeEarly).
 */
export function runServer(env: NodeJS.ProcessEnv, early: Promise<PreparedTree | null> = Promise.resolve(null)): Promise<void> {
  return main(env, early).catch((err: unknown) => {
    if (err instanceof TreeLockedError) {
      process.stderr.write(`apex-staging: refusing to start: ${err.message}\n`)
      process.exit(3)
    }
    process.stderr.write(`apex-staging: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
