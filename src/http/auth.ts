// Bearer-token auth with the ingest and operator roles; tokens compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config, Role } from '../config.js'
import { AppError } from '../errors.js'

/** Who may call a route: anyone, the metrics token, or a role (operator may do everything). */
export type Access = 'public' | 'metrics' | Role

/** Who called, for the request log: the token's role and, for `role:name:token` entries, its name. */
export interface Caller {
  role: Role | 'metrics' | 'anonymous'
  token_name?: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    /** Set once a token is checked; null for requests that needed none (anonymous). */
    caller: Caller | null
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Compares by digest so that lengths leak nothing; every candidate is compared, no early exit. */
export function matchToken<T>(presented: string, candidates: { token: string; value: T }[]): T | undefined {
  const given = digest(presented)
  let found: T | undefined
  for (const c of candidates) {
    if (timingSafeEqual(given, digest(c.token)) && found === undefined) found = c.value
  }
  return found
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (!header) return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match ? (match[1] as string) : ''
}

/** Paths served by plugins that carry no route config of ours (the docs UI). */
const PUBLIC_PREFIXES = ['/docs', '/openapi.json']

export function registerAuth(app: FastifyInstance, config: Config): void {
  const tokens = config.apiTokens.map((t): { token: string; value: Caller } => ({
    token: t.token,
    value: t.name ? { role: t.role, token_name: t.name } : { role: t.role }
  }))
  const metricsTokens = config.metricsToken ? [{ token: config.metricsToken, value: true }] : []
  app.decorateRequest('caller', null)

  app.addHook('onRequest', async (request) => {
    // A path no route answers still needs a valid token, of either role: the answer is 404 or 405, never 403.
    const access: Access = request.is404 ? 'ingest' : (request.routeOptions.config?.access ?? 'operator')
    if (access === 'public') return
    if (PUBLIC_PREFIXES.some((p) => request.url === p || request.url.startsWith(`${p}/`) || request.url.startsWith(`${p}?`))) return
    if (access === 'metrics') {
      if (metricsTokens.length === 0) return
      const presented = bearer(request)
      if (!presented || !matchToken(presented, metricsTokens)) throw new AppError('Unauthorized', 'a valid metrics bearer token is required')
      request.caller = { role: 'metrics' }
      return
    }
    if (tokens.length === 0) return // auth off: config allowed it only on loopback or on purpose
    const presented = bearer(request)
    if (presented === null) throw new AppError('Unauthorized', 'an Authorization: Bearer token is required')
    const caller = presented ? matchToken(presented, tokens) : undefined
    if (!caller) throw new AppError('Unauthorized', 'the bearer token is not valid')
    request.caller = caller
    if (access === 'operator' && caller.role !== 'operator') {
      throw new AppError('Forbidden', 'this needs an operator token')
    }
  })
}
