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

/** Which `X-Forwarded-*` fields an adapter writes. */
export interface ForwardedSelection {
  /** Append the client's address to `X-Forwarded-For`. */
  readonly for: boolean
  /** Set `X-Forwarded-Proto` to the scheme the client used. */
  readonly proto: boolean
  /** Set `X-Forwarded-Host` to the client's `Host`. */
  readonly host: boolean
}

/** What the adapter knows about the client's hop, for the `X-Forwarded-*` fields. */
export interface ForwardedInput {
  /** The incoming `X-Forwarded-For` field value(s), as received; absent when none. */
  readonly forwardedFor: string | readonly string[] | null | undefined
  /** The address of the client's connection; `undefined` when the runtime does not know it. */
  readonly client: string | undefined
  /** `http` or `https`: how the client reached this proxy. */
  readonly proto: string
  /** The `Host` (or HTTP/2 `:authority`) the client asked for. */
  readonly host: string | null | undefined
}

/** The lower-case names of the fields {@link forwardedFields} writes for `select`: drop them from the client's request. */
export function forwardedNames(select: ForwardedSelection): string[] {
  const names: string[] = []
  if (select.for) names.push('x-forwarded-for')
  if (select.proto) names.push('x-forwarded-proto')
  if (select.host) names.push('x-forwarded-host')
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
export function appendForwardedFor(incoming: string | readonly string[] | null | undefined, client: string | undefined): string | undefined {
  let chain = ''
  const add = (element: string): void => {
    const trimmed = element.trim()
    if (trimmed !== '') chain = chain === '' ? trimmed : `${chain}, ${trimmed}`
  }
  if (typeof incoming === 'string') for (const element of incoming.split(',')) add(element)
  else if (incoming !== null && incoming !== undefined) {
    for (const line of incoming) for (const element of line.split(',')) add(element)
  }
  if (client !== undefined) add(client)
  return chain === '' ? undefined : chain
}

/**
 * The `X-Forwarded-*` fields for the request to the peer, as a flat `[name, value, ...]` list:
 * `For` extends the incoming chain ({@link appendForwardedFor}); `Proto` and `Host` say how this
 * proxy was reached and replace whatever the client claimed (only this hop knows them). A field
 * with nothing to say is left out.
 */
export function forwardedFields(input: ForwardedInput, select: ForwardedSelection): string[] {
  const out: string[] = []
  if (select.for) {
    const chain = appendForwardedFor(input.forwardedFor, input.client)
    if (chain !== undefined) out.push('X-Forwarded-For', chain)
  }
  if (select.proto) out.push('X-Forwarded-Proto', input.proto)
  if (select.host && input.host !== null && input.host !== undefined && input.host !== '') out.push('X-Forwarded-Host', input.host)
  return out
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
