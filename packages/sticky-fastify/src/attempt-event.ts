import { transportErrorEvent, type AttemptEvent } from 'sticky-core'
import { ClientBodyError } from './request-body'
import type { ConnectionFacts } from './transport-probe'

/**
 * What the adapter knows about a failed attempt besides the error: the translation's other
 * inputs. Every rule about blame, retries and statuses is sticky-core's (`judgeAttempt`); this
 * module only says, in the core's words, what happened.
 */
export interface FailureFacts extends ConnectionFacts {
  /** The client closed its connection, or its response was destroyed. */
  readonly clientGone: boolean
  /** The transport was waiting for more of the client's body (the time was the client's). */
  readonly awaitingClient: boolean
  /** Part of the client's body went to the transport and the rest had not: an upload was under way. */
  readonly uploading: boolean
}

/** The connection could not be made: refused, unreachable, no such host or socket, TLS refused. */
const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EADDRNOTAVAIL',
  // A unix-socket peer whose socket file is missing or not ours to open.
  'ENOENT',
  'EACCES',
  'EPROTO',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
])

/** The connection closed or broke under the request. */
const CLOSED_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE'])

/** The proxy's own transport was closed (Fastify is shutting down): nobody's fault. */
const SHUTDOWN_CODES: ReadonlySet<string> = new Set(['UND_ERR_DESTROYED', 'UND_ERR_CLOSED'])

/** Nothing came back in time: undici's headers timeout, reply-from's and node:http's request timeouts. */
const SILENT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT',
  'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
])

/** reply-from's own word for a status Fastify cannot send (sticky-core reads the transport's). */
const REPLY_FROM_PROTOCOL = 'FST_REPLY_FROM_BAD_GATEWAY'

/** The peer's response body broke off: cut short, overlong, silent, or malformed. */
const CUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_BODY_TIMEOUT'])

/**
 * The request could not be sent as the client gave it: its body ended short of or beyond its
 * `Content-Length`, was aborted, or carries a field the transport refuses.
 */
const CLIENT_BODY_CODES: ReadonlySet<string> = new Set(['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_ABORTED', 'UND_ERR_INVALID_ARG'])

/**
 * Translates an error of `@fastify/reply-from` before a response head arrived (its `onError`) into
 * the core's {@link AttemptEvent}. reply-from wraps the transport's error (undici's or node:http's)
 * in its own, so every `code` of the `cause` chain is read, innermost first. What the error says by
 * itself (a refused interim 100, a head that is not HTTP/1.1) is sticky-core's `transportErrorEvent`.
 *
 * A stale kept-alive connection (`stale-connection`) is told from a peer's reset (`peer-reset`) by
 * the facts, not the code: undici reports both as `UND_ERR_SOCKET` ("other side closed") or
 * `ECONNRESET`. An error nobody can attribute is the proxy's own (`proxy-failed`): it blames no peer.
 */
export function failureEvent(error: unknown, facts: FailureFacts): AttemptEvent {
  if (facts.clientGone) return 'client-gone'
  if (hasClientBodyError(error)) return 'client-body-failed'
  const named = transportErrorEvent(error)
  if (named !== undefined) return named
  for (const code of causeCodes(error)) {
    if (CLIENT_BODY_CODES.has(code)) return 'client-body-failed'
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect-timeout'
    if (CONNECT_CODES.has(code) || code.startsWith('ERR_SSL_')) return 'connect-failed'
    if (SHUTDOWN_CODES.has(code)) return 'proxy-failed'
    if (code === REPLY_FROM_PROTOCOL) return 'peer-protocol-error'
    if (SILENT_CODES.has(code)) {
      // node:http's request timeout counts idle time on the socket, the client's pauses included.
      if (facts.awaitingClient) return 'client-stalled'
      return facts.sent === false ? 'connect-timeout' : 'peer-silent'
    }
    if (CLOSED_CODES.has(code)) return closedEvent(code, facts)
    if (CUT_CODES.has(code)) return 'peer-cut-response'
  }
  return 'proxy-failed'
}

function closedEvent(code: string, facts: FailureFacts): AttemptEvent {
  if (facts.sent === false) return code === 'ETIMEDOUT' ? 'connect-timeout' : 'connect-failed'
  if (facts.reused === true && facts.answerStarted !== true) return 'stale-connection'
  // Most often a peer that refused the upload early and closed unread: its answer went with the reset.
  return facts.uploading ? 'peer-closed-during-upload' : 'peer-reset'
}

/**
 * Translates the end of a relayed response body that did not end normally: the client left (its
 * response closed first), or else the peer cut it (closed, reset, went silent past `timeout`, or
 * broke its framing). The body of an early answer (a head while the upload was under way) that
 * breaks off is the reset of the unread upload taking it (`peer-closed-during-upload`).
 */
export function cutEvent(clientGone: boolean, early = false): AttemptEvent {
  if (clientGone) return 'client-gone'
  return early ? 'peer-closed-during-upload' : 'peer-cut-response'
}

/** Whether `error`, or one in its `cause` chain, is the client's body failing. */
export function hasClientBodyError(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof ClientBodyError) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/** The `code` of each error in the `cause` chain, innermost first; bounded against cycles. */
export function causeCodes(error: unknown): string[] {
  const codes: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const code: unknown = (current as { code?: unknown }).code
    if (typeof code === 'string') codes.unshift(code)
    current = (current as { cause?: unknown }).cause
  }
  return codes
}
