// sticky-node in front of three backends, driven by headless Chromium through Playwright: the sticky cookie as
// the browser stores it, navigations, fetch() calls and a WebSocket of the page pinned to one backend, and the
// re-pinning when that backend stops. The scenario runs once (test/_sticky-scenario.ts); each case asserts on
// what it saw.
import { createHash } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chromiumGate } from './_chromium'
import { COOKIE, runStickyScenario, stepOf, type Observations, type Stage, type Step } from './_sticky-scenario'

const gate = chromiumGate('sticky-node browser test')

if (gate.kind === 'not-run') {
  // Registering nothing: the repository's runner miscounts uvu skips.
  process.stdout.write(`${gate.message}\n`)
} else if (gate.kind === 'fail') {
  const Missing = suite('sticky-node in Chromium')
  Missing('should find Chromium (CI must install it)', () => {
    assert.unreachable(gate.message)
  })
  Missing.run()
} else {
  const { executable } = gate
  let run: Promise<Observations> | undefined
  const observed = (): Promise<Observations> => (run ??= runStickyScenario(executable))

  /** The step named `name`; fails with the reason the scenario stopped if it never ran. */
  const stepNamed = (o: Observations, name: string): Step => {
    const found = o.steps.find((s) => s.name === name)
    if (found === undefined) assert.unreachable(`step ${name} did not run; the scenario stopped: ${o.aborted ?? '(no reason recorded)'}`)
    return found as Step
  }
  const stageSteps = (o: Observations, stage: Stage): Step[] => o.steps.filter((s) => s.stage === stage)
  const pinnedIn = (o: Observations, stage: Stage): string => {
    const name = o.pinned[stage - 1]
    if (name === undefined) assert.unreachable(`stage ${stage} was never pinned; the scenario stopped: ${o.aborted ?? '(no reason recorded)'}`)
    return name as string
  }
  const cookieValueOf = (o: Observations, backend: string): string => {
    const value = o.backends.find((b) => b.name === backend)?.cookieValue
    assert.ok(value !== undefined && value !== '', `no cookie value for ${backend}`)
    return value as string
  }
  /** The backends that received a request (or upgrade) of step `name`, one entry per request. */
  const receivers = (o: Observations, name: string): { backend: string; cookie: string | null; kind: string }[] =>
    o.backends.flatMap((b) => b.requests.filter((r) => stepOf(r.url) === name).map((r) => ({ backend: b.name, cookie: r.cookie, kind: r.kind })))
  /** The proxy's `onResponse` events for the plain requests of step `name`. */
  const proxyEvents = (o: Observations, name: string) => o.proxyLog.filter((e) => !e.upgrade && stepOf(e.url) === name)

  /**
   * After `step`, exactly one sticky cookie in the browser's store, with the configured attributes, naming
   * `value`, and set (its Set-Cookie received) during step `setBy`.
   */
  const assertJar = (step: Step, value: string, setBy: Step = step): void => {
    assert.is(step.jar.length, 1, `${step.name}: one ${COOKIE.name} cookie in the browser's store: ${JSON.stringify(step.jar)}`)
    const [cookie] = step.jar
    if (cookie === undefined) return
    assert.is(cookie.name, COOKIE.name, step.name)
    assert.is(cookie.value, value, `${step.name}: the cookie value`)
    assert.is(cookie.domain, '127.0.0.1', `${step.name}: a host-only cookie of the proxy's host`)
    assert.is(cookie.path, COOKIE.path, step.name)
    assert.is(cookie.httpOnly, true, `${step.name}: HttpOnly`)
    assert.is(cookie.secure, false, `${step.name}: not Secure`)
    assert.is(cookie.sameSite, COOKIE.sameSite, `${step.name}: SameSite`)
    // Max-Age=3600 counts from the moment the browser got the response, which lies within the step that set
    // the cookie; the second either side covers a browser that used the whole-second Expires instead.
    const earliest = setBy.from / 1000 + COOKIE.expires - 1
    const latest = setBy.to / 1000 + COOKIE.expires + 1
    assert.ok(cookie.expires >= earliest && cookie.expires <= latest, `${step.name}: expires ${cookie.expires} outside [${earliest}, ${latest}]`)
  }

  /** Every step of `stage` after `after` (the one that pinned it) reached `backend` alone, with its cookie, and was answered by it. */
  const assertStaysOn = (o: Observations, stage: Stage, backend: string, after: string): void => {
    const value = cookieValueOf(o, backend)
    const steps = stageSteps(o, stage)
    const assigned = stepNamed(o, after)
    const rest = steps.slice(steps.indexOf(assigned) + 1)
    assert.ok(
      rest.some((s) => s.via === 'navigation') && rest.some((s) => s.via === 'fetch') && rest.some((s) => s.via === 'websocket'),
      `stage ${stage} ran ${rest.map((s) => s.name).join(', ')}; the scenario stopped: ${o.aborted ?? '-'}`,
    )
    for (const step of rest) {
      assert.is(step.answeredBy, backend, `${step.name} (${step.via}) was answered by ${String(step.answeredBy)}`)
      if (step.via !== 'websocket') assert.is(step.status, 200, step.name)
      else assert.is(step.echo, `${backend}:ping`, `${step.name}: the WebSocket echoes through the proxy`)
      assert.equal(
        receivers(o, step.name),
        [{ backend, cookie: `${COOKIE.name}=${value}`, kind: step.via === 'websocket' ? 'websocket' : 'http' }],
        `${step.name}: only ${backend} got it, with the browser's cookie`,
      )
      const address = o.backends.find((b) => b.name === backend)?.address
      if (step.via !== 'websocket') {
        assert.equal(
          proxyEvents(o, step.name).map((e) => [e.outcome, e.peer, e.status]),
          [['hit', address, 200]],
          step.name,
        )
      } else {
        // The proxy reports an upgrade when its tunnel ends: for stages 1 and 2 when their backend stopped, long
        // before the scenario ended; stage 3's ends with the teardown and may be reported after it.
        const upgrades = o.proxyLog.filter((e) => e.upgrade && stepOf(e.url) === step.name).map((e) => [e.outcome, e.peer, e.status])
        if (stage !== 3 || upgrades.length > 0) assert.equal(upgrades, [['hit', address, 101]], `${step.name}: the proxy's upgrade event`)
      }
      // No Set-Cookie on a hit (refresh: 'assign'): the cookie, expiry included, is still the one set when the
      // backend was assigned.
      assertJar(step, value, assigned)
      assert.is(step.jar[0]?.expires, assigned.jar[0]?.expires, `${step.name}: the cookie was not re-sent`)
    }
  }

  const InChromium = suite('sticky-node in Chromium')

  InChromium('should drive headless Chromium through Playwright', async () => {
    const o = await observed()
    assert.match(o.userAgent, /Chrome\//)
    assert.ok(o.browserVersion !== '', 'Playwright reports the browser version')
  })

  InChromium('should store the sticky cookie with the configured attributes, read back through the browser', async () => {
    const o = await observed()
    const first = stepNamed(o, 's1-nav1')
    const backend = pinnedIn(o, 1)
    const address = o.backends.find((b) => b.name === backend)?.address ?? ''
    // The balancer's value, and nginx's: the md5 of the peer's ip:port.
    assert.is(cookieValueOf(o, backend), createHash('md5').update(address).digest('hex'))
    assert.is(first.status, 200)
    assertJar(first, cookieValueOf(o, backend))
    assert.is(o.documentCookie, '', 'an HttpOnly cookie is hidden from document.cookie')
    assert.equal(receivers(o, 's1-nav1'), [{ backend, cookie: null, kind: 'http' }], 'the first navigation carried no cookie')
    assert.equal(
      proxyEvents(o, 's1-nav1').map((e) => [e.outcome, e.peer, e.status]),
      [['new', address, 200]],
    )
  })

  InChromium('should send every navigation, fetch() and the WebSocket of the page to the backend it is pinned to', async () => {
    const o = await observed()
    const backend = pinnedIn(o, 1)
    assertStaysOn(o, 1, backend, 's1-nav1')
    for (const other of o.backends.filter((b) => b.name !== backend)) {
      assert.equal(
        other.requests.filter((r) => stepOf(r.url)?.startsWith('s1-')).map((r) => r.url),
        [],
        `${other.name} got nothing in stage 1`,
      )
    }
  })

  InChromium('should let no request reach a backend but those of the steps (no favicon or other stray request)', async () => {
    const o = await observed()
    for (const b of o.backends) {
      for (const r of b.requests) assert.match(stepOf(r.url) ?? '', /^s[1-3]-(nav|fetch|ws)\d*$/, `${b.name} got ${r.method} ${r.url}`)
    }
  })

  for (const stage of [1, 2] as const) {
    InChromium(`should close the page's WebSocket when its backend stops (stage ${stage})`, async () => {
      const o = await observed()
      const closes = o.closesAfterStop[stage - 1]
      assert.ok(closes !== undefined, `no backend was stopped after stage ${stage}; the scenario stopped: ${o.aborted ?? '-'}`)
      if (typeof closes === 'string') assert.unreachable(closes)
      else
        assert.equal(
          closes?.map((c) => c.step),
          [`s${stage}-ws`],
        )
    })
  }

  InChromium('should re-pin the next navigation to another backend when the pinned one stopped, with a new cookie', async () => {
    const o = await observed()
    const stopped = pinnedIn(o, 1)
    const step = stepNamed(o, 's2-nav1')
    const backend = pinnedIn(o, 2)
    assert.is.not(backend, stopped)
    assert.is(step.status, 200)
    assert.is(step.answeredBy, backend)
    assert.equal(
      receivers(o, 's2-nav1').map((r) => r.backend),
      [backend],
    )
    const address = o.backends.find((b) => b.name === backend)?.address
    assert.equal(
      proxyEvents(o, 's2-nav1').map((e) => [e.outcome, e.peer, e.status]),
      [['repinned', address, 200]],
    )
    assert.is.not(cookieValueOf(o, backend), cookieValueOf(o, stopped))
    assertJar(step, cookieValueOf(o, backend))
  })

  InChromium('should keep the page on the new backend afterwards', async () => {
    const o = await observed()
    assertStaysOn(o, 2, pinnedIn(o, 2), 's2-nav1')
  })

  InChromium('should re-pin a fetch() from the page when that backend stops too, and keep the page there', async () => {
    const o = await observed()
    const step = stepNamed(o, 's3-fetch1')
    const backend = pinnedIn(o, 3)
    assert.ok(backend !== pinnedIn(o, 1) && backend !== pinnedIn(o, 2), `stage 3 pinned to ${backend}`)
    assert.is(step.status, 200)
    assert.equal(
      receivers(o, 's3-fetch1').map((r) => r.backend),
      [backend],
    )
    const address = o.backends.find((b) => b.name === backend)?.address
    assert.equal(
      proxyEvents(o, 's3-fetch1').map((e) => [e.outcome, e.peer, e.status]),
      [['repinned', address, 200]],
    )
    assertJar(step, cookieValueOf(o, backend))
    assertStaysOn(o, 3, backend, 's3-fetch1')
  })

  InChromium('should have run to the end and closed everything it started', async () => {
    const o = await observed()
    assert.is(o.aborted, null)
    assert.equal(o.teardown.errors, [])
    assert.is(o.teardown.browserConnected, false)
    assert.is(o.teardown.proxyListening, false)
    assert.equal(o.teardown.backendsListening, [false, false, false])
  })

  InChromium.run()
}
