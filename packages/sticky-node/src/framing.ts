import type { IncomingMessage } from 'node:http'

/** Whether the request carries a body (RFC 9112 section 6.3: framed by Transfer-Encoding or Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const length = req.headers['content-length']
  return length !== undefined && length !== '0'
}

/**
 * The framing fields of the request to the peer, stated explicitly whatever the client's
 * `Connection` header named (RFC 9112 section 6): `Transfer-Encoding: chunked` for a chunked body,
 * the client's `Content-Length` when it sent one, nothing for a request without a body. node:http
 * would otherwise choose by method and send the body of a DELETE or GET unframed, for the peer to
 * read as a second request.
 */
export function upstreamFraming(req: IncomingMessage): string[] {
  if (req.headers['transfer-encoding'] !== undefined) return ['Transfer-Encoding', 'chunked']
  const length = req.headers['content-length']
  return length === undefined ? [] : ['Content-Length', length]
}
