import replyFrom from '@fastify/reply-from'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { StickyConfigError } from 'sticky-core'
import type { Peer } from 'sticky-core'
import { clientCaused } from './client'
import { blamesPeer, classifyFailure } from './failure'
import { addForwarded } from './forwarded'
import { StickyGatewayError } from './gateway-error'
import { stripForUpstream, stripHopByHop } from './hop-by-hop'
import type { ResolvedOptions } from './options'
import { originForm } from './origin-form'
import { upstreamPath } from './prefix'
import { relayBody } from './request-body'
import { mayRetry } from './retry'
import { appendSetCookie } from './set-cookie'
import { targetUrl } from './target'

/** reply-from's own retries repeat the same URL; ours go to another peer, so its are off. */
const noSameUrlRetry = (): null => null

/**
 * Registers the proxy in its own encapsulated context (the caller passes `prefix` to
 * `register`): a private `@fastify/reply-from`, a catch-all content-type parser that hands the
 * raw request stream through unparsed (relayed, see `relayBody`), and routes for every method on
 * the prefix and below it.
 */
export function registerProxy(instance: FastifyInstance, options: ResolvedOptions): void {
  const { balancer, prefix, rewritePrefix, retries, timeout, xForwarded } = options
  checkTransport(options)

  instance.register(replyFrom, options.replyFrom)
  instance.removeAllContentTypeParsers()
  instance.addContentTypeParser('*', (_request, payload, parsed) => parsed(null, relayBody(payload)))

  function forward(request: FastifyRequest, reply: FastifyReply, path: string, tried: readonly Peer[]): void {
    const cookie = request.headers.cookie
    const decision = tried.length === 0 ? balancer.decide(cookie) : balancer.decide(cookie, { exclude: tried })
    request.sticky = decision
    const peer = decision.peer
    if (peer === null) {
      reply.send(new StickyGatewayError(decision.status ?? 502, 'STICKY_NO_PEER'))
      return
    }
    const attempts = [...tried, peer]
    reply.from(targetUrl(peer, path), {
      retryDelay: noSameUrlRetry,
      ...(timeout === undefined ? {} : { timeout }),
      rewriteRequestHeaders: (req, headers) => {
        const hopFree = stripForUpstream(headers)
        if (!xForwarded) return hopFree
        return addForwarded(hopFree, { address: req.raw.socket?.remoteAddress, protocol: req.protocol, host: req.host })
      },
      rewriteHeaders: (headers) => appendSetCookie(stripHopByHop(headers), decision.setCookie),
      onResponse: (_request, _reply, upstream) => {
        // reply-from still calls onResponse after it answered an invalid upstream status itself.
        if (reply.sent) {
          upstream.stream.destroy()
          return
        }
        balancer.report(peer, true)
        reply.send(upstream.stream)
      },
      onError: (_reply, { error }) => {
        if (clientCaused(error, request.raw, reply.raw)) {
          // Nobody reads this answer; nginx logs 499. The peer is neither blamed nor replaced.
          reply.code(499).send()
          return
        }
        const failure = classifyFailure(error)
        if (blamesPeer(failure)) balancer.report(peer, false)
        if (failure.retryable && mayRetry(request.method, request.body !== undefined, attempts.length, retries)) {
          forward(request, reply, path, attempts)
          return
        }
        const code = failure.status === 504 ? 'STICKY_UPSTREAM_TIMEOUT' : 'STICKY_UPSTREAM_FAILED'
        reply.send(new StickyGatewayError(failure.status, code, { cause: error }))
      },
    })
  }

  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    // The router matched the prefix; the raw URL still carries it as the client sent it.
    const path = upstreamPath(originForm(request.url), prefix, rewritePrefix)
    try {
      forward(request, reply, path, [])
    } catch (error) {
      // reply-from refuses, before any I/O, a path that climbs out of the root or does not decode.
      if (!(error instanceof URIError) && (error as { statusCode?: unknown }).statusCode !== 400) throw error
      reply.send(new StickyGatewayError(400, 'STICKY_BAD_PATH', { cause: error }))
    }
  }
  instance.all('/', handler)
  instance.all('/*', handler)
}

/** undici, reply-from's default transport, cannot reach unix sockets; its `http` transport can. */
function checkTransport(options: ResolvedOptions): void {
  if (options.replyFrom.http !== undefined) return
  const index = options.balancer.peers.findIndex((peer) => peer.target.kind === 'unix')
  if (index === -1) return
  const peer = options.balancer.peers[index]
  throw new StickyConfigError(
    `peers[${index}].address`,
    peer?.address,
    'a unix-socket peer needs the node:http transport: set replyFrom: { http: {} }',
  )
}
