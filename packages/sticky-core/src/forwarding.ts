import { isAuthority, isToken, linesOf, type FieldLines } from './field-syntax'
import { parseIPv4 } from './ip'
import type { Peer } from './peers'

/**
 * The request header rules every adapter applies on the way to a peer, written once.
 *
 * `Host` names the peer, as nginx's default `proxy_set_header Host $proxy_host` does. HAProxy and
 * Caddy pass the client's `Host` instead, but a fetch-based adapter cannot: fetch derives `Host` from
 * the URL it connects to. One rule that every runtime can keep beats three that drift, and the
 * client's `Host` still reaches the peer, in `X-Forwarded-Host`.
 *
 * @packageDocumentation
 */

/** Which `X-Forwarded-*` fields (and the RFC 7239 `Forwarded` field) an adapter writes. */
export interface ForwardedSelection {
  /** Write `X-Forwarded-For`: the client's address, after a trusted hop's chain. */
  readonly for: boolean
  /** Write `X-Forwarded-Proto`: the scheme the client used (or a trusted hop's). */
  readonly proto: boolean
  /** Write `X-Forwarded-Host`: the client's `Host` (or a trusted hop's). */
  readonly host: boolean
  /** Write RFC 7239 `Forwarded` (`for=`, `proto=`, `host=` of this hop), after a trusted hop's elements. Optional for hand-made selections. @default false */
  readonly forwarded?: boolean | undefined
}

/** What the adapter knows about the client's hop, for the `X-Forwarded-*` fields. */
export interface ForwardedInput {
  /** The incoming `X-Forwarded-For` field value(s), as received; absent when none. */
  readonly forwardedFor: FieldLines
  /** The address of the client's connection; `undefined` when the runtime does not know it. */
  readonly client: string | undefined
  /** `http` or `https`: how the client reached this proxy. */
  readonly proto: string
  /** The `Host` (or HTTP/2 `:authority`) the client asked for. */
  readonly host: string | null | undefined
  /**
   * Whether the client's connection comes from a trusted proxy (`proxy.trustProxy`, through
   * `parseTrustList`): then its `X-Forwarded-*` and `Forwarded` are kept and extended; otherwise
   * they are replaced by what this hop saw. @default false
   */
  readonly trusted?: boolean | undefined
  /** The incoming `X-Forwarded-Proto` value(s); read only from a trusted hop. */
  readonly forwardedProto?: FieldLines
  /** The incoming `X-Forwarded-Host` value(s); read only from a trusted hop. */
  readonly forwardedHost?: FieldLines
  /** The incoming RFC 7239 `Forwarded` value(s); kept only from a trusted hop. */
  readonly forwarded?: FieldLines
}

/**
 * The lower-case names of the fields {@link forwardedFields} writes for `select`: drop them from the
 * client's request, then add what `forwardedFields` returns. `forwarded` is among them whenever any
 * field is selected, since an untrusted client's `Forwarded` must not reach the peer: a trusted hop's
 * comes back through `forwardedFields`. With nothing selected (`xForwarded: false`) the client's
 * fields pass untouched.
 */
export function forwardedNames(select: ForwardedSelection): string[] {
  const names: string[] = []
  if (select.for) names.push('x-forwarded-for')
  if (select.proto) names.push('x-forwarded-proto')
  if (select.host) names.push('x-forwarded-host')
  if (names.length > 0 || select.forwarded === true) names.push('forwarded')
  return names
}

/**
 * The `X-Forwarded-For` value to send on: the addresses of every incoming field, split on commas,
 * trimmed and without empty elements, then the client's address (nginx's
 * `$proxy_add_x_forwarded_for`, minus its stray `", addr"` when the incoming field is empty).
 * `undefined` when nothing remains, so that no empty field is sent.
 *
 * @example
 * ```ts
 * import { appendForwardedFor } from 'sticky-core'
 *
 * console.log(appendForwardedFor(['203.0.113.7, ', ' 10.0.0.2'], '10.0.0.9')) // 203.0.113.7, 10.0.0.2, 10.0.0.9
 * console.log(appendForwardedFor('', '10.0.0.9')) // 10.0.0.9
 * ```
 */
export function appendForwardedFor(incoming: FieldLines, client: string | undefined): string | undefined {
  let chain = ''
  const add = (element: string): void => {
    const trimmed = element.trim()
    if (trimmed !== '') chain = chain === '' ? trimmed : `${chain}, ${trimmed}`
  }
  for (const line of linesOf(incoming)) for (const element of line.split(',')) add(element)
  if (client !== undefined) add(unmapped(client))
  return chain === '' ? undefined : chain
}

/**
 * An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a dual-stack listener reports an IPv4 client) as
 * the IPv4 address it carries, as Go's proxies write it: the next hop's logs, allow-lists and rate
 * limits see one client, not two spellings of it. Any other address is kept as it is.
 */
function unmapped(address: string): string {
  if (address.length < 14 || address.slice(0, 7).toLowerCase() !== '::ffff:') return address
  const v4 = address.slice(7)
  return parseIPv4(v4) === undefined ? address : v4
}

