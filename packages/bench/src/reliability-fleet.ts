// The clients of the reliability bench: closed-loop browsers, each with its own keep-alive connection
// (an http.Agent of one socket per origin) and its own cookie jar, sending `GET /` until the time is up
// and writing down which backend served each response and every request that failed.
import { Agent, request, type IncomingMessage } from 'node:http'
import { BACKEND_HEADER } from './backend-protocol'

/** What the fleet is to do. */
export interface FleetPlan {
  /** The proxies' origins, e.g. `http://127.0.0.1:8080`. */
  readonly origins: readonly string[]
  /** Concurrent clients. */
  readonly clients: number
  readonly durationMs: number
  /**
   * Requests per session; a session is one browser: a fresh cookie jar and fresh connections. After
   * that many requests the client closes its connections and starts a new session. `Infinity`: one
   * session per client for the whole run.
   */
  readonly sessionRequests: number
  /**
   * Whether a session alternates its requests between the origins (even sessions start with the first
   * origin, odd ones with the second), or sends every request to the first origin.
   */
  readonly alternate: boolean
  /** The pin cookie's name. */
  readonly cookieName: string
  /** The backend (index) each pin cookie value names, to check the cookie against the backend that answered. */
  readonly backendOfCookie: ReadonlyMap<string, number>
  /** A request with no socket activity for this long is abandoned and counted as failed (`timeout`). */
  readonly requestTimeoutMs: number
}

/** A session's move from one backend to another, seen in two successive successful responses. */
export interface BackendChange {
  /** Milliseconds since the fleet started, when the response from the new backend arrived. */
  readonly at: number
  readonly from: number
  readonly to: number
}

/** One browser session (the whole run of a client when sessions do not end). */
export interface SessionRecord {
  readonly client: number
  /** Milliseconds since the fleet started. */
  readonly startedAt: number
  /** Requests sent (completed or failed). */
  requests: number
  /** Requests sent to each origin. */
  readonly perOrigin: number[]
  /** The backend of the first successful response, and when it arrived (ms since the fleet started). */
  first: number | undefined
  firstAt: number
  /** The backend of the latest successful response. */
  last: number | undefined
  /** When the latest successful response arrived (ms since the fleet started). */
  lastAt: number
  /** The origin whose answer first set the pin cookie. */
  pinnedVia: number | undefined
  readonly changes: BackendChange[]
}

/** A request that did not end with a complete 2xx response. */
export interface FailedRequest {
  /** Milliseconds since the fleet started, when the failure was seen. */
  readonly at: number
  /** Milliseconds since the fleet started, when the request was sent. */
  readonly sentAt: number
  readonly client: number
  /** Index into {@link FleetResult.sessions}. */
  readonly session: number
  readonly origin: number
  /** The backend the session was on before this request (undefined before its first success). */
  readonly pinned: number | undefined
  /** The status of a non-2xx answer. */
  readonly status: number | undefined
  /** The error code of a request that got no complete answer (`ECONNRESET`, `timeout`, `incomplete`, ...). */
  readonly error: string | undefined
  /** Whether the client sent it on a kept-alive connection that had carried earlier requests. */
  readonly reusedSocket: boolean
  /** The backend header of a non-2xx answer, if a backend sent it. */
  readonly backend: number | undefined
  /** The start of a non-2xx answer's body. */
  readonly body: string
}

/** Everything the fleet saw. */
export interface FleetResult {
  /** `Date.now()` when the fleet started: the origin of every `at` in the result. */
  readonly startedAt: number
  /** Milliseconds from start to the end of the last request. */
  readonly elapsedMs: number
  /** Requests sent: completed plus failed. */
  readonly issued: number
  /** Complete 2xx responses. */
  readonly completed: number
  readonly failures: readonly FailedRequest[]
  readonly sessions: readonly SessionRecord[]
  /** Complete 2xx responses per second of the run (index: whole seconds since start). */
  readonly perSecond: readonly number[]
  /** Complete 2xx responses per backend. */
  readonly served: readonly number[]
  /** Complete 2xx responses per origin. */
  readonly perOrigin: readonly number[]
  /** 2xx responses without the backend header: the benchmark cannot tell who served them. */
  readonly unnamed: number
  /** 2xx responses after which the client's pin cookie named no backend or another backend than the one that answered. */
  readonly cookieMismatches: number
}

/** A running fleet. */
export interface Fleet {
  /** `Date.now()` when it started. */
  readonly startedAt: number
  /** `performance.now()` when it started: the origin of every `at` in its result. */
  readonly origin: number
  /** Completed and failed requests so far (for progress lines). */
  progress(): { readonly completed: number; readonly failed: number }
  /** Resolves when every client finished its last request after the duration. */
  readonly done: Promise<FleetResult>
}

type Outcome =
  | { readonly kind: 'ok'; readonly backend: number | undefined; readonly setCookie: readonly string[] }
  | {
      readonly kind: 'failed'
      readonly status: number | undefined
      readonly error: string | undefined
      readonly backend: number | undefined
      readonly body: string
    }

