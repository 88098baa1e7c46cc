import { Agent, request } from 'node:http'
import { BACKEND_HEADER } from './demo-backends'
import { applySetCookie, cookieHeader, type CookieJar } from './demo-cookies'

/** What a browser saw from one request through the proxy. */
export interface Visit {
  readonly status: number
  /** The backend that answered (its name), or `undefined` when the proxy answered itself (502, 504). */
  readonly backend: string | undefined
  /** How the sticky cookie changed: set for the first time, replaced by another value, or left alone. */
  readonly cookie: 'new' | 'changed' | 'kept'
}

/** A simulated browser: one cookie jar and one keep-alive connection pool, like a browser tab. */
export interface DemoBrowser {
  readonly name: string
  /** Sends `GET path` to the proxy, stores what `Set-Cookie` says, and reports what it saw. */
  visit(path: string): Promise<Visit>
  /** Closes the browser's connections. */
  close(): void
}

/**
 * Creates a browser that talks to the proxy on 127.0.0.1:`port` and watches the cookie `cookieName`.
 */
export function createBrowser(name: string, port: number, cookieName: string): DemoBrowser {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  let jar: CookieJar = new Map()
  return {
    name,
    visit: (path) =>
      new Promise<Visit>((resolve, reject) => {
        const cookie = cookieHeader(jar)
        const req = request({ host: '127.0.0.1', port, path, agent, headers: cookie === undefined ? {} : { cookie } }, (res) => {
          const before = jar.get(cookieName)
          for (const setCookie of res.headers['set-cookie'] ?? []) jar = applySetCookie(jar, setCookie, Date.now())
          const after = jar.get(cookieName)
          const backend = res.headers[BACKEND_HEADER]
          res.resume()
          res.on('error', reject)
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              backend: typeof backend === 'string' ? backend : undefined,
              cookie: before === after ? 'kept' : before === undefined ? 'new' : 'changed',
            }),
          )
        })
        req.on('error', reject)
        req.end()
      }),
    close: () => agent.destroy(),
  }
}
