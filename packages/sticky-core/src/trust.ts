import { StickyConfigError } from './errors'
import { parseIPv4, parseIPv6 } from './ip'

/**
 * Trusted proxies: which client addresses may speak for the client before them (their
 * `X-Forwarded-*`, `Forwarded` and request id are kept), as nginx's `set_real_ip_from` and
 * HAProxy's `trusted-proxies` do. Everyone else's claims are replaced by what this hop saw.
 *
 * @packageDocumentation
 */

/** A parsed `proxy.trustProxy` list: asks whether a connection's address belongs to a trusted hop. */
export interface TrustList {
  /**
   * Whether `address` (a connection's remote address as the runtime gives it: IPv4, IPv6, an
   * IPv4-mapped IPv6 address or a bracketed IPv6 literal) is trusted. An address that is absent or
   * does not parse is not: request-time input never throws.
   */
  trusts(address: string | undefined): boolean
}

/** One network: 16 bytes (IPv4 stored IPv4-mapped, `::ffff:a.b.c.d`) and a prefix length 0-128. */
interface Network {
  readonly bytes: Uint8Array
  readonly prefix: number
}

const NAMED: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  // RFC 1918, RFC 4193 unique local, plus link-local (RFC 3927, RFC 4291) where cloud metadata and
  // sidecars sit.
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '169.254.0.0/16', 'fe80::/10'],
}

/**
 * Reads a `trustProxy` list: CIDRs (`10.0.0.0/8`, `fd00::/8`), bare addresses (a `/32` or `/128`),
 * `loopback` (127.0.0.0/8 and ::1) and `private` (10/8, 172.16/12, 192.168/16, fc00::/7, 169.254/16
 * and fe80::/10). A string is a comma-separated list; `undefined`, `''` and `[]` trust nobody. An
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a dual-stack socket reports an IPv4 client) is
 * matched as the IPv4 address it carries.
 *
 * @example
 * ```ts
 * import { parseTrustList } from 'sticky-core'
 *
 * const trust = parseTrustList('loopback, 10.0.0.0/8')
 * console.log(trust.trusts('10.1.2.3'), trust.trusts('::ffff:127.0.0.1'), trust.trusts('203.0.113.7')) // true true false
 * ```
 *
 * @param list - the option as given
 * @param option - the option's name in errors
 * @throws StickyConfigError naming `option` and the offending element: not an address, a CIDR or a
 *   known name, a prefix out of range, a network with host bits set, an empty element
 */
export function parseTrustList(list: readonly string[] | string | undefined, option: string = 'proxy.trustProxy'): TrustList {
  const networks: Network[] = []
  // Checked as unknown: a configuration read from JSON or YAML has no types.
  const given: unknown = list
  if (given !== undefined) {
    let elements: readonly unknown[]
    if (typeof given === 'string') elements = given.trim() === '' ? [] : given.split(',')
    else if (Array.isArray(given)) elements = given
    else throw new StickyConfigError(option, given, "expected a list of CIDRs, addresses, 'loopback' or 'private' (an array or a comma-separated string)")
    elements.forEach((element, index) => {
      const where = Array.isArray(given) ? `${option}[${index}]` : option
      if (typeof element !== 'string') throw new StickyConfigError(where, element, 'expected a CIDR, an address, loopback or private')
      const text = element.trim().toLowerCase()
      const named = NAMED[text]
      if (named !== undefined) for (const cidr of named) networks.push(parseNetwork(cidr) as Network)
      else {
        const network = parseNetwork(text)
        if (typeof network === 'string') throw new StickyConfigError(where, element, network)
        networks.push(network)
      }
    })
  }
  Object.freeze(networks)
  return Object.freeze({
    trusts(address: string | undefined): boolean {
      if (networks.length === 0 || address === undefined) return false
      const bytes = parseAddress(address)
      if (bytes === undefined) return false
      for (const network of networks) if (contains(network, bytes)) return true
      return false
    },
  })
}

/** A CIDR or a bare address; a string says what is wrong. */
function parseNetwork(text: string): Network | string {
  const slash = text.indexOf('/')
  const host = slash === -1 ? text : text.slice(0, slash)
  const v4 = parseIPv4(host)
  const v6 = v4 === undefined ? parseIPv6(host) : undefined
  if (v4 === undefined && v6 === undefined) return "expected a CIDR ('10.0.0.0/8', 'fd00::/8'), an address, loopback or private"
  const width = v4 === undefined ? 128 : 32
  let prefix = width
  if (slash !== -1) {
    const digits = text.slice(slash + 1)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(digits) || Number(digits) > width) return `expected a prefix length from 0 to ${width} after the slash`
    prefix = Number(digits)
  }
  const bytes = v4 === undefined ? (v6 as Uint8Array) : mapped(v4)
  const network = { bytes, prefix: v4 === undefined ? prefix : 96 + prefix }
  if (!hostBitsClear(network)) return 'the address has bits set past the prefix length: give the network address'
  return network
}

/** A connection's address: IPv4, IPv6 (bracketed or not, a zone id ignored), as 16 bytes. */
function parseAddress(text: string): Uint8Array | undefined {
  let address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  const zone = address.indexOf('%')
  if (zone !== -1) address = address.slice(0, zone)
  const v4 = parseIPv4(address)
  return v4 === undefined ? parseIPv6(address) : mapped(v4)
}

function mapped(v4: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16)
  bytes[10] = 0xff
  bytes[11] = 0xff
  bytes.set(v4, 12)
  return bytes
}

function contains(network: Network, bytes: Uint8Array): boolean {
  let bits = network.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((bytes[i] as number) & mask) !== ((network.bytes[i] as number) & mask)) return false
  }
  return true
}

function hostBitsClear(network: Network): boolean {
  for (let i = 0; i < 16; i++) {
    const kept = Math.min(8, Math.max(0, network.prefix - i * 8))
    const mask = kept === 8 ? 0xff : (0xff << (8 - kept)) & 0xff
    if (((network.bytes[i] as number) & ~mask & 0xff) !== 0) return false
  }
  return true
}
