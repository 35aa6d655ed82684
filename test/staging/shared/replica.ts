// A service replica for the multi-process tests: the same app as src/server.ts, configured from the
// environment, with the wall clock shifted by REPLICA_CLOCK_OFFSET_MS (so a test can have one replica
// see "an hour later" without waiting an hour), and push waits shrunk by REPLICA_PUSH_LOCK_RETRY_MS
// (a standby's tries for the push lock; set, it also shortens the push backoff).
//
// Not a test: `tap` given this directory (`npx tap test/staging`) runs every file in it, and a replica
// never ends on its own. Under tap (TAP=1; the tests start replicas with an environment of their own)
// it says so and stops.
import { buildApp } from '../../../src/app.js'
import { loadConfig } from '../../../src/config.js'

if (process.env.TAP === '1') {
  process.stdout.write('1..0 # SKIP a helper the multi-process tests start, not a test\n')
  process.exit(0)
}

const offset = Number(process.env.REPLICA_CLOCK_OFFSET_MS ?? '0')
const config = loadConfig(process.env)
const pushLockRetryMs = process.env.REPLICA_PUSH_LOCK_RETRY_MS ? Number(process.env.REPLICA_PUSH_LOCK_RETRY_MS) : undefined
const fastPush = pushLockRetryMs ? { pushLockRetryMs, pushBackoff: { baseMs: 20, maxMs: 100 }, upstream: { backoff: { baseMs: 5, maxMs: 20 } } } : {}
const app = await buildApp(config, { clock: { now: () => Date.now() + offset }, ...fastPush })
await app.listen({ host: config.host, port: config.port })
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
