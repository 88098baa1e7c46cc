import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ClientRequest } from 'node:http'

/** The part of a connection the probe reads: how many bytes arrived on it so far. */
interface Connection {
  readonly bytesRead: number
}

/**
 * What the transport did with one attempt, as far as it lets the proxy see: whether the request
 * went out, on which connection, and whether anything came back. Errors alone cannot tell a
 * stale kept-alive connection (closed by the peer while idle: no fault of the peer's) from a
 * peer that reset a fresh one; these facts can.
 */
export class TransportProbe {
  #watched = false
  #request: ClientRequest | undefined
  #connection: Connection | undefined
  #reused = false
  #readBefore = 0

  /** What the probe saw, in the terms of {@link ConnectionFacts}. */
  facts(): ConnectionFacts {
    if (!this.#watched) return UNSEEN
    const connection = this.#connection
    if (connection === undefined) return NOT_SENT
    return { reused: this.#reused, sent: true, answerStarted: connection.bytesRead > this.#readBefore }
  }

  /** The transport created the attempt's request: from now on the probe sees what happens to it. */
  watch(): void {
    this.#watched = true
  }

  /** node:http: `request` is the attempt's; it tells its connection, and whether it was reused. */
  watchClientRequest(request: ClientRequest): void {
    this.#request = request
    request.once('socket', (socket) => {
      // `reusedSocket` is settled once the agent handed out the socket, before 'socket' is emitted.
      const sent = (): void => this.sentOn(socket, request.reusedSocket)
      if (socket.connecting) socket.once('connect', sent)
      else sent()
    })
  }

  /** Whether the attempt went to node:http, whose idle timer {@link holdTimeout} stops and restarts. */
  get holdsTimer(): boolean {
    return this.#request !== undefined
  }

  /**
   * Stops (`true`) or restarts node:http's idle timer for the attempt: it measures the silence of
   * the connection, and while the proxy waits on the client (an upload pausing, a download nobody
   * reads) that silence is not the peer's. undici needs no help: its headers timeout does not run
   * while the request body is still being written and the connection takes it, and its body
   * timeout does not run while the response is paused.
   */
  holdTimeout(hold: boolean): void {
    const request = this.#request
    const timeout = (request as { timeout?: unknown } | undefined)?.timeout
    if (request === undefined || request.socket === null || typeof timeout !== 'number') return
    request.setTimeout(hold ? 0 : timeout)
  }

  /** The transport wrote the request head to `connection`, which had (`reused`) or had not carried a request before. */
  sentOn(connection: Connection, reused: boolean): void {
    this.#connection = connection
    this.#reused = reused
    this.#readBefore = connection.bytesRead
  }
}

/** What the transport did with an attempt's connection; `undefined` where it did not let the proxy see. */
export interface ConnectionFacts {
  /** Whether the request went out on a kept-alive connection that had carried a request before. */
  readonly reused: boolean | undefined
  /** Whether the request head was written to a connection: the connection was made. */
  readonly sent: boolean | undefined
  /** Whether a byte arrived on the connection after the request head was written. */
  readonly answerStarted: boolean | undefined
}

const UNSEEN: ConnectionFacts = Object.freeze({ reused: undefined, sent: undefined, answerStarted: undefined })
const NOT_SENT: ConnectionFacts = Object.freeze({ reused: false, sent: false, answerStarted: false })

// undici publishes every request it creates and every head it writes on these channels (its
// documented diagnostics API). The request is created synchronously inside `reply.from`, so the
// probe set around that call is the one the request belongs to; the channels are process-wide,
// and requests of other undici users (fetch) find no probe and are only counted as connection use.
const CREATE = 'undici:request:create'
const SEND_HEADERS = 'undici:client:sendHeaders'

let current: TransportProbe | undefined
const probes = new WeakMap<object, TransportProbe>()
/** Connections that carried a request head: writing another one on them is a reuse. */
const carried = new WeakSet<object>()
let watchers = 0

function onCreate(message: unknown): void {
  const request = (message as { request?: unknown }).request
  if (current === undefined || typeof request !== 'object' || request === null) return
  probes.set(request, current)
  current.watch()
  current = undefined
}

function onSendHeaders(message: unknown): void {
  const { request, socket } = message as { request?: unknown; socket?: unknown }
  if (typeof socket !== 'object' || socket === null) return
  const reused = carried.has(socket)
  carried.add(socket)
  if (typeof request !== 'object' || request === null) return
  const connection = socket as Partial<Connection>
  if (typeof connection.bytesRead === 'number') probes.get(request)?.sentOn(connection as Connection, reused)
}

/**
 * Starts watching undici's requests; the returned function stops (when every caller stopped).
 */
export function watchTransport(): () => void {
  if (watchers === 0) {
    subscribe(CREATE, onCreate)
    subscribe(SEND_HEADERS, onSendHeaders)
  }
  watchers += 1
  let released = false
  return () => {
    if (released) return
    released = true
    watchers -= 1
    if (watchers === 0) {
      unsubscribe(CREATE, onCreate)
      unsubscribe(SEND_HEADERS, onSendHeaders)
    }
  }
}

/**
 * Runs `send` (which starts one transport request) with `probe` as the probe its request reports
 * to. A request the transport queues and creates later, outside `send`, stays unprobed: its
 * facts are all `undefined`.
 */
export function probing<T>(probe: TransportProbe, send: () => T): T {
  current = probe
  try {
    return send()
  } finally {
    current = undefined
  }
}

/** Registers `request` (a node:http `ClientRequest` or similar) as the probe's, for transports that hand it over. */
export function claimRequest(request: object): TransportProbe | undefined {
  const probe = current
  if (probe === undefined) return undefined
  probes.set(request, probe)
  probe.watch()
  current = undefined
  return probe
}
