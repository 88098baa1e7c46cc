import type { Peer } from 'sticky-core'

/**
 * The URL `@fastify/reply-from` fetches for `path` on `peer`. TCP peers use their origin; a
 * unix-socket peer uses reply-from's `unix+http://<encoded socket path>` form, which its
 * `node:http` transport understands (undici's does not).
 */
export function targetUrl(peer: Peer, path: string): string {
  const target = peer.target
  if (target.kind === 'unix') return `unix+http://${encodeURIComponent(target.socketPath)}${path}`
  return target.origin + path
}
