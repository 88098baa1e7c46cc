import type { AttemptEvent } from './attempt'

/**
 * The brand undici puts on its `HTTPParserError` (what its `instanceof` checks), shared by every copy
 * of undici through the global symbol registry.
 */
const UNDICI_PARSER_ERROR = Symbol.for('undici.error.UND_ERR_HTTP_PARSER')

/** How far a `cause` chain is followed: wrappers nest two or three deep; a cycle must not loop. */
const CHAIN_DEPTH = 8

type ErrorLike = { readonly code?: unknown; readonly message?: unknown; readonly name?: unknown; readonly cause?: unknown }

function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null
}

/**
 * Whether the error, or one in its `cause` chain, is undici closing the connection on an interim
 * `100` ("bad response"): its HTTP/1.1 client takes none, whatever its options. RFC 9110 section 15.2
 * lets a server send a 1xx nobody asked for, so the peer did nothing wrong.
 */
function isRefusedInterimOne(error: ErrorLike): boolean {
  return error.code === 'UND_ERR_SOCKET' && error.message === 'bad response'
}

/**
 * Whether one error says the peer's answer was no acceptable HTTP/1.1 response head: an llhttp
 * refusal (`HPE_*`, or undici's `HTTPParserError`, whose `code` undici 7 and 8 leave undefined when it
 * misses llhttp's name), a head over undici's size limit, a `101` to a request that asked for no
 * upgrade ("bad upgrade", RFC 9110 section 15.2.2), or a status below 100 (undici's parser asserts).
 */
function isMalformedOne(error: ErrorLike): boolean {
  const { code } = error
  if (typeof code === 'string') {
    if (code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' || code === 'ERR_ASSERTION') return true
    if (code === 'UND_ERR_SOCKET' && error.message === 'bad upgrade') return true
  }
  return error.name === 'HTTPParserError' || (error as Record<symbol, unknown>)[UNDICI_PARSER_ERROR] === true
}

/**
 * Whether an error of Node's HTTP clients (undici's `Pool` and `Client`, Node's `fetch` built on
 * undici, `node:http`), or one in its `cause` chain, is undici refusing an interim `100` response.
 * The peer did nothing wrong (RFC 9110 section 15.2); an adapter may resend on a client that relays
 * 1xx, or answer without blaming anyone ({@link transportErrorEvent}). Never throws.
 */
export function isRefusedInterim(error: unknown): boolean {
  let current = error
  for (let depth = 0; depth < CHAIN_DEPTH && isErrorLike(current); depth++) {
    if (isRefusedInterimOne(current)) return true
    current = current.cause
  }
  return false
}

/**
 * The {@link AttemptEvent} an error of Node's HTTP clients names by itself, whatever else the adapter
 * knows, read along its `cause` chain (innermost wrappers such as `@fastify/reply-from`'s or fetch's
 * `TypeError` included):
 *
 * - `proxy-failed`: undici refused an interim `100` ({@link isRefusedInterim}), its limit and not
 *   the peer's fault;
 * - `peer-protocol-error`: the peer's answer was no acceptable HTTP/1.1 head (an llhttp refusal, a
 *   head over the size limit, an unasked `101`, a status below 100);
 * - `undefined`: the error alone does not say (a reset, a refusal to connect, a timeout): the adapter
 *   judges it with what it knows of the attempt (connecting or sending, a reused connection, its timers).
 *
 * Every adapter reads its runtime's errors through this one function, so that the same answer from
 * a peer is judged alike behind each of them. Never throws.
 */
export function transportErrorEvent(error: unknown): Extract<AttemptEvent, 'proxy-failed' | 'peer-protocol-error'> | undefined {
  let current = error
  for (let depth = 0; depth < CHAIN_DEPTH && isErrorLike(current); depth++) {
    if (isRefusedInterimOne(current)) return 'proxy-failed'
    if (isMalformedOne(current)) return 'peer-protocol-error'
    current = current.cause
  }
  return undefined
}
