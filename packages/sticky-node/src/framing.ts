import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { rawRequestRefusal, type RequestRefusal, type RequestShape } from 'sticky-core'

/** Whether the request carries a body (RFC 9112 section 6.3: framed by Transfer-Encoding or Content-Length). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true
  const length = headers['content-length']
  return length !== undefined && length !== '0'
}

/**
 * Whether the request carries a body, HTTP/2 requests included: HTTP/2 frames the body itself
 * (RFC 9113 section 8.1), so a request without `Content-Length` has one unless its HEADERS frame
 * ended the stream. Read by the fields alone, an HTTP/2 upload would be dropped.
 */
export function requestHasBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor < 2) return hasBody(req.headers)
  const length = req.headers['content-length']
  if (length !== undefined) return length !== '0'
  return (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders !== true
}

/**
 * The framing fields of the request to the peer, stated explicitly whatever the client's
 * `Connection` header named (RFC 9112 section 6): `Transfer-Encoding: chunked` for a chunked body,
 * the client's `Content-Length` when it sent one, nothing for a request without a body. node:http
 * would otherwise choose by method and send the body of a DELETE or GET unframed, for the peer to
 * read as a second request.
 */
export function upstreamFraming(headers: IncomingHttpHeaders): string[] {
  if (headers['transfer-encoding'] !== undefined) return ['Transfer-Encoding', 'chunked']
  const length = headers['content-length']
  return length === undefined ? [] : ['Content-Length', length]
}

/** {@link upstreamFraming} of a request, HTTP/2 too: an HTTP/2 body without `Content-Length` goes chunked. */
export function requestFraming(req: IncomingMessage, withBody: boolean): string[] {
  if (req.httpVersionMajor >= 2 && withBody && req.headers['content-length'] === undefined) return ['Transfer-Encoding', 'chunked']
  return upstreamFraming(req.headers)
}

/** Why the proxy refuses a request itself, before asking the balancer for a peer (sticky-core's `RequestRefusal`). */
export type RequestDefect = RequestRefusal

/**
 * sticky-core's `rawRequestRefusal` over what node:http keeps of the request: every field line apart, so
 * that a second `Host` or `Transfer-Encoding` line is seen (node:http's parsed `headers` keep one).
 * node:http has already refused the framings it cannot parse.
 *
 * @param rawHeaders - the request's flat `[name, value, ...]` list, repeated fields apart
 * @param request - `upgrade: true` for a request the proxy tunnels
 */
export function requestDefect(rawHeaders: readonly string[], request?: RequestShape): RequestDefect | undefined {
  return rawRequestRefusal(rawHeaders, request)
}
