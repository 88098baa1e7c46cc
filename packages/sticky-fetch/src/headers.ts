import { connectionListed, forwardedFields, forwardedNames, isHopByHopHeader, relayableField } from 'sticky-core'
import type { ForwardedSelection } from 'sticky-core'
import { getSetCookies } from './set-cookie'

/** One header field as a `Headers` iteration gives it: a lower-cased name and its (combined) value. */
export type Field = readonly [name: string, value: string]

/**
 * Whether a copy leaves a field out: the hop-by-hop ones (sticky-core's fixed set of RFC 9110
 * section 7.6.1, and every name `Connection` lists, `listed`), and `Trailer`, as a fetch `Response`
 * carries no trailer section to announce. `name` is lower-cased, as `Headers` gives names.
 */
function notForwarded(name: string, listed: ReadonlySet<string>): boolean {
  return isHopByHopHeader(name) || name === 'trailer' || listed.has(name)
}

/** The value of the field `name` (lower-cased) in `fields`, or `null`. */
export function valueOf(fields: readonly Field[], name: string): string | null {
  for (const field of fields) if (field[0] === name) return field[1]
  return null
}

/** What the handler knows about the client, for the `X-Forwarded-*` and `Forwarded` headers. */
export interface ForwardedFor {
  /** The client's address, if known. */
  readonly client: string | undefined
  /** `http` or `https`: the scheme the client used. */
  readonly proto: string
  /** The `Host` the client asked for. */
  readonly host: string
  /** Which fields to write (`proxy.xForwarded`). @default all three */
  readonly select?: ForwardedSelection | undefined
  /** Whether the client is a trusted proxy (`proxy.trustProxy`): its forwarding fields are then kept and extended. @default false */
  readonly trusted?: boolean | undefined
}

/** The request's id (`proxy.requestId`) and the field that carries it. */
export interface RequestIdField {
  /** The field's name, as configured (`X-Request-Id` for `requestId: true`). */
  readonly name: string
  /** The id: a trusted proxy's own, or a new one. */
  readonly value: string
}

/** Every `X-Forwarded-*` field, when `ForwardedFor.select` is absent. */
const EVERY_FORWARDED: ForwardedSelection = Object.freeze({ for: true, proto: true, host: true })

/**
 * The headers to send upstream: the client's minus hop-by-hop ones, `Host` and `Expect`, plus the
 * `X-Forwarded-*` fields of sticky-core's `forwardedFields` when `forwarded` is given (the client's
 * own fields of those names are dropped first, so none is sent twice).
 *
 * `Host` is left to fetch, which derives it from the peer's URL: that is sticky-core's
 * `upstreamHost(peer)`, the rule every adapter keeps. `Expect` is answered by the client's hop before
 * the body is read, and fetch implementations refuse it.
 *
 * From a client that is no trusted proxy (`forwarded.trusted`), every forwarding claim is replaced by
 * what this hop saw (`X-Forwarded-For` is the client's address alone, and left out when that is
 * unknown); from a trusted one `X-Forwarded-For` extends the chain that arrived
 * (`appendForwardedFor`) and its `-Proto`, `-Host` and `Forwarded` are kept. The request id, when
 * given, replaces the client's field of that name.
 */
export function upstreamRequestHeaders(incoming: Headers, forwarded: ForwardedFor | undefined, requestId?: RequestIdField | undefined): Headers {
  const headers = new Headers(incoming)
  editHeaders(headers, upstreamRequestEdit([...incoming], forwarded, requestId))
  return headers
}

/**
 * How a copy of a message's headers becomes the one to send: the names to delete, then the fields to
 * append. A runtime copies a whole `Headers` in one call (a `Request` or `Response` built with another
 * message's headers), far cheaper than building one field by field, so the handler copies and then
 * edits the few fields that differ.
 */
export interface HeadersEdit {
  /** Lower-cased names present in the copy that must not be sent. */
  readonly drop: readonly string[]
  /** Fields to append after the deletions. */
  readonly add: readonly Field[]
}

/** Applies `edit` to `headers` (a copy the caller owns). */
export function editHeaders(headers: Headers, edit: HeadersEdit): void {
  for (const name of edit.drop) headers.delete(name)
  for (const [name, value] of edit.add) headers.append(name, value)
}

/**
 * {@link upstreamRequestHeaders} as an edit of a copy of the client's headers, from the client's
 * fields as one iteration of its `Headers` gave them (the handler reads them once for every rule).
 */
