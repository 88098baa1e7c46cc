import { contentLength } from './relay'

/**
 * The request rules every adapter applies before it asks the balancer for a peer, written once: what
 * nginx refuses itself rather than proxy. A runtime's own parser has already refused what it cannot
 * read; these rules refuse what it can read but a peer must not be handed.
 *
 * What an adapter can see differs by runtime, and each passes what it has: node:http (sticky-node,
 * sticky-fastify) keeps every field line apart (`rawHeaders`); a fetch `Headers` object (sticky-fetch)
 * joins repeated fields into one value with `, `, so there two `Host` lines are one Host (`a, b`), two
 * `Content-Length` lines one list (refused when the values differ), and two `Transfer-Encoding` lines
 * one coding list (refused with 501 instead of 400).
 *
 * @packageDocumentation
 */

/** Why a request is refused before any peer sees it. */
export interface RequestRefusal {
  /** 400 Bad Request, or 501 Not Implemented for a transfer coding the proxy cannot relay. */
  readonly status: 400 | 501
  /** Why, in a few words, for a log line. */
  readonly reason: string
}

/** What an adapter knows of a request besides its fields. */
export interface RequestShape {
  /** The request asks to switch protocols (`Upgrade`, a WebSocket handshake) and the adapter tunnels it. */
  readonly upgrade?: boolean | undefined
}

/**
 * Why the request with these header fields is refused, or `undefined` to proxy it:
 *
 * - more than one `Host` field: 400 (the peer and `X-Forwarded-Host` could disagree on the site);
 * - an HTTP/2 `:authority` and a `Host` that name different sites (compared without case): 400, as
 *   RFC 9113 section 8.3.1 says a server should, since whatever read `:authority` before the proxy (a
 *   cache, a firewall) and the peer that reads `X-Forwarded-Host` would disagree on the site;
 * - more than one `Transfer-Encoding` field: 400;
 * - a `Content-Length` whose length cannot be known (sticky-core's {@link contentLength}: a sign,
 *   an empty or non-decimal value, differing values): 400, as the body's end would be a guess;
 * - a transfer coding other than exactly `chunked`, in any case: 501 (the peer would be handed coded
 *   bytes as plain ones);
 * - an upgrade request with a body (`Transfer-Encoding`, or a `Content-Length` above 0): 400 (the
 *   body arrives with the tunnel's first bytes, so the peer would wait for it forever and be blamed
 *   for the silence).
 *
 * The first rule that applies, in this order, is the answer. Names are matched in any case; other
 * pseudo fields and every other field are ignored. Never throws; linear in the fields.
 *
 * @param fields - the request's header fields as `[name, value]` pairs, one per field line where the
 *   runtime keeps them apart (a fetch `Headers` object is such an iterable)
 * @param request - what else the adapter knows of the request
 *
 * @example
 * ```ts
 * requestRefusal([['Host', 'a'], ['Host', 'b']]) // { status: 400, reason: 'more than one Host header' }
 * requestRefusal([['Transfer-Encoding', 'gzip, chunked']]) // { status: 501, ... }
 * requestRefusal([['Content-Length', '3']], { upgrade: true }) // { status: 400, ... }
 * requestRefusal(new Headers({ 'content-length': '3' })) // undefined
 * ```
 */
export function requestRefusal(fields: Iterable<readonly [string, string]>, request: RequestShape = NO_SHAPE): RequestRefusal | undefined {
  const tally = new FieldTally()
  for (const [name, value] of fields) tally.add(name, value)
  return tally.refusal(request)
}

/**
 * {@link requestRefusal} of node:http's flat `rawHeaders` list (`[name, value, name, value, ...]`,
 * every field line apart), read in place: no pair is built per field line, which is what a proxy
 * pays on every request otherwise. Same rules, same answers. Never throws.
 *
 * @param rawHeaders - the request's `rawHeaders` (an odd last element is ignored)
 * @param request - what else the adapter knows of the request
 */
export function rawRequestRefusal(rawHeaders: readonly string[], request: RequestShape = NO_SHAPE): RequestRefusal | undefined {
  const tally = new FieldTally()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) tally.add(rawHeaders[i] as string, rawHeaders[i + 1] as string)
  return tally.refusal(request)
}

const NO_SHAPE: RequestShape = Object.freeze({})

/** What the rules read of a request's fields, gathered one field line at a time. */
class FieldTally {
  hosts = 0
  host: string | undefined = undefined
  authority: string | undefined = undefined
  /** Created at the first such line: most requests have none. */
  codings: string[] | undefined = undefined
  lengths: string[] | undefined = undefined

  add(name: string, value: string): void {
    // Compared by length first: most fields are none of these, and lower-casing each name costs.
    const length = name.length
    if (length === 4) {
      if (name.toLowerCase() === 'host') {
        this.hosts += 1
        this.host = value
      }
    } else if (length === 10) {
      if (name === ':authority') this.authority = value
    } else if (length === 17) {
      if (name.toLowerCase() === 'transfer-encoding') {
        if (this.codings === undefined) this.codings = [value]
        else this.codings.push(value)
      }
    } else if (length === 14) {
      if (name.toLowerCase() === 'content-length') {
        if (this.lengths === undefined) this.lengths = [value]
        else this.lengths.push(value)
      }
    }
  }

  refusal(request: RequestShape): RequestRefusal | undefined {
    const { host, authority, codings, lengths } = this
    if (this.hosts > 1) return MANY_HOSTS
    if (host !== undefined && authority !== undefined && host.trim().toLowerCase() !== authority.trim().toLowerCase()) return OTHER_AUTHORITY
    if (codings !== undefined && codings.length > 1) return MANY_CODINGS
    const length = lengths === undefined ? undefined : contentLength(lengths)
    if (length === 'invalid') return BAD_LENGTH
    const coding = codings?.[0]
    if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') return CODING
    if (request.upgrade === true && (coding !== undefined || (length !== undefined && length > 0))) return UPGRADE_BODY
    return undefined
  }
}

// Shared frozen answers: refusing allocates nothing.
const MANY_HOSTS: RequestRefusal = Object.freeze({ status: 400, reason: 'more than one Host header' })
const OTHER_AUTHORITY: RequestRefusal = Object.freeze({ status: 400, reason: 'Host differs from :authority' })
const MANY_CODINGS: RequestRefusal = Object.freeze({ status: 400, reason: 'more than one Transfer-Encoding header' })
const BAD_LENGTH: RequestRefusal = Object.freeze({ status: 400, reason: 'invalid Content-Length' })
const CODING: RequestRefusal = Object.freeze({ status: 501, reason: 'transfer codings other than chunked are not supported' })
const UPGRADE_BODY: RequestRefusal = Object.freeze({ status: 400, reason: 'an upgrade request cannot carry a body' })
