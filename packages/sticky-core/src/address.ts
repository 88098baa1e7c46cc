import { StickyConfigError } from './errors'
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip'
import type { PeerTarget } from './peers'

/** nginx's `default_port` for an upstream `server` without one (`ngx_http_upstream_server`). */
export const DEFAULT_PORT = 80

/** Longest socket path Linux accepts: `sun_path` is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107

/** An IP literal with its port: what the legacy `struct sockaddr` digests (original module, nginx-sticky-module-ng up to 1.2.6) are computed over. */
export interface IpEndpoint {
  readonly family: 4 | 6
  /** 4 or 16 address bytes, network order. */
  readonly bytes: Uint8Array
  readonly port: number
}

/** A peer address, parsed and canonicalised. */
export interface ParsedAddress {
  /** `ip:port`, `[v6]:port`, `host:port` or `unix:/path`: what the cookie value is derived from. */
  readonly routeKey: string
  /** The route key, or for a URL peer `scheme://host:port` (the port always written). */
  readonly address: string
  readonly target: PeerTarget
  /** Set for IP literals only: a host name was resolved by nginx, and we do not resolve. */
  readonly ip: IpEndpoint | undefined
}

interface Host {
  /** Lowercase host name, dotted quad, or bare canonical IPv6 (no brackets). */
  readonly name: string
  /** `name`, bracketed for IPv6: the form used in route keys and URLs. */
  readonly bracketed: string
  readonly ip: { readonly family: 4 | 6; readonly bytes: Uint8Array } | undefined
}

/**
 * Parses a peer address in one of the forms nginx's `server` directive takes, plus URLs:
 *
 * - `ip:port` (dotted quad) and `[v6]:port` (printed as nginx prints it, see {@link formatIPv6});
 * - `host:port`, a host name of RFC 1123 labels, lowercased;
 * - `unix:/absolute/path`;
 * - `http://host[:port][/]` or `https://...`: the route key is `host:port` with the scheme's default port.
 *   Userinfo, a path, a query or a fragment is refused.
 *
 * Without a port, the `ip`, `[v6]` and `host` forms get port 80, as nginx gives them.
 *
 * @param option - the option to name in errors, e.g. `peers[2].address`.
 * @throws StickyConfigError for anything else.
 */
export function parseAddress(text: unknown, option: string): ParsedAddress {
  if (typeof text !== 'string') throw new StickyConfigError(option, text, 'an address is a string')
  if (text.length === 0) throw new StickyConfigError(option, text, 'an address must not be empty')
  if (text.startsWith('unix:')) return parseUnix(text, option)
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text)
  if (scheme !== null) return parseUrl(text, (scheme[1] as string).toLowerCase(), scheme[0].length, option)
  const { host, port } = splitHostPort(text, DEFAULT_PORT, option)
  const routeKey = `${host.bracketed}:${port}`
  return {
    routeKey,
    address: routeKey,
    target: tcpTarget('http:', host, port),
    ip: host.ip === undefined ? undefined : { ...host.ip, port },
  }
}

function parseUnix(text: string, option: string): ParsedAddress {
  const path = text.slice(5)
  if (!path.startsWith('/')) throw new StickyConfigError(option, text, 'a socket path is absolute: unix:/path')
  if (path.length > MAX_SOCKET_PATH) {
    throw new StickyConfigError(option, text, `a socket path has at most ${MAX_SOCKET_PATH} characters`)
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    // The route key may become a `raw` cookie value and is always hashed as bytes: keep it visible ASCII.
    if (c <= 0x20 || c >= 0x7f) throw new StickyConfigError(option, text, 'a socket path is visible ASCII without spaces')
  }
  return {
    routeKey: text,
    address: text,
    target: Object.freeze({ kind: 'unix', protocol: 'http:', socketPath: path, origin: 'http://localhost' }),
    ip: undefined,
  }
}