export function upstreamRequestEdit(incoming: readonly Field[], forwarded: ForwardedFor | undefined, requestId?: RequestIdField | undefined): HeadersEdit {
  const listed = connectionListed(valueOf(incoming, 'connection'))
  const select = forwarded?.select ?? EVERY_FORWARDED
  const replaced = forwarded === undefined ? undefined : forwardedNames(select)
  const id = requestId?.name.toLowerCase()
  const drop: string[] = []
  for (const field of incoming) {
    const name = field[0]
    if (name === 'host' || name === 'expect' || name === id || notForwarded(name, listed) || replaced?.includes(name) === true) drop.push(name)
  }
  const add: Field[] = []
  if (forwarded !== undefined) {
    const input = {
      forwardedFor: valueOf(incoming, 'x-forwarded-for'),
      forwardedProto: valueOf(incoming, 'x-forwarded-proto'),
      forwardedHost: valueOf(incoming, 'x-forwarded-host'),
      forwarded: valueOf(incoming, 'forwarded'),
      client: forwarded.client,
      proto: forwarded.proto,
      host: forwarded.host,
      trusted: forwarded.trusted,
    }
    const fields = forwardedFields(input, select)
    for (let i = 0; i + 1 < fields.length; i += 2) add.push([fields[i] as string, fields[i + 1] as string])
  }
  if (requestId !== undefined) add.push([requestId.name, requestId.value])
  return { drop, add }
}

/**
 * A mutable copy of an upstream response's headers without hop-by-hop ones and fields no head may
 * carry, keeping each `Set-Cookie` as its own header. Unless `keepContentEncoding`, an encoded response also loses `Content-Encoding` and
 * `Content-Length`, because the runtime's fetch decoded the body.
 */
export function downstreamResponseHeaders(upstream: Headers, keepContentEncoding: boolean): Headers {
  const listed = connectionListed(upstream.get('connection'))
  const cookies = listed.has('set-cookie') ? [] : getSetCookies(upstream)
  const decoded = decodedBody(upstream, keepContentEncoding)
  const headers = new Headers()
  // A field no head may carry (workerd passes control bytes and names that are no token through) is
  // left out, as sticky-core's relayableField says: it must never reach the client's wire.
  for (const [name, value] of upstream) {
    if (name === 'set-cookie' || notForwarded(name, listed) || (decoded && isFraming(name))) continue
    if (relayableField(name, value)) headers.append(name, value)
  }
  for (const cookie of cookies) if (relayableField('set-cookie', cookie)) headers.append('set-cookie', cookie)
  return headers
}

/**
 * The names to delete from a copy of an upstream response's headers to get
 * {@link downstreamResponseHeaders}, or `undefined` when a copy will not do: a field no head may
 * carry is there (it must be left out, and `Headers.delete` would take its well-formed namesakes
 * too), or the runtime joins `Set-Cookie` fields when it copies (it has no `getSetCookie`).
 */
export function downstreamResponseDrops(upstream: Headers, keepContentEncoding: boolean): string[] | undefined {
  const cookiesKept = typeof upstream.getSetCookie === 'function'
  let listed: ReadonlySet<string> | undefined
  let decoded = false
  const drop: string[] = []
  for (const [name, value] of upstream) {
    if (!relayableField(name, value)) return undefined
    if (name === 'set-cookie') {
      if (!cookiesKept) return undefined
    } else if (name === 'connection') {
      listed = connectionListed(value)
      drop.push(name)
    } else if (name === 'content-encoding') {
      decoded = !keepContentEncoding && value.trim().toLowerCase() !== 'identity'
    } else if (isHopByHopHeader(name) || name === 'trailer') {
      drop.push(name)
    }
  }
  if (listed !== undefined) for (const name of listed) drop.push(name)
  if (decoded) drop.push('content-encoding', 'content-length')
  return drop
}

/** Whether the runtime's fetch decoded the body, so that `Content-Encoding` and `Content-Length` no longer describe it. */
function decodedBody(upstream: Headers, keepContentEncoding: boolean): boolean {
  const encoding = upstream.get('content-encoding')
  return !keepContentEncoding && encoding !== null && encoding.trim().toLowerCase() !== 'identity'
}

function isFraming(name: string): boolean {
  return name === 'content-encoding' || name === 'content-length'
}
