import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type Cookie, type Page } from 'playwright-core'
import type { ProxyResponseEvent, StickyProxy, StickyProxyOptions } from 'sticky-node'
import { startBackend, type Backend, type BackendRequest } from './_backends'
import { CHROMIUM_FLAGS } from './_chromium'

/** The proxy's cookie options (sticky-core: `expires` in seconds). */
export const COOKIE = { name: 'route', httpOnly: true, sameSite: 'Lax', path: '/', expires: 3600 } as const

/** Guards against a hang only (every browser call, the proxy's upstream timeout); nothing is measured against it. */
export const GUARD_MS = 15_000

/** The three stages: stage `n` runs while `n - 1` backends are stopped. */
export type Stage = 1 | 2 | 3

/** What the page did, and what came back to it. */
export interface Step {
  /** Unique; every request of the step carries it as `?step=<name>`. */
  readonly name: string
  readonly stage: Stage
  readonly via: 'navigation' | 'fetch' | 'websocket'
  /** The HTTP status the browser got (navigation and fetch; `null` for a WebSocket). */
  readonly status: number | null
  /** The backend the answer names: the page's `#backend`, the JSON's or the greeting's `backend`. */
  readonly answeredBy: string | null
  /** The WebSocket's echo of `ping`. */
  readonly echo: string | null
  /** The sticky cookie in the browser's cookie store (`context.cookies()`) right after the step. */
  readonly jar: readonly Cookie[]
  /** `Date.now()` before and after the step: the cookie's expiry is set in between. */
  readonly from: number
  readonly to: number
}

/** One `onResponse` event of the proxy. */
export interface ProxyEvent {
  readonly url: string
  readonly status: number
  readonly outcome: string
  readonly peer: string | null
  readonly attempts: number
  readonly error: string | null
  readonly upgrade: boolean
}

/** A WebSocket close the page saw. */
export interface SocketClose {
  readonly step: string
  readonly code: number
  readonly wasClean: boolean
}

/** Everything the scenario saw. Arrays are complete even when the scenario stopped early (see `aborted`). */
export interface Observations {
  readonly userAgent: string
  readonly browserVersion: string
  /** Backend names in peer order, their peer addresses and their cookie values (`balancer.cookieValue`). */
  readonly backends: readonly { readonly name: string; readonly address: string; readonly cookieValue: string; readonly requests: readonly BackendRequest[] }[]
  readonly steps: readonly Step[]
  readonly proxyLog: readonly ProxyEvent[]
  /** `document.cookie` in the first page: an HttpOnly cookie must not show. */
  readonly documentCookie: string | null
  /** The backend each stage was pinned to (its first step's answer), in order; stopped after its stage except the last. */
  readonly pinned: readonly string[]
  /** Per stopped backend: the closes the page saw of the WebSocket open to it, or why none came. */
  readonly closesAfterStop: readonly (readonly SocketClose[] | string)[]
  /** Why the scenario stopped before its end, if it did. */
  readonly aborted: string | null
  /** After teardown: nothing the scenario started may still run. */
  readonly teardown: {
    readonly errors: readonly string[]
    readonly browserConnected: boolean
    readonly proxyListening: boolean
    readonly backendsListening: readonly boolean[]
  }
}

const BACKEND_NAMES = ['backend-a', 'backend-b', 'backend-c'] as const

/** The `step` query parameter of a request target, or `null`. */
export function stepOf(url: string): string | null {
  return new URL(url, 'http://x.invalid').searchParams.get('step')
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
}

const asString = (value: unknown): string | null => (typeof value === 'string' ? value : null)

/**
 * Runs the whole scenario once in Chromium driven by Playwright and returns what it saw:
 *
 * 1. three backends and sticky-node in front of them, all on 127.0.0.1; the page navigates three times,
 *    fetches the JSON endpoint three times and opens a WebSocket (kept open);
 * 2. the backend that answered is stopped; the page navigates (expected: re-pinned), then navigates,
 *    fetches and opens a WebSocket again;
 * 3. that backend is stopped too; the page fetches (expected: re-pinned), then navigates, fetches and opens
 *    a WebSocket.
 *
 * It asserts nothing: a step that fails stops the scenario (`aborted`) with what was seen so far.
 * Everything started is closed before it returns.
 */