/** Starts `plan.clients` clients at once; see {@link FleetPlan}. */
export function startFleet(plan: FleetPlan): Fleet {
  if (plan.origins.length === 0) throw new RangeError('a fleet needs an origin')
  const startedAt = Date.now()
  const started = performance.now()
  const deadline = started + plan.durationMs
  const elapsed = (): number => performance.now() - started
  const sessions: SessionRecord[] = []
  const failures: FailedRequest[] = []
  const perSecond: number[] = []
  const served: number[] = []
  const perOrigin = plan.origins.map(() => 0)
  let completed = 0
  let unnamed = 0
  let cookieMismatches = 0

  async function client(index: number): Promise<void> {
    while (performance.now() < deadline) {
      const sessionIndex = sessions.length
      const session: SessionRecord = {
        client: index,
        startedAt: elapsed(),
        requests: 0,
        perOrigin: plan.origins.map(() => 0),
        first: undefined,
        firstAt: 0,
        last: undefined,
        lastAt: 0,
        pinnedVia: undefined,
        changes: [],
      }
      sessions.push(session)
      const jar = new Map<string, string>()
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      const offset = plan.alternate ? sessionIndex % plan.origins.length : 0
      try {
        for (let n = 0; n < plan.sessionRequests && performance.now() < deadline; n++) {
          const origin = plan.alternate ? (n + offset) % plan.origins.length : 0
          const sentAt = elapsed()
          session.requests += 1
          session.perOrigin[origin]! += 1
          const { outcome, reusedSocket } = await get(plan.origins[origin]!, agent, jar, plan.requestTimeoutMs)
          const at = elapsed()
          if (outcome.kind === 'failed') {
            const { status, error, backend, body } = outcome
            failures.push({ at, sentAt, client: index, session: sessionIndex, origin, pinned: session.last, reusedSocket, status, error, backend, body })
            continue
          }
          completed += 1
          perOrigin[origin]! += 1
          const second = Math.floor(at / 1000)
          while (perSecond.length <= second) perSecond.push(0)
          perSecond[second]! += 1
          for (const line of outcome.setCookie) {
            const pair = line.split(';', 1)[0]!
            const eq = pair.indexOf('=')
            if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
          }
          const backend = outcome.backend
          if (backend === undefined) {
            unnamed += 1
            continue
          }
          served[backend] = (served[backend] ?? 0) + 1
          const pin = jar.get(plan.cookieName)
          if (pin === undefined || plan.backendOfCookie.get(pin) !== backend) cookieMismatches += 1
          if (session.pinnedVia === undefined && outcome.setCookie.some((c) => c.startsWith(`${plan.cookieName}=`))) session.pinnedVia = origin
          if (session.first === undefined) {
            session.first = backend
            session.firstAt = at
          } else if (backend !== session.last) session.changes.push({ at, from: session.last!, to: backend })
          session.last = backend
          session.lastAt = at
        }
      } finally {
        agent.destroy()
      }
    }
  }

  const done = Promise.all(Array.from({ length: plan.clients }, (_, i) => client(i))).then(
    (): FleetResult => ({
      startedAt,
      elapsedMs: elapsed(),
      issued: completed + failures.length,
      completed,
      failures,
      sessions,
      perSecond,
      served: Array.from({ length: served.length }, (_, i) => served[i] ?? 0),
      perOrigin,
      unnamed,
      cookieMismatches,
    }),
  )
  return { startedAt, origin: started, progress: () => ({ completed, failed: failures.length }), done }
}

/** One `GET /` with the jar's cookies; never rejects: a failure is an outcome. */
function get(origin: string, agent: Agent, jar: ReadonlyMap<string, string>, timeoutMs: number): Promise<{ outcome: Outcome; reusedSocket: boolean }> {
  return new Promise((resolve) => {
    let settled = false
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const req = request(`${origin}/`, { agent, headers: cookie === '' ? {} : { cookie } })
    const finish = (outcome: Outcome): void => {
      if (settled) return
      settled = true
      resolve({ outcome, reusedSocket: req.reusedSocket })
    }
    const fail = (error: string, res?: IncomingMessage): void => finish({ kind: 'failed', status: undefined, error, backend: backendOf(res), body: '' })
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'timeout' })))
    req.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message))
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      const ok = status >= 200 && status < 300
      const chunks: Buffer[] = []
      let length = 0
      res.on('data', (chunk: Buffer) => {
        if (!ok && length < 200) chunks.push(chunk)
        length += chunk.length
      })
      res.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message, res))
      res.on('aborted', () => fail('response-aborted', res))
      res.on('end', () => {
        if (!res.complete) return fail('incomplete', res)
        const setCookie = res.headers['set-cookie'] ?? []
        if (ok) return finish({ kind: 'ok', backend: backendOf(res), setCookie })
        finish({ kind: 'failed', status, error: undefined, backend: backendOf(res), body: Buffer.concat(chunks).toString('utf8').slice(0, 200).trim() })
      })
      // A response whose connection closes before its end is reported by 'aborted' or 'error'; this
      // catches one that closes with neither.
      res.on('close', () => {
        if (!res.complete) fail('incomplete', res)
      })
    })
    req.end()
  })
}

function backendOf(res: IncomingMessage | undefined): number | undefined {
  const value = res?.headers[BACKEND_HEADER]
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined
  return Number(value)
}
