// The running version is visible: /healthz, staging_build_info and the OpenAPI info.version all say package.json's.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { buildTestApp } from '../helper.js'
import { sampleValue } from '../metrics/prom-text.js'

const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

t.test('/healthz reports the package version', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', version: pkg.version })
})

t.test('staging_build_info carries the version and the Node.js version', async (t) => {
  const { app } = await buildTestApp(t)
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(sampleValue(text, 'staging_build_info', { version: pkg.version, node: process.version }), 1)
})

t.test('OpenAPI info.version is the package version, served and committed', async (t) => {
  const { app } = await buildTestApp(t)
  const served = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { info: { version: string } }
  t.equal(served.info.version, pkg.version)
  const committed = parse(await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as { info: { version: string } }
  t.equal(committed.info.version, pkg.version)
})