/**
 * The forwarding fields for the request to the peer, as a flat `[name, value, ...]` list.
 *
 * From a trusted hop (`input.trusted`): `X-Forwarded-For` extends the incoming chain
 * ({@link appendForwardedFor}); `X-Forwarded-Proto` and `-Host` keep the first incoming value when it
 * is a sane scheme or authority, else say how this proxy was reached; `Forwarded` keeps the
 * incoming elements, followed by this hop's when `select.forwarded`.
 *
 * From anyone else every claim is replaced: `X-Forwarded-For` is the client's address alone,
 * `Proto` and `Host` are this hop's, and `Forwarded` is this hop's element alone (or absent).
 *
 * A field with nothing to say is left out.
 *
 * @example
 * ```ts
 * import { forwardedFields } from 'sticky-core'
 *
 * const input = { forwardedFor: '203.0.113.7', forwardedProto: 'https', client: '10.0.0.2', proto: 'http', host: 'app.example' }
 * const select = { for: true, proto: true, host: false, forwarded: true }
 * console.log(forwardedFields({ ...input, trusted: true }, select).join(' | '))
 * // X-Forwarded-For | 203.0.113.7, 10.0.0.2 | X-Forwarded-Proto | https | Forwarded | for=10.0.0.2;proto=http;host=app.example
 * console.log(forwardedFields(input, select).join(' | '))
 * // X-Forwarded-For | 10.0.0.2 | X-Forwarded-Proto | http | Forwarded | for=10.0.0.2;proto=http;host=app.example
 * ```
 */
export function forwardedFields(input: ForwardedInput, select: ForwardedSelection): string[] {
  const out: string[] = []
  const trusted = input.trusted === true
  const host = input.host !== null && input.host !== undefined && input.host !== '' ? input.host : undefined
  if (select.for) {
    const chain = appendForwardedFor(trusted ? input.forwardedFor : undefined, input.client)
    if (chain !== undefined) out.push('X-Forwarded-For', chain)
  }
  if (select.proto) {
    const claimed = trusted ? firstValue(input.forwardedProto) : undefined
    out.push('X-Forwarded-Proto', claimed !== undefined && isScheme(claimed) ? claimed.toLowerCase() : input.proto)
  }
  if (select.host) {
    const claimed = trusted ? firstValue(input.forwardedHost) : undefined
    const value = claimed !== undefined && isAuthority(claimed) ? claimed : host
    if (value !== undefined) out.push('X-Forwarded-Host', value)
  }
  if (select.for || select.proto || select.host || select.forwarded === true) {
    let elements = ''
    if (trusted) for (const line of linesOf(input.forwarded)) for (const element of line.split(',')) elements = joinElement(elements, element)
    if (select.forwarded === true) elements = joinElement(elements, forwardedElement(input.client, input.proto, host))
    if (elements !== '') out.push('Forwarded', elements)
  }
  return out
}

/**
 * This hop's RFC 7239 `Forwarded` element: `for=` the client's address (an IPv6 one bracketed and
 * quoted, section 6; `unknown` when the runtime does not know it), `proto=`, and `host=` (quoted
 * when it is not a token, as with a port).
 */
function forwardedElement(client: string | undefined, proto: string, host: string | undefined): string {
  let element = `for=${client === undefined || client === '' ? 'unknown' : nodeName(unmapped(client))};proto=${isScheme(proto) ? proto : quoted(proto)}`
  if (host !== undefined) element += `;host=${isToken(host) ? host : quoted(host)}`
  return element
}

function nodeName(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  if (bare.includes(':')) return quoted(`[${bare}]`)
  return isToken(bare) ? bare : quoted(bare)
}

function quoted(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

function joinElement(list: string, element: string): string {
  const trimmed = element.trim()
  if (trimmed === '') return list
  return list === '' ? trimmed : `${list}, ${trimmed}`
}

/** The first comma-separated element of the first line, trimmed; `undefined` when empty. */
function firstValue(value: FieldLines): string | undefined {
  const line = linesOf(value)[0]
  if (line === undefined) return undefined
  const comma = line.indexOf(',')
  const first = (comma === -1 ? line : line.slice(0, comma)).trim()
  return first === '' ? undefined : first
}

/** A URI scheme (RFC 3986 section 3.1), short enough to be one. */
function isScheme(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]{0,31}$/.test(text)
}

/**
 * The `Host` sent to `peer`: its authority, without the scheme's default port (nginx's
 * `$proxy_host`), and `localhost` for a unix-socket peer.
 *
 * @example
 * ```ts
 * import { createBalancer, upstreamHost } from 'sticky-core'
 *
 * const { peers } = createBalancer({ peers: ['127.0.0.1:9001', 'https://app.internal', 'unix:/run/app.sock'] })
 * console.log(peers.map(upstreamHost).join(' ')) // 127.0.0.1:9001 app.internal localhost
 * ```
 */
export function upstreamHost(peer: Peer): string {
  const target = peer.target
  if (target.kind === 'unix') return 'localhost'
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host
  const standard = target.protocol === 'https:' ? 443 : 80
  return target.port === standard ? host : `${host}:${target.port}`
}
