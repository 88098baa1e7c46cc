import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'

/** A fetch handler as sticky-fetch exports one: `(request, env?) => Promise<Response>`. */
export type FetchHandler = (request: Request, env?: unknown) => Promise<Response>

/**
 * A node:http server in front of a fetch handler, as a Node user of sticky-fetch would write one: the
 * request becomes a `Request` (body streamed in), the `Response` is written back (body streamed out, each
 * `Set-Cookie` its own header). The client address reaches the handler as `env.remoteAddress`.
 */
export function serveFetchOnNode(handler: FetchHandler): Server {
  return createServer((req, res) => {
    void respond(handler, req, res)
  })
}

async function respond(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const response = await handler(toRequest(req), { remoteAddress: req.socket.remoteAddress })
    const headers: Record<string, string | string[]> = {}
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers[name] = value
    })
    const cookies = response.headers.getSetCookie()
    if (cookies.length > 0) headers['set-cookie'] = cookies
    res.writeHead(response.status, headers)
    if (response.body === null) {
      res.end()
      return
    }
    Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)
      .on('error', () => res.destroy())
      .pipe(res)
  } catch {
    if (!res.headersSent) res.writeHead(500).end()
    else res.destroy()
  }
}

function toRequest(req: IncomingMessage): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  const method = req.method ?? 'GET'
  const init: RequestInit & { duplex?: 'half' } = { method, headers }
  if (method !== 'GET' && method !== 'HEAD') {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
    init.duplex = 'half'
  }
  return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, init)
}
