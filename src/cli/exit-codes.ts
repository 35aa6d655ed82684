// The CLI's exit codes (documented in the README) and the error that carries one to the exit.

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The service answered with an error (its problem+json is printed). */
  refused: 1,
  /** Bad arguments or a bad STAGING_URL / STAGING_TOKEN. */
  usage: 2,
  /** The service could not be reached, or what answered is not apex-staging. */
  unreachable: 3,
  /** The item (or route) does not exist: 404. */
  notFound: 4
} as const

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The service's problem+json, printed as is with --json. */
    readonly problem?: Record<string, unknown>
  ) {
    super(message)
    this.name = 'CliError'
  }
}