export async function runStickyScenario(executable: string): Promise<Observations> {
  const backends: Backend[] = []
  const proxyLog: ProxyEvent[] = []
  const steps: Step[] = []
  const pinned: string[] = []
  const closesAfterStop: (readonly SocketClose[] | string)[] = []
  const teardownErrors: string[] = []
  let userAgent = ''
  let browserVersion = ''
  let documentCookie: string | null = null
  let aborted: string | null = null
  let proxy: StickyProxy | undefined
  let browser: Browser | undefined
  const server = createServer((req, res) => {
    if (proxy === undefined) res.writeHead(503).end()
    else proxy(req, res)
  })
  server.on('upgrade', (req, socket, head) => {
    if (proxy === undefined) socket.destroy()
    else proxy.upgrade(req, socket, head)
  })

  try {
    for (const name of BACKEND_NAMES) backends.push(await startBackend(name))
    // Imported here, not at the top: a missing build fails the cases with this message, not the whole file.
    const sticky = await import('sticky-node').catch((error: unknown) => {
      throw new Error(`cannot import sticky-node (build it: npx tsup in packages/sticky-node): ${String(error)}`)
    })
    const options: StickyProxyOptions = {
      peers: backends.map((b) => b.address),
      cookie: { ...COOKIE },
      proxy: { timeout: GUARD_MS },
      onResponse: (event: ProxyResponseEvent) => {
        proxyLog.push({
          url: event.request.url ?? '',
          status: event.status,
          outcome: event.decision.outcome,
          peer: event.peer?.id ?? null,
          attempts: event.attempts,
          error: event.error ?? null,
          upgrade: event.upgrade,
        })
      },
    }
    proxy = sticky.createStickyProxy(options)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    browser = await chromium.launch({ executablePath: executable, args: [...CHROMIUM_FLAGS], timeout: 30_000 })
    browserVersion = browser.version()
    const context = await browser.newContext({ baseURL: origin })
    context.setDefaultTimeout(GUARD_MS)
    context.setDefaultNavigationTimeout(GUARD_MS)
    const page: Page = await context.newPage()
    userAgent = await page.evaluate('navigator.userAgent').then((ua) => asString(ua) ?? '')

    const jar = async (): Promise<Cookie[]> => (await context.cookies(origin)).filter((cookie) => cookie.name === COOKIE.name)

    const record = async (
      stage: Stage,
      name: string,
      via: Step['via'],
      act: () => Promise<{ status: number | null; answeredBy: string | null; echo?: string | null }>,
    ): Promise<Step> => {
      const from = Date.now()
      const { status, answeredBy, echo = null } = await act()
      const cookies = await jar()
      const step: Step = { name, stage, via, status, answeredBy, echo, jar: cookies, from, to: Date.now() }
      steps.push(step)
      return step
    }
    const navigate = (stage: Stage, name: string): Promise<Step> =>
      record(stage, name, 'navigation', async () => {
        const response = await page.goto(`/page?step=${name}`)
        const answeredBy = asString(await page.evaluate(`document.getElementById('backend')?.textContent ?? null`))
        return { status: response?.status() ?? null, answeredBy }
      })
    const fetchJson = (stage: Stage, name: string): Promise<Step> =>
      record(stage, name, 'fetch', async () => {
        const answer = asRecord(await page.evaluate(`whoami(${JSON.stringify(name)})`))
        const status = typeof answer.status === 'number' ? answer.status : null
        return { status, answeredBy: asString(asRecord(answer.body).backend) }
      })
    const openSocket = (stage: Stage, name: string): Promise<Step> =>
      record(stage, name, 'websocket', async () => {
        const answer = asRecord(await page.evaluate(`openSocket(${JSON.stringify(name)})`))
        return { status: null, answeredBy: asString(asRecord(answer.greeting).backend), echo: asString(answer.echo) }
      })
    /** Stops the backend the stage is pinned to and waits until the page saw its WebSocket close. */
    const stopPinned = async (): Promise<void> => {
      const name = pinned.at(-1)
      const backend = backends.find((b) => b.name === name)
      if (backend === undefined) throw new Error(`no running backend named ${String(name)} to stop`)
      await backend.stop()
      try {
        await page.waitForFunction('window.sticky.closes.length > 0', undefined, { timeout: GUARD_MS })
        const closes = (await page.evaluate('window.sticky.closes')) as unknown
        closesAfterStop.push(
          Array.isArray(closes)
            ? closes.map((c) => {
                const r = asRecord(c)
                return { step: asString(r.step) ?? '', code: typeof r.code === 'number' ? r.code : -1, wasClean: r.wasClean === true }
              })
            : `unreadable: ${JSON.stringify(closes)}`,
        )
      } catch (error) {
        closesAfterStop.push(`the page saw no WebSocket close within ${GUARD_MS} ms of stopping ${backend.name}: ${String(error)}`)
      }
    }
    const pin = (step: Step): void => {
      const live = backends.filter((b) => !b.stopped).map((b) => b.name)
      if (step.answeredBy === null || !live.includes(step.answeredBy)) {
        throw new Error(
          `step ${step.name} was answered by ${String(step.answeredBy)} (status ${String(step.status)}), not by one of the running backends ${live.join(', ')}`,
        )
      }
      pinned.push(step.answeredBy)
    }

    // Stage 1: a new browser, pinned by its first navigation.
    pin(await navigate(1, 's1-nav1'))
    documentCookie = asString(await page.evaluate('document.cookie'))
    await fetchJson(1, 's1-fetch1')
    await navigate(1, 's1-nav2')
    await fetchJson(1, 's1-fetch2')
    await navigate(1, 's1-nav3')
    await fetchJson(1, 's1-fetch3')
    await openSocket(1, 's1-ws')
    await stopPinned()

    // Stage 2: the next navigation finds the pinned backend gone.
    pin(await navigate(2, 's2-nav1'))
    await fetchJson(2, 's2-fetch1')
    await navigate(2, 's2-nav2')
    await fetchJson(2, 's2-fetch2')
    await openSocket(2, 's2-ws')
    await stopPinned()

    // Stage 3: this time a fetch() from the page (whose backend is gone) is the first to find out.
    pin(await fetchJson(3, 's3-fetch1'))
    await navigate(3, 's3-nav1')
    await fetchJson(3, 's3-fetch2')
    await openSocket(3, 's3-ws')
  } catch (error) {
    aborted = String(error)
  } finally {
    const attempt = async (what: string, close: () => Promise<unknown>): Promise<void> => {
      try {
        await close()
      } catch (error) {
        teardownErrors.push(`${what}: ${String(error)}`)
      }
    }
    await attempt('browser', async () => browser?.close())
    await attempt('proxy server', async () => {
      if (!server.listening) return
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
      server.closeAllConnections()
      proxy?.close()
      await closed
    })
    for (const backend of backends) await attempt(backend.name, () => backend.stop())
  }

  return {
    userAgent,
    browserVersion,
    backends: backends.map((b) => ({
      name: b.name,
      address: b.address,
      cookieValue: proxy?.balancer.cookieValue(proxy.balancer.peers.find((p) => p.id === b.address) ?? missingPeer(b.address)) ?? '',
      requests: b.requests,
    })),
    steps,
    proxyLog,
    documentCookie,
    pinned,
    closesAfterStop,
    aborted,
    teardown: {
      errors: teardownErrors,
      browserConnected: browser?.isConnected() ?? false,
      proxyListening: server.listening,
      backendsListening: backends.map((b) => b.server.listening),
    },
  }
}

function missingPeer(address: string): never {
  throw new Error(`the balancer has no peer ${address}`)
}