function parseUrl(text: string, scheme: string, start: number, option: string): ParsedAddress {
  let defaultPort: number
  if (scheme === 'http') defaultPort = 80
  else if (scheme === 'https') defaultPort = 443
  else throw new StickyConfigError(option, text, 'a URL peer is http:// or https://')
  let authority = text.slice(start)
  if (authority.endsWith('/')) authority = authority.slice(0, -1)
  const bad = /[/?#@\\]/.exec(authority)
  if (bad !== null) {
    const what = bad[0] === '@' ? 'userinfo' : bad[0] === '?' ? 'a query' : bad[0] === '#' ? 'a fragment' : 'a path'
    throw new StickyConfigError(option, text, `a URL peer is an origin (scheme://host[:port]); ${what} is not allowed`)
  }
  const { host, port } = splitHostPort(authority, defaultPort, option, text)
  const protocol = scheme === 'https' ? 'https:' : 'http:'
  return {
    routeKey: `${host.bracketed}:${port}`,
    address: `${protocol}//${host.bracketed}:${port}`,
    target: tcpTarget(protocol, host, port),
    ip: host.ip === undefined ? undefined : { ...host.ip, port },
  }
}

function tcpTarget(protocol: 'http:' | 'https:', host: Host, port: number): PeerTarget {
  return Object.freeze({ kind: 'tcp', protocol, host: host.name, port, origin: `${protocol}//${host.bracketed}:${port}` })
}

function splitHostPort(text: string, defaultPort: number, option: string, shown: string = text): { host: Host; port: number } {
  let hostText: string
  let portText: string | undefined
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1) throw new StickyConfigError(option, shown, "an IPv6 address is closed by ']'")
    hostText = text.slice(0, close + 1)
    const rest = text.slice(close + 1)
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new StickyConfigError(option, shown, "expected ':port' after ']'")
      portText = rest.slice(1)
    }
  } else {
    const colon = text.indexOf(':')
    if (colon !== text.lastIndexOf(':')) {
      throw new StickyConfigError(option, shown, 'an IPv6 address is written in brackets: [::1]:8080')
    }
    hostText = colon === -1 ? text : text.slice(0, colon)
    portText = colon === -1 ? undefined : text.slice(colon + 1)
  }
  return { host: parseHost(hostText, option, shown), port: portText === undefined ? defaultPort : parsePort(portText, option, shown) }
}

function parsePort(text: string, option: string, shown: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new StickyConfigError(option, shown, 'a port is a decimal number from 1 to 65535')
  const port = Number(text)
  if (port < 1 || port > 65535) throw new StickyConfigError(option, shown, 'a port is a decimal number from 1 to 65535')
  return port
}

function parseHost(text: string, option: string, shown: string): Host {
  if (text.startsWith('[')) {
    const bytes = parseIPv6(text.slice(1, -1))
    if (bytes === undefined) throw new StickyConfigError(option, shown, 'not a valid IPv6 address (RFC 4291)')
    const name = formatIPv6(bytes)
    return { name, bracketed: `[${name}]`, ip: { family: 6, bytes } }
  }
  if (text.length === 0) throw new StickyConfigError(option, shown, 'the host is missing')
  if (/^[0-9.]+$/.test(text)) {
    const bytes = parseIPv4(text)
    if (bytes === undefined) {
      throw new StickyConfigError(option, shown, 'not a valid IPv4 address: four decimal octets 0-255 without leading zeros')
    }
    const name = formatIPv4(bytes)
    return { name, bracketed: name, ip: { family: 4, bytes } }
  }
  assertHostName(text, option, shown)
  const name = text.toLowerCase()
  return { name, bracketed: name, ip: undefined }
}

/** RFC 1123 section 2.1 host name: labels of letters, digits and inner hyphens, 1-63 each, 253 in all. */
function assertHostName(text: string, option: string, shown: string): void {
  if (text.length > 253) throw new StickyConfigError(option, shown, 'a host name has at most 253 characters')
  for (const label of text.split('.')) {
    if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(label)) {
      throw new StickyConfigError(
        option,
        shown,
        'a host name is made of labels of 1-63 letters, digits and inner hyphens (RFC 1123); write IDNs in their xn-- form',
      )
    }
  }
}
