import type { IncomingMessage } from 'node:http'
import type { ResolvedProxyOptions } from './options'

/** Lower-cased names of the fields {@link forwardedHeaders} writes when enabled. */
export function replacedByForwarding(xf: ResolvedProxyOptions['xForwarded']): Set<string> {
  const names = new Set<string>()
  if (xf.for) names.add('x-forwarded-for')
  if (xf.proto) names.add('x-forwarded-proto')
  if (xf.host) names.add('x-forwarded-host')
  return names
}

/**
 * The `X-Forwarded-*` fields for the request to the peer, as a flat raw list. `For` appends the
 * client's address to the list the client (or a proxy before us) sent; `Proto` and `Host` say how
 * this proxy was reached and replace whatever the client claimed.
 */
export function forwardedHeaders(req: IncomingMessage, xf: ResolvedProxyOptions['xForwarded']): string[] {
  const out: string[] = []
  if (xf.for) {
    const previous: string[] = []
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]?.toLowerCase() === 'x-forwarded-for') previous.push(req.rawHeaders[i + 1] ?? '')
    }
    const client = req.socket.remoteAddress
    if (client !== undefined) previous.push(client)
    const list = previous.map((v) => v.trim()).filter((v) => v !== '')
    if (list.length > 0) out.push('X-Forwarded-For', list.join(', '))
  }
  if (xf.proto) out.push('X-Forwarded-Proto', isEncrypted(req) ? 'https' : 'http')
  if (xf.host) {
    const host = req.headers.host
    if (host !== undefined && host !== '') out.push('X-Forwarded-Host', host)
  }
  return out
}

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: unknown }).encrypted === true
}
