import type { IncomingMessage } from 'node:http'
import { callHook, pathOf } from 'sticky-core'
import type { ProxyContext } from './context'
import type { ProxyResponseEvent } from './options'

/** What the exchange knows at its end; {@link notifyResponse} adds what the request says. */
export type ExchangeEnd = Omit<ProxyResponseEvent, 'request' | 'method' | 'path' | 'outcome'>

/**
 * Hands the finished exchange to the user's `onResponse` (sticky-core's `callHook`: what it throws
 * goes to `onError`, never to the event loop).
 */
export function notifyResponse(ctx: ProxyContext, request: IncomingMessage, end: ExchangeEnd): void {
  const onResponse = ctx.onResponse
  if (onResponse === undefined) return
  // Written out, not spread: one object of one shape per response.
  const event: ProxyResponseEvent = {
    request,
    method: request.method ?? '',
    path: pathOf(request.url ?? ''),
    decision: end.decision,
    outcome: end.decision.outcome,
    status: end.status,
    peer: end.peer,
    attempts: end.attempts,
    durationMs: end.durationMs,
    error: end.error,
    upgrade: end.upgrade,
    requestId: end.requestId,
  }
  callHook(onResponse, event, ctx.onError)
}
