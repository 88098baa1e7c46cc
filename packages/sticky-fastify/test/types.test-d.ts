// Compiled by `tsc -p test/tsconfig.json` (the package's typecheck), never run: it pins the public types.
import Fastify from 'fastify'
import { createBalancer } from 'sticky-core'
import type { Decision, Outcome, Peer, SharedProxyOptions } from 'sticky-core'
import stickyDefault, { stickyProxy, StickyGatewayError } from '../src/index'
import type { StickyFastifyOptions } from '../src/index'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

export async function typeChecks(sharedShape: boolean): Promise<void> {
  const app = Fastify()

  await app.register(stickyProxy, {
    peers: ['10.0.0.1:8080', { address: 'http://app-2.internal:8080', weight: 2 }],
    cookie: { name: 'route', sameSite: 'Lax', secure: true, expires: 3600 },
    prefix: '/app',
    rewritePrefix: '/app',
    proxy: { retries: 1, timeout: '5s', xForwarded: { for: true, host: false } },
    replyFrom: { undici: { connections: 64 } },
  })
  await app.register(stickyDefault, { balancer: createBalancer({ peers: ['10.0.0.3:8080'] }), forward: false })

  const options: StickyFastifyOptions = { peers: ['10.0.0.1:8080'], prefix: '/x' }
  await app.register(stickyProxy, options)

  app.get('/', async (request) => {
    const sticky: Decision | null = request.sticky
    const pinned: Equal<typeof request.sticky, Decision | null> = true
    if (request.sticky === null) return { pinned }
    const outcome: Outcome = request.sticky.outcome
    const exact: Equal<typeof request.sticky.outcome, Outcome> = true
    const peer: Peer | null = request.sticky.peer
    return { sticky, outcome, exact, peer: peer?.target.origin }
  })

  // @ts-expect-error: not a hash mode
  await app.register(stickyProxy, { peers: ['10.0.0.1:8080'], hash: 'crc32' })
  // @ts-expect-error: retries is a number
  await app.register(stickyProxy, { peers: ['10.0.0.1:8080'], proxy: { retries: '2' } })
  // @ts-expect-error: proxy is the shared object, not the mode switch (that is forward)
  await app.register(stickyProxy, { peers: ['10.0.0.1:8080'], proxy: false })
  // @ts-expect-error: hash and hmac exclude each other
  await app.register(stickyProxy, { peers: ['10.0.0.1:8080'], hash: 'md5', hmac: { algorithm: 'md5', key: 'k' } })
  if (sharedShape) {
    const shared: SharedProxyOptions = { timeout: '1m', retries: 0, xForwarded: false }
    await app.register(stickyProxy, { peers: ['10.0.0.1:8080'], proxy: shared })
  }
  // @ts-expect-error: a balancer or peers, not both
  await app.register(stickyProxy, { balancer: createBalancer({ peers: ['10.0.0.1:8080'] }), peers: ['10.0.0.2:8080'] })
  // @ts-expect-error: reply-from's base is fixed per request by the plugin
  await app.register(stickyProxy, { peers: ['10.0.0.1:8080'], replyFrom: { base: 'http://10.0.0.1:8080' } })
  // @ts-expect-error: peers are required without a balancer
  await app.register(stickyProxy, { prefix: '/app' })

  const error = new StickyGatewayError(502, 'STICKY_NO_PEER')
  const status: 400 | 408 | 501 | 502 | 503 | 504 = error.statusCode
  void status
}
