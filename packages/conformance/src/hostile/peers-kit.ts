import type { Socket } from 'node:net'
import fc from 'fast-check'
import { createBalancer, type BalancerOptions } from 'sticky-core'
import { suite, type Test } from 'uvu'
import { Scope } from '../scope'
import { fastCheckSeed } from '../seed'
import {
  brokenBodies,
  catalogue,
  connectionFailures,
  drips,
  everyValidFieldByte,
  everyValidReasonByte,
  fieldByte,
  fieldBytes,
  garbageHeads,
  interims,
  oversizedHeads,
  reasonByte,
  reasonBytes,
  response,
  responseFraming,
  silences,
  TIMEOUT_MS,
  unasked101,
  unasked101s,
  unreadUploads,
  upgradeCatalogue,
  upgradePeers,
  UPLOAD_BYTES,
  type Behaviour,
  type Expectation,
} from './behaviours'
import { startHostilePeer } from './peer'
import { plainGet, startGoodPeer } from './servers'
import type { HostileCapabilities, HostileFactory, HostileLimit, RunningHostile } from './types'
import { exchange, fieldValues, isFieldByte, show, type WireAnswer } from './wire'

/** Added to every guard: a guard catches a hang, it never measures speed. */
export const MARGIN_MS = 5_000

export const DEFAULT_CAPABILITIES: HostileCapabilities = { upgrade: false, onResponse: false, closesPool: true, runs: 1, limits: {} }

/** One hostile case: a behaviour of the peer and the request that meets it. */
export interface PeerCase {
  readonly behaviour: Behaviour
  readonly method: 'GET' | 'POST'
  /** The `retries` option: 1 lets an idempotent request go to the other peer. */
  readonly retries: 0 | 1
  /** Give the adapter an `onResponse` hook that throws. */
  readonly throwingHook?: boolean
}

