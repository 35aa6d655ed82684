// Process entry (`node dist/server.js`, what API.md documents); the CLI's `apex-staging serve` runs the same.
// The tree's lock and load begin first, so that the reader threads read the tree while this thread
// loads the rest of the service (src/staging/prepared-tree.ts).
import { prepareTreeEarly } from './early-start.js'

const early = prepareTreeEarly(process.env)
// Until the readers are going: importing the service keeps this thread busy for ~0.3 s, and the
// prepare's own steps would wait for it.
await early.catch(() => null)
const { runServer } = await import('./serve.js')
await runServer(process.env, early)
