// Requests no route answers: a path no route has is 404 "No such route"; a path that exists with
// other methods is 405 with `Allow`; a path a wildcard route takes, whose handler found nothing there
// (reply.callNotFound), is 404. The methods come from the routes as they are registered
// (onRoute), so a route added anywhere later is covered without a table to keep in step.
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { AppError } from '../errors.js'
import { sendProblem, toProblem } from './problem.js'

/** Longer than any valid id even when fully percent-encoded (128 characters, API.md); past it the id is a 400 anyway. */
export const MAX_PARAM_LENGTH = 512

const METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** Which methods each registered path takes, matched the way Fastify's own router matches. */
export class RouteMethods {
  private readonly router = FindMyWay({ maxParamLength: MAX_PARAM_LENGTH })

  add(route: Pick<RouteOptions, 'method' | 'url'>): void {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      if (!this.router.hasRoute(method, route.url)) this.router.on(method, route.url, () => undefined)
    }
  }

  /** The methods that `path` (no query string) takes; empty when no route has the path. */
  allowed(path: string): HTTPMethod[] {
    return METHODS.filter((m) => this.router.find(m, path) !== null)
  }
}

export function registerRouteNotFound(app: FastifyInstance): void {
  const routes = new RouteMethods()
  app.addHook('onRoute', (route) => routes.add(route))
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] as string
    const allowed = routes.allowed(path)
    // A wildcard route that takes this method and found nothing under it (a docs asset, say) is a 404.
    if (allowed.length > 0 && !allowed.includes(request.method as HTTPMethod)) {
      const allow = allowed.join(', ')
      reply.header('allow', allow)
      request.problemCode = 'MethodNotAllowed'
      return sendProblem(request, reply, toProblem(new AppError('MethodNotAllowed', `${request.method} is not allowed on ${path}; allowed: ${allow}`)))
    }
    request.problemCode = 'NotFound'
    const problem = toProblem(new AppError('NotFound', `no route ${request.method} ${path}; the routes are listed at /docs`))
    return sendProblem(request, reply, { ...problem, title: 'No such route' })
  })
}