/** The request bytes of a case (or a writer, for the upload). */
function requestFor(c: PeerCase, host: string, cookie: string): { bytes: Buffer | ((socket: Socket) => void); method: string; text: string } {
  const kind = c.behaviour.request ?? 'small'
  if (kind === 'upgrade') {
    const text = `GET /ws HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
    return { bytes: Buffer.from(text, 'latin1'), method: 'GET', text }
  }
  if (kind === 'upload') {
    const head = `POST /upload HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${UPLOAD_BYTES}\r\n\r\n`
    const writer = (socket: Socket): void => {
      socket.write(head)
      const chunk = Buffer.alloc(64 * 1024, 0x61)
      let sent = 0
      const pump = (): void => {
        while (sent < UPLOAD_BYTES && !socket.destroyed) {
          sent += chunk.length
          if (!socket.write(chunk)) {
            socket.once('drain', pump)
            return
          }
        }
      }
      pump()
    }
    return { bytes: writer, method: 'POST', text: `${head}<${UPLOAD_BYTES} bytes>` }
  }
  const text =
    c.method === 'GET'
      ? `GET /hostile HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\n\r\n`
      : `POST /hostile HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nping`
  return { bytes: Buffer.from(text, 'latin1'), method: c.method, text }
}

function describe(answer: WireAnswer, backend: string | undefined): string {
  if (answer.hung) return `nothing decisive (guard fired) after ${show(answer.raw, 200)}`
  if (answer.head === undefined) return answer.raw.length === 0 ? 'the connection closed without a byte' : `no head, only ${show(answer.raw, 200)}`
  const h = answer.head
  return `${h.status} ${show(h.reason, 40)} from ${backend ?? '(no x-backend)'}, body ${show(answer.body, 60)}, ${answer.complete ? 'complete' : 'incomplete'}${answer.closed ? ', connection closed' : ''}`
}

function sameBody(answer: WireAnswer, body: Buffer): boolean {
  return answer.complete && answer.body.equals(body)
}

/** Checks `answer` and the observed blame against `expect`; returns the problems, tagged by kind. */
function judge(expect: Expectation, retryAllowed: boolean, answer: WireAnswer, backend: string | undefined, blamed: boolean | undefined): string[] {
  const problems: string[] = []
  const got = describe(answer, backend)
  if (answer.hung) return [`[hang] the client got ${got}`]
  for (const head of [...answer.interim, ...(answer.head === undefined ? [] : [answer.head])]) {
    if (head.problems.length > 0) problems.push(`[invalid head] the proxy sent the client an invalid head (${head.problems.join('; ')})`)
  }
  if (answer.framingProblems.length > 0) problems.push(`[invalid head] the proxy's response framing is broken (${answer.framingProblems.join('; ')})`)
  const status = answer.head?.status ?? 0
  const blame = (want: boolean, why: string): void => {
    if (blamed === undefined) return
    if (blamed !== want) problems.push(`[blame] the peer was ${blamed ? '' : 'not '}reported failed, but ${why}`)
  }
  // A 101 carries no body and, in these cases, no X-Backend.
  const relayed = (s: number, body: Buffer): boolean => status === s && (s === 101 || (backend === 'hostile' && sameBody(answer, body)))
  const fail = (want: string): void =>
    void problems.push(
      status === 500
        ? `[throw] the adapter answered 500 (an error thrown while handling the response; no peer here answers 500); expected ${want}`
        : `[status] expected ${want}; the client got ${got}`,
    )

  switch (expect.kind) {
    case 'relay':
      if (!relayed(expect.status, expect.body)) fail(`the peer's ${expect.status} with body ${show(expect.body, 60)} relayed`)
      else blame(false, 'the peer answered a valid response (peer-answered)')
      break
    case 'lenient':
      if (status === 502) blame(true, 'the proxy refused the response as invalid with 502 (peer-protocol-error)')
      else if (relayed(expect.status, expect.body)) blame(false, 'the proxy accepted and relayed the response (peer-answered)')
      else fail(`the peer's ${expect.status} with body ${show(expect.body, 60)} relayed (read leniently), or 502`)
      break
    case 'connect':
      if (retryAllowed) {
        if (status !== 200 || backend !== 'good')
          fail('the request retried on the other peer (connect-failed / peer-reset of an idempotent request, retries left): its 200')
      } else if (status !== 502) fail('502 (connect-failed / peer-reset, no retry allowed)')
      blame(true, 'the peer dropped the connection before a response head (connect-failed / peer-reset)')
      break
    case 'protocol':
      if (status !== 502 && !(expect.or504 === true && status === 504)) {
        fail(`502${expect.or504 === true ? ' (or 504)' : ''} (peer-protocol-error, never retried)`)
      }
      blame(true, 'the peer answered bytes that are not acceptable HTTP/1.1 (peer-protocol-error)')
      break
    case 'silent':
      if (status !== 504) fail('504 (peer-silent)')
      blame(true, 'the peer went silent for longer than the timeout (peer-silent)')
      break
    case 'cut':
      if (status === 502 || (answer.head === undefined && answer.raw.length === 0 && answer.closed)) {
        // The break was seen before the head went out, or the client's connection was cut before
        // its first byte: either way the client cannot take the response for a whole one.
      } else if (status === expect.status && backend === 'hostile') {
        if (answer.complete && expect.mayLookComplete !== true) fail(`the peer's ${expect.status} cut short (an incomplete body), not a complete response`)
      } else {
        fail(`the peer's ${expect.status} cut short, or 502`)
      }
      blame(true, 'the peer broke its response body (peer-cut-response)')
      break
    case 'slow':
      if (status === 504) blame(true, 'the proxy answered 504 (peer-silent)')
      else if (relayed(expect.status, expect.body)) blame(false, 'the peer answered a valid response (peer-answered)')
      else fail(`the peer's ${expect.status} relayed, or 504`)
      break
    case 'early':
      if (!relayed(expect.status, expect.body)) fail(`the peer's early ${expect.status} relayed (peer-answered-early)`)
      else blame(false, 'the peer answered (peer-answered-early)')
      break
    case 'early-or-lost':
      // The reset can take the whole answer (502) or only its body (the status with an empty body).
      if (status !== 502 && !relayed(expect.status, expect.body) && !(status === expect.status && answer.body.length === 0)) {
        fail(`the peer's early ${expect.status} relayed, its status without the body the reset took, or 502 when it took all`)
      } else blame(false, 'the peer answered, or closed during the upload (peer-answered-early / peer-closed-during-upload)')
      break
    case 'unattributed':
      if (status !== 502) fail('502 (proxy-failed: the runtime refused what the peer sent, nobody to blame, nothing retried)')
      blame(false, 'the runtime, not the peer, refused the answer (proxy-failed)')
      break
    case 'safe':
      // Only the checks above and the case's own (no hang, the process alive, others served).
      break
    case 'tunnel': {
      const after = answer.body
      if (status !== 101) fail("the peer's 101 relayed")
      else {
        if (expect.closes && !answer.closed) problems.push(`[hang] the peer closed the tunnel, the client's side stayed open: ${got}`)
        if (expect.exact && !after.subarray(0, expect.after.length).equals(expect.after)) {
          problems.push(`[status] the tunnel's bytes ${show(expect.after)} did not reach the client whole: got ${show(after)}`)
        }
        blame(false, 'the peer accepted the upgrade (peer-answered)')
      }
      break
    }
  }
  return problems
}

/**
 * A uvu suite whose cases print how long they took when `HOSTILE_TIMING=1` (to find where a slow
 * run spends its time).
 */
export function timedSuite(title: string): Test {
  const inner = suite(title)
  if (process.env['HOSTILE_TIMING'] !== '1') return inner
  const timed = (name: string, body: () => Promise<void>): void =>
    inner(name, async () => {
      const started = Date.now()
      try {
        await body()
      } finally {
        process.stderr.write(`[${title}] ${Date.now() - started} ms: ${name}\n`)
      }
    })
  return Object.assign(timed, inner) as unknown as Test
}

/**
 * What a case accepts on a runtime with `limits`: the behaviour's own expectation first, then the
 * ones its limits allow, each with the limit that allows it.
 */
function expectationsUnder(b: Behaviour, limits: HostileCapabilities['limits']): { expect: Expectation; limit?: HostileLimit }[] {
  const out: { expect: Expectation; limit?: HostileLimit }[] = [{ expect: b.expect }]
  for (const limit of Object.keys(limits) as HostileLimit[]) {
    const declared = b.underLimit?.[limit]
    if (declared !== undefined) out.push({ expect: declared, limit })
    if (limit === 'protocol-as-lost-connection' && b.expect.kind === 'protocol') out.push({ expect: { kind: 'connect' }, limit })
    if (limit === 'cut-ends-cleanly' && b.expect.kind === 'cut') out.push({ expect: { ...b.expect, mayLookComplete: true }, limit })
  }
  return out
}

/** Waits until `condition` holds, polling; false when the guard elapsed first. */
async function until(condition: () => boolean, guardMs: number): Promise<boolean> {
  const deadline = Date.now() + guardMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

/** The options of the balancer every hostile case configures: one failure makes a peer unusable for a minute. */
function balancerFor(hostile: string, good: string): BalancerOptions {
  const health = { maxFails: 1, failTimeout: 60_000 }
  return {
    peers: [
      { address: hostile, ...health },
      { address: good, ...health },
    ],
  }
}

/** What one case found at once, and what it finds once the connections had time to close. */
export interface PeerCaseResult {
  /** Problems of the exchange itself; empty when the adapter behaved. */
  readonly problems: readonly string[]
  /** The runtime limit whose outcome the case accepted, if it took one. */
  readonly limit?: HostileLimit
  /**
   * Resolves, once the adapter closed its connection to the misbehaving peer (or the guard passed)
   * and everything the case started is closed, with the problems of that wait ([socket], [crash]).
   * Waiting for it in the background lets a runtime whose pool closes connections lazily (Node's
   * fetch keeps them about 4 s) cost no time per case.
   */
  readonly settled: Promise<readonly string[]>
}

/**
 * Runs one case: a hostile peer and a good one behind a fresh adapter, the request pinned to the
 * hostile peer by its cookie.
 */
export async function runPeerCase(factory: HostileFactory, capabilities: HostileCapabilities, c: PeerCase): Promise<PeerCaseResult> {
  const scope = new Scope()
  try {
    return await runInScope(scope, factory, capabilities, c)
  } catch (error) {
    await scope.close()
    throw error
  }
}

async function runInScope(scope: Scope, factory: HostileFactory, capabilities: HostileCapabilities, c: PeerCase): Promise<PeerCaseResult> {
  const problems: string[] = []
  const b = c.behaviour
  const good = await startGoodPeer('good')
  scope.defer(good, (g) => g.close())
  let proxy: RunningHostile | undefined
  let cookieG = ''
  const meanwhileProblems: string[] = []
  const meanwhile = async (): Promise<void> => {
    if (proxy === undefined) return
    const other = await plainGet(proxy.url, cookieG, TIMEOUT_MS + MARGIN_MS)
    if (other.answer.head?.status !== 200 || other.backend !== 'good') {
      meanwhileProblems.push(`[serve others] while the peer misbehaved, another client (pinned to the good peer) got ${describe(other.answer, other.backend)}`)
    }
  }
  const hostile = await startHostilePeer('hostile', b.script, meanwhile)
  scope.defer(hostile, (h) => h.close())
  const balancer = balancerFor(hostile.address, good.address)
  const model = createBalancer(balancer)
  const [hostilePeer, goodPeer] = model.peers
  if (hostilePeer === undefined || goodPeer === undefined) throw new Error('two peers expected')
  const cookieH = `route=${model.cookieValue(hostilePeer)}`
  cookieG = `route=${model.cookieValue(goodPeer)}`
  const running = await factory({ balancer, retries: c.retries, timeoutMs: TIMEOUT_MS, ...(c.throwingHook === true ? { throwingHook: true } : {}) })
  let closed = false
  const closeProxy = async (): Promise<void> => {
    if (closed) return
    closed = true
    await running.close()
  }
  scope.defer(running, closeProxy)
  proxy = running
  const host = new URL(running.url).host
  const request = requestFor(c, host, cookieH)
  const repro = `the client sent ${show(request.text, 400)} (retries ${c.retries}); the peer ${b.label}`
  const crashed = (): string[] => {
    const why = running.crashed()
    return why === undefined ? [] : [`[crash] ${why}`]
  }
  const finished = (found: string[]): PeerCaseResult => ({ problems: found, settled: scope.close().then(() => []) })

  if (b.refuse === true) await hostile.stopListening()
  const guard = b.delayMs + TIMEOUT_MS + MARGIN_MS
  const tunnelBytes = b.expect.kind === 'tunnel' ? (b.expect.closes ? Number.POSITIVE_INFINITY : b.expect.after.length) : undefined
  const answer = await exchange(running.url, request.bytes, { method: request.method, guardMs: guard, ...(tunnelBytes === undefined ? {} : { tunnelBytes }) })
  const backend = answer.head === undefined ? undefined : fieldValues(answer.head, 'x-backend')[0]
  if (crashed().length > 0) return finished([...crashed(), repro])

  // The proxy survives and serves other clients.
  const after = await plainGet(running.url, cookieG, TIMEOUT_MS + MARGIN_MS)
  if (crashed().length > 0) return finished([...crashed(), repro])
  if (after.answer.head?.status !== 200 || after.backend !== 'good') {
    problems.push(`[serve others] after the exchange, another client (pinned to the good peer) got ${describe(after.answer, after.backend)}`)
  }
  problems.push(...meanwhileProblems)

  // Blame: asked of the adapter's balancer, or probed black-box (a blamed peer is unusable, so a
  // client pinned to it is re-pinned to the good peer; the hostile one now answers well).
  if (b.refuse === true) await hostile.listen()
  hostile.setGood()
  let blamed: boolean | undefined
  if (running.usable !== undefined) {
    blamed = !(await running.usable(hostile.address, cookieH))
  } else {
    const probe = await plainGet(running.url, cookieH, TIMEOUT_MS + MARGIN_MS)
    if (probe.backend === 'hostile') blamed = false
    else if (probe.backend === 'good') blamed = true
    else problems.push(`[kit] the blame probe got ${describe(probe.answer, probe.backend)}`)
  }

  const retryAllowed = request.method === 'GET' && (b.request ?? 'small') === 'small' && c.retries >= 1
  let limit: HostileLimit | undefined
  const verdicts = expectationsUnder(b, capabilities.limits).map((e) => ({ ...e, problems: judge(e.expect, retryAllowed, answer, backend, blamed) }))
  const accepted = verdicts.find((v) => v.problems.length === 0)
  if (accepted === undefined) {
    problems.push(...(verdicts[0]?.problems ?? []))
    for (const v of verdicts.slice(1)) problems.push(`[limit] nor is it what the runtime's limit ${v.limit ?? ''} allows: ${v.problems.join('; ')}`)
  } else {
    limit = accepted.limit
  }
  if (hostile.scriptErrors.length > 0) problems.push(`[kit] the peer script failed: ${String(hostile.scriptErrors[0])}`)

  // A connection on which the peer misbehaved, or whose response the proxy did not relay whole,
  // cannot be reused: the proxy must close it (the peer itself holds it open). Checked in the
  // background; the case's servers stay up until then.
  hostile.release()
  const reusable =
    (b.expect.kind === 'relay' || b.expect.kind === 'lenient' || b.expect.kind === 'slow') &&
    answer.head?.status !== 502 &&
    answer.head?.status !== 504 &&
    answer.complete
  const settled = (async (): Promise<string[]> => {
    const late: string[] = []
    try {
      if (!reusable && !answer.hung && !(await until(() => hostile.hostileClosed(), TIMEOUT_MS + MARGIN_MS))) {
        late.push(
          `[socket] the proxy left its connection to the misbehaving peer open (${hostile.hostileSockets.length} accepted) ${TIMEOUT_MS + MARGIN_MS} ms after the exchange ended`,
        )
      }
      // A crash is told by the case that caused it (its exchange and the requests after it); here
      // it may be a later case's, in a process the cases share.
      await closeProxy()
      if (capabilities.closesPool && !(await until(() => hostile.hostileClosed(), MARGIN_MS))) {
        late.push('[socket] a connection to the peer stayed open after the adapter was closed')
      }
    } finally {
      await scope.close()
    }
    return late.length === 0 ? [] : [...late, repro]
  })()
  return { problems: problems.length === 0 ? [] : [...problems, repro], settled, ...(limit === undefined ? {} : { limit }) }
}

const methodArb = fc.constantFrom<'GET' | 'POST'>('GET', 'POST')
const retriesArb = fc.constantFrom<0 | 1>(0, 1)

function caseArb(behaviours: fc.Arbitrary<Behaviour>): fc.Arbitrary<PeerCase> {
  return fc.record({ behaviour: behaviours, method: methodArb, retries: retriesArb }).map((generated) => {
    const kind = generated.behaviour.request ?? 'small'
    let c: PeerCase = generated
    if (kind === 'upload') c = { ...generated, method: 'POST' }
    if (kind === 'upgrade') c = { ...generated, method: 'GET', retries: 0 }
    // fast-check prints a counterexample with this, instead of the script's source.
    return Object.assign(c, { [fc.toStringMethod]: () => `${kind === 'small' ? c.method : kind} (retries ${c.retries}); the peer ${c.behaviour.label}` })
  })
}

function failure(problems: readonly string[]): Error {
  return new Error(`\n  - ${problems.join('\n  - ')}`)
}

/**
 * Registers and runs the hostile-peer kit against the adapter `factory` starts: tiny `node:net`
 * peers that misbehave in every way HTTP/1.1 allows and several it does not, generated by
 * fast-check (seed printed, replay with `FC_SEED`). For each: the client gets the peer's response
 * relayed, or 502/504 as sticky-core's attempt policy says, never a hang; the adapter's process
 * survives and serves other clients meanwhile; the connection to the peer is closed; the peer is
 * reported failed exactly when the policy says it is at fault.
 */
export function runHostilePeers(name: string, factory: HostileFactory, capabilities: Partial<HostileCapabilities> = {}): void {
  const caps: HostileCapabilities = { ...DEFAULT_CAPABILITIES, ...capabilities }
  const seed = fastCheckSeed(`hostile peers ${name}`)
  const test = timedSuite(`hostile peers: ${name}`)
  test.after(async () => {
    await factory.dispose?.()
  })

  for (const [limit, why] of Object.entries(caps.limits)) console.log(`[hostile peers ${name}] runtime limit ${limit}: ${why}`)
  const limited = new Map<HostileLimit, number>()

  // Cases whose connections are still being watched: the last test of the suite waits for them.
  const lingering: { title: string; settled: Promise<readonly string[]> }[] = []
  const run = async (title: string, c: PeerCase): Promise<readonly string[]> => {
    const result = await runPeerCase(factory, caps, c)
    lingering.push({ title, settled: result.settled })
    if (result.limit !== undefined) limited.set(result.limit, (limited.get(result.limit) ?? 0) + 1)
    return result.problems
  }
  const one = (title: string, c: PeerCase): void => {
    test(title, async () => {
      const problems = await run(title, c)
      if (problems.length > 0) throw failure(problems)
    })
  }
  const property = (title: string, behaviours: fc.Arbitrary<Behaviour>, runs: number): void => {
    test(title, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb(behaviours), async (c) => {
          const problems = await run(`${title}: ${String((c as unknown as Record<symbol, () => string>)[fc.toStringMethod]?.())}`, c)
          if (problems.length > 0) throw failure(problems)
        }),
        { seed, numRuns: Math.max(1, Math.round(runs * caps.runs)), endOnFailure: true, includeErrorInReport: true },
      )
    })
  }
  const sweep = (title: string, behaviours: readonly Behaviour[]): void => {
    test(title, async () => {
      for (const behaviour of behaviours) {
        const problems = await run(`${title}: ${behaviour.label}`, { behaviour, method: 'GET', retries: 0 })
        if (problems.length > 0) throw failure(problems)
      }
    })
  }

  // Known defects, each a fixed case.
  one('regression: a control byte in the reason phrase (HTTP/1.1 200 O\\x01K)', { behaviour: reasonByte(0x01), method: 'GET', retries: 0 })
  one('regression: an obs-text byte in the reason phrase (HTTP/1.1 200 O\\xffK)', { behaviour: reasonByte(0xff), method: 'GET', retries: 0 })
  one('regression: an unasked 101 Switching Protocols to a GET', { behaviour: unasked101('hold'), method: 'GET', retries: 0 })
  if (caps.onResponse) {
    const body = Buffer.from('fine')
    const bytes = response(200, 'OK', body)
    one('regression: an onResponse hook that throws', {
      behaviour: {
        family: 'hook',
        label: `answers ${show(bytes)}, and the adapter's onResponse hook throws`,
        script: async (io) => {
          await io.request({ body: true })
          await io.meanwhile()
          await io.write(bytes)
        },
        expect: { kind: 'relay', status: 200, body },
        delayMs: 0,
      },
      method: 'GET',
      retries: 0,
      throwingHook: true,
    })
  } else {
    console.log(`[hostile peers ${name}] left out (no onResponse): an onResponse hook that throws`)
  }

  // Every misbehaviour the kit knows, once each, whatever the seed.
  for (const entry of catalogue()) {
    one(`${entry.behaviour.family}: ${entry.title}`, { behaviour: entry.behaviour, method: entry.method ?? 'GET', retries: entry.retries ?? 0 })
  }
  if (caps.upgrade) {
    for (const entry of upgradeCatalogue()) one(entry.title, { behaviour: entry.behaviour, method: 'GET', retries: 0 })
  }

  // Every byte: the invalid ones one by one, the valid ones all at once.
  const invalid: number[] = []
  for (let byte = 0; byte < 256; byte += 1) if (!isFieldByte(byte)) invalid.push(byte)
  sweep(
    'every invalid byte in the reason phrase, one at a time',
    invalid.map((byte) => reasonByte(byte)),
  )
  sweep('every valid byte in the reason phrase', [everyValidReasonByte()])
  sweep(
    'every invalid byte in a field value, one at a time',
    invalid.map((byte) => fieldByte('value', byte)),
  )
  sweep('every valid byte in a field value', [everyValidFieldByte()])

  // Generated misbehaviour around the catalogue's.
  property('generated: refused, reset or closed before a whole head', connectionFailures, 5)
  property('generated: status lines that are not HTTP', garbageHeads, 4)
  property('generated: any byte in the reason phrase', reasonBytes, 4)
  property('generated: any byte in a field name or value, odd field lines', fieldBytes, 5)
  property('generated: interim 1xx responses of every kind before the answer', interims, 3)
  property('generated: unasked 101 Switching Protocols', unasked101s, 3)
  property('generated: Content-Length with Transfer-Encoding, duplicated and malformed lengths', responseFraming, 4)
  property('generated: bad chunk sizes, short bodies, resets and silence mid-body', brokenBodies, 4)
  property('generated: oversized status lines and heads', oversizedHeads, 2)
  property('generated: a head that drips past the timeout', drips, 1)
  property('generated: silence before a whole head', silences, 1)
  property('generated: a peer that never reads the upload', unreadUploads, 1)
  if (caps.upgrade) property('generated: WebSocket peers that close abruptly or send garbage after 101', upgradePeers, 4)
  else console.log(`[hostile peers ${name}] left out (no upgrade): WebSocket peers`)

  test('every case above: the connection to the misbehaving peer was closed, the process survived', async () => {
    const found: string[] = []
    for (const { title, settled } of lingering.splice(0)) {
      const problems = await settled
      if (problems.length > 0) found.push(`${title}:\n    - ${problems.join('\n    - ')}`)
    }
    for (const [limit, count] of limited) console.log(`[hostile peers ${name}] ${count} case(s) took the outcome the runtime limit ${limit} allows`)
    if (found.length > 0) throw new Error(`\n  * ${found.join('\n  * ')}`)
  })

  test.run()
}
