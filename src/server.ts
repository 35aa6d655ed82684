// Process entry (`node dist/server.js`, what API.md documents); the CLI's `apex-staging serve` runs the same.
import { serveWithHeadStart } from './early-start.js'

await serveWithHeadStart(process.env)
