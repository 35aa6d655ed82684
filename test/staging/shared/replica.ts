// A service replica for the multi-process tests: the same app as src/server.ts, configured from the
// environment, with the wall clock shifted by REPLICA_CLOCK_OFFSET_MS (so a test can have one replica
// see "an hour later" without waiting an hour).
import { buildApp } from '../../../src/app.js'
import { loadConfig } from '../../../src/config.js'

const offset = Number(process.env.REPLICA_CLOCK_OFFSET_MS ?? '0')
const config = loadConfig(process.env)
const app = await buildApp(config, { clock: { now: () => Date.now() + offset } })
await app.listen({ host: config.host, port: config.port })
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
