import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { ProxyError } from './options'
import { relayableReason } from 'sticky-core'

/** The standard reason phrase of `status` (RFC 9110 section 15), empty for an unknown status. */
export function standardReason(status: number): string {
  return STATUS_CODES[status] ?? ''
}

/**
 * The reason phrase to relay: the peer's own when node:http can write it (RFC 9112 section 4 allows
 * HTAB, SP, visible ASCII and obs-text), else the standard one. The phrase carries no meaning, so a
 * peer's control byte in it is no reason for a 502, and must never reach the client's socket.
 */
export function reasonPhrase(status: number, message: string | undefined): string {
  return message !== undefined && relayableReason(message) ? message : standardReason(status)
}

const REASONS: Readonly<Record<ProxyError, string>> = {
  unavailable: 'no peer available',
  connect: 'cannot reach the peer',
  timeout: 'the peer did not answer in time',
  protocol: 'invalid response from the peer',
  'upstream-aborted': 'the peer closed the connection',
  'client-aborted': 'client closed request',
  'client-body': 'the request body was cut short',
  'client-timeout': 'the request body did not arrive in time',
  proxy: 'the proxy could not complete the request',
  rejected: 'the request was refused',
}

/** The short text of the proxy's own answer for `error`. */
export function errorReason(error: ProxyError): string {
  return REASONS[error]
}

/** The short plain-text body of a status the proxy produces itself. */
export function errorBody(status: number, reason: string): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}: ${reason}\n`
}

/** Headers of a status the proxy produces itself. */
export function errorHeaders(body: string): Record<string, string> {
  return {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  }
}

/** A complete HTTP/1.1 response head for a raw socket (upgrades), ending with the blank line. */
export function rawHead(status: number, message: string | undefined, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status, message)}\r\n`
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  return `${head}\r\n`
}

/** A whole error response for a raw socket, closing the connection. */
export function rawError(status: number, reason: string): string {
  const body = errorBody(status, reason)
  const headers = Object.entries({ ...errorHeaders(body), connection: 'close' }).flat()
  return rawHead(status, undefined, headers) + body
}

/**
 * Writes a response head from a flat raw header list, keeping repeated fields repeated. When the
 * application already set a header on `res`, node:http's `writeHead` would merge the list into it
 * with `setHeader`, keeping one value per name (all but the last `Set-Cookie` lost): the fields are
 * appended instead.
 */
export function writeRawHead(res: ServerResponse, status: number, message: string | undefined, headers: readonly string[]): void {
  if (res.getHeaderNames().length === 0) {
    if (message === undefined) res.writeHead(status, headers as string[])
    else res.writeHead(status, message, headers as string[])
    return
  }
  for (let i = 0; i + 1 < headers.length; i += 2) res.appendHeader(headers[i] ?? '', headers[i + 1] ?? '')
  if (message === undefined) res.writeHead(status)
  else res.writeHead(status, message)
}
