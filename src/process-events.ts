// What the process itself reports, once the service runs: Node's warnings and a crash's error go to
// the JSON log, where Node alone prints them as plain text on stderr (README: Logs).
import type { FastifyBaseLogger } from 'fastify'

/**
 * Routes `process` warnings (MaxListenersExceeded, deprecations) to `log` instead of Node's own
 * printer, and logs an uncaught exception or unhandled rejection as one `fatal` line before Node's
 * default handling (its stack on stderr, exit code 1) goes on unchanged: the monitor event observes,
 * it does not catch.
 */
export function logProcessEvents(target: NodeJS.Process, log: FastifyBaseLogger): void {
  // Node's printer is the only listener until now; with it gone, a warning is printed once, as JSON.
  target.removeAllListeners('warning')
  target.on('warning', (warning: Error & { code?: string }) => {
    log.warn({ err: warning, warning_name: warning.name, warning_code: warning.code }, 'process warning')
  })
  target.on('uncaughtExceptionMonitor', (err: unknown, origin: string) => {
    log.fatal({ err, origin }, 'the process is ending on an uncaught error')
  })
}
