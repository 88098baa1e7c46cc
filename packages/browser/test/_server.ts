import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the page server serves: the page at `/`, the core at {@link CORE_PATH}, nothing else. */
export interface PageSite {
  readonly page: string
  readonly core: string
}

/** A running page server. */
export interface PageServer {
  /** The page's URL, on 127.0.0.1 and an ephemeral port. */
  readonly url: string
  /** Method and path of every request received, in order. */
  readonly requests: readonly string[]
  close(): Promise<void>
}

/** Where the page imports the core from. */
export const CORE_PATH = '/sticky-core.js'

/** Serves the page and the built core on 127.0.0.1:0; other paths get 404. */
export async function startPageServer(site: PageSite): Promise<PageServer> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    // Module scripts are refused unless served with a JavaScript MIME type (HTML, "fetch a single module script").
    const body =
      req.method !== 'GET'
        ? undefined
        : path === '/'
          ? { type: 'text/html; charset=utf-8', text: site.page }
          : path === CORE_PATH
            ? { type: 'text/javascript; charset=utf-8', text: site.core }
            : undefined
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    res.writeHead(200, { 'content-type': body.type, 'cache-control': 'no-store' }).end(body.text)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
