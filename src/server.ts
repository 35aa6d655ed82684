// Process entry (`node dist/server.js`, what API.md documents); the CLI's `apex-staging serve` runs the same.
import { runServer } from './serve.js'

await runServer(process.env)
