import { Agent, createServer, request, type Server } from 'node:http'

/**
 * The smallest honest node:http reverse proxy, the floor any Node proxy is measured against: round
 * robin over `ports` on 127.0.0.1, a keep-alive agent upstream, bodies piped both ways, `X-Forwarded-For`
 * set, 502 when a peer fails. No affinity, no timeouts, no header hygiene.
 */
export function createBareProxy(ports: readonly number[]): { server: Server; close: () => void } {
  const agent = new Agent({ keepAlive: true })
  let next = 0
  const server = createServer((req, res) => {
    const port = ports[next]!
    next = (next + 1) % ports.length
    const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' }
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  return { server, close: () => agent.destroy() }
}
