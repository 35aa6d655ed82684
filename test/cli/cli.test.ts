// The apex-staging CLI as an operator runs it: usage, reading commands and errors (run-cli.ts starts it).
import t from 'tap'
import { PACKAGE_VERSION } from '../../src/version.js'
import { upload } from '../helper.js'
import { cli, INGEST, server } from './run-cli.js'

// Each case starts the CLI as a process (about a second of start-up each, more on a loaded machine).
t.setTimeout(240_000)

t.test('--help and --version, and usage errors exit 2', async (t) => {
  const help = await cli(['--help'])
  t.equal(help.code, 0)
  for (const word of ['serve', 'stats', 'ls', 'show', 'get', 'cleanup', 'rm', 'STAGING_URL', 'Exit codes']) t.match(help.stdout, word)
  const version = await cli(['--version'])
  t.equal(version.code, 0)
  t.equal(version.stdout.trim(), PACKAGE_VERSION)
  const bad = await cli(['ls', '--status', 'sleeping'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /sleeping/)
  const badUrl = await cli(['stats'], { STAGING_URL: 'ftp://nowhere' })
  t.equal(badUrl.code, 2)
  t.match(badUrl.stderr, /STAGING_URL/)
})

t.test('stats, ls, show: tables by default, --json for scripts', async (t) => {
  const { app, as } = await server(t)
  const headers = { authorization: `Bearer ${INGEST}` }
  t.equal((await upload(app, 'DOC-1', 'hello', { headers })).statusCode, 201)
  t.equal((await upload(app, 'DOC-2', 'world!', { source: 'frontapp', headers })).statusCode, 201)

  const stats = await cli(['stats'], as(INGEST))
  t.equal(stats.code, 0, stats.stderr)
  t.match(stats.stdout, /items:\s+2/)
  t.match(stats.stdout, /active 2, success 0, failed 0/)
  t.match(stats.stdout, /frontapp\s+1\s+6 B/)
  const statsJson = JSON.parse((await cli(['stats', '--json'], as(INGEST))).stdout)
  t.equal(statsJson.total_documents, 2)

  const ls = await cli(['ls', '--source', 'local_upload'], as(INGEST))
  t.equal(ls.code, 0, ls.stderr)
  const lines = ls.stdout.trim().split('\n')
  t.match(lines[0], /^SOURCE\s+DOCUMENT_ID\s+KIND\s+STATUS\s+SIZE/)
  t.equal(lines.length, 2)
  t.match(lines[1], /^local_upload\s+DOC-1\s+document\s+active\s+5 B/)

  const page = await cli(['ls', '--limit', '1', '--json'], as(INGEST))
  const parsed = JSON.parse(page.stdout)
  t.equal(parsed.items.length, 1)
  t.type(parsed.next_cursor, 'string')
  const next = JSON.parse((await cli(['ls', '--limit', '1', '--cursor', parsed.next_cursor, '--json'], as(INGEST))).stdout)
  t.not(next.items[0].document_id, parsed.items[0].document_id, 'the cursor pages on')

  const show = await cli(['show', 'frontapp', 'DOC-2'], as(INGEST))
  t.match(show.stdout, /document_id:\s+DOC-2/)
  t.match(show.stdout, /sha256:\s+[0-9a-f]{64}/)
  t.equal(JSON.parse((await cli(['show', 'frontapp', 'DOC-2', '--json'], as(INGEST))).stdout).file_size_bytes, 6)
})

t.test('errors: the problem is printed, with exit codes 4 (not found), 1 (refused), 3 (unreachable)', async (t) => {
  const { as } = await server(t)
  const missing = await cli(['show', 'local_upload', 'NOPE'], as(INGEST))
  t.equal(missing.code, 4)
  t.match(missing.stderr, /404 NotFound: no item local_upload\/NOPE/)
  const missingJson = await cli(['show', 'local_upload', 'NOPE', '--json'], as(INGEST))
  t.match(JSON.parse(missingJson.stderr), { code: 'NotFound', status: 404 })

  const forbidden = await cli(['rm', 'local_upload', 'NOPE'], as(INGEST))
  t.equal(forbidden.code, 1)
  t.match(forbidden.stderr, /403 Forbidden: this needs an operator token/)
  const unauthorized = await cli(['stats'], as('wrong-token-000'))
  t.equal(unauthorized.code, 1)
  t.match(unauthorized.stderr, /401 Unauthorized/)
  t.notMatch(unauthorized.stderr, 'wrong-token-000', 'the token is not echoed')

  const down = await cli(['stats'], { STAGING_URL: 'http://127.0.0.1:9', STAGING_TOKEN: INGEST })
  t.equal(down.code, 3)
  t.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9: ECONNREFUSED/)
})

