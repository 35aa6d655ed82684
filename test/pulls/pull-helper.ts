// Shared set-up for pull tests: an app with fast retries and a fake DNS, and a JSON pull call.
import { readdir } from 'node:fs/promises'
import type { LookupFunction } from 'node:net'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildTestApp } from '../helper.js'
import { TEST_CA } from '../upstream/fake-upstream.js'

/** A resolver that knows only the names given; anything else is ENOTFOUND. Tests never reach real DNS. */
export function fakeDns(names: Record<string, string>): LookupFunction & { asked: string[] } {
  const asked: string[] = []
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    asked.push(hostname)
    const address = names[hostname]
    process.nextTick(() => {
      if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }))
      const family = address.includes(':') ? 6 : 4
      if (options.all) return callback(null, [{ address, family }])
      callback(null, address, family)
    })
  }) as unknown as LookupFunction & { asked: string[] }
  lookup.asked = asked
  return lookup
}

export async function pullApp(t: Test, env: Record<string, string> = {}, dns: Record<string, string> = {}) {
  const delays: number[] = []
  const lookup = fakeDns(dns)
  const built = await buildTestApp(t, { STAGING_UPSTREAM_RETRIES: '2', ...env }, {
    lookup,
    upstream: {
      ca: TEST_CA,
      backoff: { baseMs: 10, maxMs: 20, retryAfterMaxMs: 50 },
      sleep: async (ms) => {
        delays.push(ms)
      }
    }
  })
  return { ...built, delays, lookup }
}

export function pull(app: FastifyInstance, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/documents', payload: body, headers: { 'content-type': 'application/json' } })
}

/** A failed pull leaves nothing: no item directory, no draft, no reserved quota. */
export async function assertNothingLeft(t: Test, app: FastifyInstance, baseDir: string, source: string, id: string): Promise<void> {
  t.same(await readdir(join(baseDir, '.tmp')), [], 'no temp leftovers')
  t.notOk(app.staging.store.get(source as 'http', id), 'no item in the index')
  await t.rejects(readdir(join(baseDir, source, id)), { code: 'ENOENT' }, 'no item directory')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'no quota held')
}
