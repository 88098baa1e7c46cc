import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type WebSocket from 'ws'
import { WebSocketServer } from 'ws'

/** One request a backend received, as it arrived from the proxy. */
export interface BackendRequest {
  /** `http` for a plain request, `websocket` for an upgrade the backend accepted. */
  readonly kind: 'http' | 'websocket'
  readonly method: string
  /** The request target, query included. */
  readonly url: string
  /** The `Cookie` header the backend got, or `null`. */
  readonly cookie: string | null
}

/** What the JSON endpoint answers. */
export interface Whoami {
  readonly backend: string
  readonly url: string
  readonly cookie: string | null
}

/** The first WebSocket message of a backend. */
export interface Greeting {
  readonly backend: string
  readonly cookie: string | null
}

/** A running backend. */
export interface Backend {
  readonly name: string
  /** `127.0.0.1:<port>`, the peer address to give the proxy. */
  readonly address: string
  readonly server: Server
  /** Every request and accepted upgrade, in order of arrival. */
  readonly requests: readonly BackendRequest[]
  /** Whether {@link stop} ran. */
  readonly stopped: boolean
  /**
   * Stops the backend as a crash would look from outside: the listening socket closes (new
   * connections are refused), open WebSockets are cut without a close frame, and every HTTP
   * connection, idle keep-alive ones included, is destroyed. Idempotent.
   */
  stop(): Promise<void>
}

/** Where the page's script asks for JSON, and where it opens its WebSocket. */
export const WHOAMI_PATH = '/api/whoami'
export const SOCKET_PATH = '/ws'

/**
 * The script of every backend's page. It never runs by itself: the test calls `whoami(step)` (a
 * `fetch()` of the JSON endpoint, credentials by default: same-origin) and `openSocket(step)` (opens a
 * WebSocket, waits for the greeting, sends `ping` and waits for the echo; the socket stays open) from
 * the page. Every WebSocket close is recorded in `sticky.closes`. The 10 s timers only guard against a
 * hang.
 */
export const PAGE_SCRIPT = `
window.sticky = { sockets: [], closes: [] };
window.whoami = async (step) => {
  const response = await fetch('${WHOAMI_PATH}?step=' + encodeURIComponent(step), { cache: 'no-store', signal: AbortSignal.timeout(10000) });
  return { status: response.status, body: await response.json() };
};
window.openSocket = (step) => new Promise((resolve, reject) => {
  const url = new URL('${SOCKET_PATH}?step=' + encodeURIComponent(step), location.href);
  url.protocol = 'ws:';
  const socket = new WebSocket(url);
  window.sticky.sockets.push(socket);
  const guard = setTimeout(() => reject(new Error('WebSocket ' + step + ': no greeting and echo within 10 s')), 10000);
  let greeting;
  socket.onmessage = (event) => {
    if (greeting === undefined) {
      greeting = JSON.parse(event.data);
      socket.send('ping');
      return;
    }
    clearTimeout(guard);
    resolve({ greeting, echo: event.data });
  };
  socket.onclose = (event) => {
    window.sticky.closes.push({ step, code: event.code, wasClean: event.wasClean });
    clearTimeout(guard);
    reject(new Error('WebSocket ' + step + ' closed before its echo: code ' + event.code));
  };
});
`

/** The HTML page of backend `name`; `<link rel="icon" href="data:,">` keeps the browser from asking for /favicon.ico. */
export function backendPage(name: string, url: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>backend ${name}</title></head>
<body>
<h1 id="backend">${name}</h1>
<p id="url">${url.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
}

/**
 * Starts backend `name` on 127.0.0.1 and an ephemeral port: `GET /page...` answers {@link backendPage},
 * `GET /api/whoami` answers {@link Whoami}, an upgrade to `/ws` is a WebSocket that greets with
 * {@link Greeting} and echoes every message as `<name>:<message>`; anything else is 404.
 */
export async function startBackend(name: string): Promise<Backend> {
  const requests: BackendRequest[] = []
  const sockets = new Set<WebSocket>()
  const upgrades = new Set<Duplex>()
  const cookieOf = (req: IncomingMessage): string | null => req.headers.cookie ?? null
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    requests.push({ kind: 'http', method: req.method ?? '', url, cookie: cookieOf(req) })
    const path = new URL(url, 'http://backend.invalid').pathname
    const headers = { 'cache-control': 'no-store' }
    if (req.method === 'GET' && path.startsWith('/page')) {
      res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(backendPage(name, url))
    } else if (req.method === 'GET' && path === WHOAMI_PATH) {
      const body: Whoami = { backend: name, url, cookie: cookieOf(req) }
      res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body))
    } else {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
    }
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/'
    if (new URL(url, 'http://backend.invalid').pathname !== SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    upgrades.add(socket)
    socket.once('close', () => upgrades.delete(socket))
    wss.handleUpgrade(req, socket, head, (ws) => {
      requests.push({ kind: 'websocket', method: req.method ?? '', url, cookie: cookieOf(req) })
      sockets.add(ws)
      ws.once('close', () => sockets.delete(ws))
      ws.on('message', (data) => ws.send(`${name}:${String(data)}`))
      const greeting: Greeting = { backend: name, cookie: cookieOf(req) }
      ws.send(JSON.stringify(greeting))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  let stopping: Promise<void> | undefined
  return {
    name,
    address: `127.0.0.1:${port}`,
    server,
    requests,
    get stopped() {
      return stopping !== undefined
    },
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const ws of sockets) ws.terminate()
        // Upgraded sockets are no longer the HTTP server's: closeAllConnections does not see them.
        for (const socket of upgrades) socket.destroy()
        server.closeAllConnections()
        wss.close()
        await closed
      })()
      return stopping
    },
  }
}
