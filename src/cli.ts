#!/usr/bin/env node
// `apex-staging`: `serve` (the default) runs the service; the operator commands call its HTTP API at
// STAGING_URL with STAGING_TOKEN. commander parses the arguments and writes --help and --version.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { ConfigError, loadClientConfig } from './config.js'
import { StagingApi } from './cli/api-client.js'
import * as commands from './cli/commands.js'
import { CliError, EXIT } from './cli/exit-codes.js'
import { KINDS, SOURCES, STATUSES } from './staging/record.js'
import { PACKAGE_VERSION } from './version.js'

const io: commands.Output = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) }

const EXIT_HELP = `
Operator commands read STAGING_URL (default http://127.0.0.1:8080) and STAGING_TOKEN (a token from
the service's STAGING_API_TOKENS; rm and cleanup need an operator token).

Exit codes: 0 done; 1 the service answered with an error (its problem is printed); 2 bad arguments or
settings; 3 the service could not be reached; 4 no such item (404).`

function limit(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000')
  return n
}

/** Runs an operator command against the API, closing the connection pool afterwards. */
async function withApi(run: (api: StagingApi) => Promise<void>): Promise<void> {
  let config
  try {
    config = loadClientConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage)
    throw err
  }
  const api = new StagingApi(config)
  try {
    await run(api)
  } finally {
    await api.close()
  }
}

function program(): Command {
  const cli = new Command('apex-staging')
    .description('Document staging service: run it (serve) or operate a running one.')
    .version(PACKAGE_VERSION, '-v, --version', 'print the version')
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run apex-staging --help for usage)')
    .exitOverride()
  const json = new Option('--json', 'print the JSON answer instead of a table')

  cli
    .command('serve', { isDefault: true })
    .description('run the service (the default; settings from the environment, see the README)')
    .action(async () => {
      const { serveWithHeadStart } = await import('./early-start.js')
      await serveWithHeadStart(process.env)
    })

  cli
    .command('stats')
    .description('item counts, disk usage against the quota, and the cleanup schedule')
    .addOption(json)
    .action((opts: { json?: boolean }) => withApi((api) => commands.stats(api, io, opts.json === true)))

  cli
    .command('ls')
    .description('list staged items, one page at a time (filter with --status, --source, --kind)')
    .addOption(new Option('--status <status>', 'only items with this status').choices(STATUSES))
    .addOption(new Option('--source <source>', 'only items from this source').choices(SOURCES))
    .addOption(new Option('--kind <kind>', 'only documents or structured items').choices(KINDS))
    .option('--limit <n>', 'page size, 1-1000', limit, 100)
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .addOption(json)
    .action((opts: commands.ListOptions & { json?: boolean }) => {
      const { json: asJson, ...filter } = opts
      return withApi((api) => commands.list(api, io, filter, asJson === true))
    })

  cli
    .command('show')
    .description('one item record')
    .argument('<source>', SOURCES.join(', '))
    .argument('<id>', 'the document_id or data_id')
    .addOption(json)
    .action((source: string, id: string, opts: { json?: boolean }) => withApi((api) => commands.show(api, io, source, id, opts.json === true)))

  cli
    .command('get')
    .description("download an item's bytes (checked against its sha256) to stdout or a file")
    .argument('<source>', SOURCES.join(', '))
    .argument('<id>', 'the document_id or data_id')
    .option('-o, --output <file>', 'write to this file (whole or not at all) instead of stdout')
    .action((source: string, id: string, opts: { output?: string }) => withApi((api) => commands.get(api, io, source, id, opts.output, process.stdout)))

  cli
    .command('cleanup')
    .description('run one cleanup sweep now (operator token)')
    .option('--dry-run', 'report what the sweep would do, change nothing')
    .addOption(json)
    .action((opts: { dryRun?: boolean; json?: boolean }) => withApi((api) => commands.cleanup(api, io, opts.dryRun === true, opts.json === true)))

  cli
    .command('rm')
    .description('delete an item now (operator token)')
    .argument('<source>', SOURCES.join(', '))
    .argument('<id>', 'the document_id or data_id')
    .addOption(json)
    .action((source: string, id: string, opts: { json?: boolean }) => withApi((api) => commands.remove(api, io, source, id, opts.json === true)))

  for (const sub of cli.commands) sub.exitOverride().showHelpAfterError(`(run apex-staging ${sub.name()} --help for usage)`)
  return cli
}

try {
  await program().parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with exit code 0; commander has printed what it had to say.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage
  } else if (err instanceof CliError) {
    const jsonWanted = process.argv.includes('--json')
    process.stderr.write(jsonWanted && err.problem ? `${JSON.stringify(err.problem)}\n` : `apex-staging: ${err.message}\n`)
    process.exitCode = err.exitCode
  } else {
    process.stderr.write(`apex-staging: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = EXIT.refused
  }
}
