// Which addresses a caller-supplied URL may reach: public unicast only, however the address is spelled.
import ipaddr from 'ipaddr.js'

type Address = ipaddr.IPv4 | ipaddr.IPv6

/**
 * Parses a host as an IP literal. IPv4 is read the way inet_aton reads it (decimal `2130706433`,
 * hex `0x7f.1`, octal `0177.0.0.1`, short `127.1`), so no spelling slips past as a "hostname".
 */
export function parseIpLiteral(host: string): Address | null {
  const h = host.replace(/^\[|\]$/g, '').replace(/\.$/, '')
  if (h.includes(':')) return ipaddr.IPv6.isValid(h) ? ipaddr.IPv6.parse(h) : null
  return ipaddr.IPv4.isValid(h) ? ipaddr.IPv4.parse(h) : null
}

/** The IPv4 address an IPv6 form carries: mapped, translated, NAT64 (RFC 6052/8215), 6to4, IPv4-compatible. */
function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = addr.parts
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
  switch (addr.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return fromWords(p[6] ?? 0, p[7] ?? 0)
    case '6to4':
      return fromWords(p[1] ?? 0, p[2] ?? 0)
  }
  // ::a.b.c.d (deprecated IPv4-compatible); ::, ::1 are classified by range() below.
  if (p.slice(0, 6).every((w) => w === 0) && (p[6] ?? 0) !== 0) return fromWords(p[6] ?? 0, p[7] ?? 0)
  return null
}

/** True for anything but public unicast: loopback, private, link-local, unique-local, CGNAT, multicast, reserved... */
export function isForbiddenAddress(addr: Address | string): boolean {
  const parsed = typeof addr === 'string' ? parseIpLiteral(addr) : addr
  if (!parsed) return true
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6
    const inner = embeddedIPv4(v6)
    if (inner) return isForbiddenAddress(inner)
    return v6.range() !== 'unicast'
  }
  return parsed.range() !== 'unicast'
}

/** A host name that is loopback by definition (RFC 6761), refused before any lookup. */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost')
}

/** Canonical form for comparing hosts: IP literals normalised, names lower-cased without a trailing dot. */
export function canonicalHost(host: string): string {
  const ip = parseIpLiteral(host)
  if (ip) return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toNormalizedString() : ip.toString()
  return host.toLowerCase().replace(/\.$/, '')
}

export interface HostRule {
  host: string
  port: number | null
}

/** Reads `host`, `host:port`, `[v6]` or `[v6]:port` (STAGING_HTTP_ALLOW_HOSTS entries). */
export function parseHostRule(entry: string): HostRule {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (bracketed) return { host: canonicalHost(bracketed[1] ?? ''), port: bracketed[2] ? Number(bracketed[2]) : null }
  const parts = entry.split(':')
  if (parts.length === 2 && /^\d+$/.test(parts[1] ?? '')) return { host: canonicalHost(parts[0] ?? ''), port: Number(parts[1]) }
  return { host: canonicalHost(entry), port: null }
}

export function matchesRule(rules: readonly HostRule[], host: string, port: number): boolean {
  const h = canonicalHost(host)
  return rules.some((r) => r.host === h && (r.port === null || r.port === port))
}
