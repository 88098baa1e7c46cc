import replyFrom from '@fastify/reply-from'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { contentLength, rawRequestRefusal, StickyConfigError } from 'sticky-core'
import { Exchange } from './exchange'
import { forwardingPlan } from './forwarded'
import { observedTransport } from './http-transport'
import type { ExchangeContext } from './exchange'
import type { ResolvedOptions } from './options'
import { originForm } from './origin-form'
import { upstreamPath } from './prefix'
import { ClientBody } from './request-body'
import { answerOwn } from './respond'
import { watchTransport } from './transport-probe'
import { installWebSocketProxy } from './websocket'

/**
 * Registers the proxy in its own encapsulated context (the caller passes `prefix` to
 * `register`): a private `@fastify/reply-from`, a catch-all content-type parser that hands the
 * raw request stream through unparsed (see {@link ClientBody}), and routes for every method on
 * the prefix and below it.
 */
export function registerProxy(instance: FastifyInstance, options: ResolvedOptions): void {
  const { prefix, rewritePrefix } = options
  checkTransport(options)
  const ctx: ExchangeContext = {
    balancer: options.balancer,
    retries: options.retries,
    timeout: options.timeout,
    trustProxy: options.trustProxy,
    forwarding: forwardingPlan(options),
    onResponse: options.onResponse,
    onError: options.onError,
  }
  const bodies = new WeakMap<FastifyRequest, ClientBody>()

  const transport = observedTransport(options.replyFrom)
  instance.register(replyFrom, transport.replyFrom)
  const release = watchTransport()
  instance.addHook('onClose', (_instance, done) => {
    release()
    transport.close()
    done()
  })
  instance.removeAllContentTypeParsers()
  instance.addContentTypeParser('*', (request, payload, parsed) => {
    const body = new ClientBody(payload, contentLength(request.headers['content-length']))
    bodies.set(request, body)
    parsed(null, body.open())
  })

  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    // The router matched the prefix; the raw URL still carries it as the client sent it.
    const path = upstreamPath(originForm(request.url), prefix, rewritePrefix)
    const exchange = new Exchange(ctx, request, reply, path, bodies.get(request))
    // node:http keeps every field line apart in rawHeaders: a second Host line is seen here.
    const refusal = rawRequestRefusal(request.raw.rawHeaders)
    if (refusal !== undefined) {
      exchange.refuse(refusal)
      return
    }
    try {
      exchange.start()
    } catch (error) {
      // reply-from refuses, before any I/O, a path that climbs out of the root or does not decode.
      if (!(error instanceof URIError) && (error as { statusCode?: unknown }).statusCode !== 400) throw error
      exchange.reject()
      answerOwn(reply, 400, 'STICKY_BAD_PATH', [], error)
    }
  }
  instance.all('/', handler)
  instance.all('/*', handler)
  if (options.websocket) installWebSocketProxy(instance, options)
}

/** undici, reply-from's default transport, cannot reach unix sockets; its `http` transport can. */
function checkTransport(options: ResolvedOptions): void {
  if (options.replyFrom.http !== undefined) return
  const index = options.balancer.peers.findIndex((peer) => peer.target.kind === 'unix')
  if (index === -1) return
  const peer = options.balancer.peers[index]
  throw new StickyConfigError(`peers[${index}].address`, peer?.address, 'a unix-socket peer needs the node:http transport: set replyFrom: { http: {} }')
}
