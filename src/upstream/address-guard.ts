// The SSRF guard for caller-supplied URLs: refuses forbidden addresses in the URL, in every DNS
// answer and in the address actually connected to, unless the host is allow-listed.
import { lookup as dnsLookup } from 'node:dns'
import type { LookupFunction, Socket } from 'node:net'
import type { buildConnector } from 'undici'
import { AppError } from '../errors.js'
import { isForbiddenAddress, isLocalhostName, matchesRule, parseHostRule, parseIpLiteral, type HostRule } from './address-policy.js'
import { caOption, type ConnectorOptions, type RequestGuard } from './http-client.js'
import { BlockedAddressError } from './upstream-errors.js'

export interface AddressGuardOptions {
  /** `host` or `host:port` entries that may be reached whatever they resolve to. */
  allowHosts: readonly string[]
  /** DNS resolver with dns.lookup's signature; tests inject one that answers loopback. */
  lookup?: LookupFunction
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
}

export class AddressGuard implements RequestGuard {
  private readonly rules: HostRule[]
  private readonly lookup: LookupFunction

  constructor(options: AddressGuardOptions) {
    this.rules = options.allowHosts.map(parseHostRule)
    this.lookup = options.lookup ?? (dnsLookup as LookupFunction)
  }

  allows(host: string, port: number): boolean {
    return matchesRule(this.rules, host, port)
  }

  checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AppError('SourceNotAllowed', `${url.protocol} URLs may not be pulled`)
    }
    if (this.allows(url.hostname, defaultPort(url))) return
    const literal = parseIpLiteral(url.hostname)
    if ((literal && isForbiddenAddress(literal)) || isLocalhostName(url.hostname)) {
      throw new AppError('SourceNotAllowed', `${url.host} is a loopback, private or otherwise internal address`)
    }
  }

  /**
   * Two undici connectors: an open one for allow-listed hosts, and a guarded one whose lookup drops
   * the whole answer if any address in it is forbidden, and which checks the socket's remote address
   * after connecting (IP literals skip DNS; a resolver could also lie).
   */
  createConnector(options: ConnectorOptions): buildConnector.connector {
    const base = { timeout: options.timeoutMs, ...caOption(options.ca) }
    const open = options.build({ ...base, lookup: this.lookup } as buildConnector.BuildOptions)
    const guarded = options.build({ ...base, lookup: this.guardedLookup() } as buildConnector.BuildOptions)
    return (opts, callback) => {
      const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80)
      if (this.allows(opts.hostname, port)) return open(opts, callback)
      const literal = parseIpLiteral(opts.hostname)
      if ((literal && isForbiddenAddress(literal)) || isLocalhostName(opts.hostname)) {
        callback(new BlockedAddressError(opts.hostname), null)
        return
      }
      return guarded(opts, (err, socket) => {
        if (err || !socket) return callback(err, null)
        const remote = (socket as Socket).remoteAddress
        if (!remote || isForbiddenAddress(remote)) {
          socket.destroy()
          return callback(new BlockedAddressError(opts.hostname), null)
        }
        callback(null, socket)
      })
    }
  }

  private guardedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0)
        const list = Array.isArray(addresses) ? addresses : [{ address: addresses, family: 4 }]
        if (list.length === 0 || list.some((a) => isForbiddenAddress(a.address))) {
          return callback(new BlockedAddressError(hostname) as NodeJS.ErrnoException, '', 0)
        }
        if (options.all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list)
        const first = list[0] as { address: string; family: number }
        callback(null, first.address, first.family)
      })
    }
  }
}
