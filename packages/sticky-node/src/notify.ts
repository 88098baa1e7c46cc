import type { IncomingMessage } from 'node:http'
import { pathOf } from 'sticky-core'
import type { ProxyContext } from './context'
import type { ProxyResponseEvent } from './options'

/** What the exchange knows at its end; {@link notifyResponse} adds what the request says. */
export type ExchangeEnd = Omit<ProxyResponseEvent, 'request' | 'method' | 'path' | 'outcome'>

/**
 * Hands the finished exchange to the user's `onResponse`. An exception thrown there is the
 * application's bug, not the request's: it goes to `onError` and never reaches the event loop,
 * where it would take every other request down with the process.
 */
export function notifyResponse(ctx: ProxyContext, request: IncomingMessage, end: ExchangeEnd): void {
  const onResponse = ctx.onResponse
  if (onResponse === undefined) return
  try {
    onResponse({ ...end, request, method: request.method ?? '', path: pathOf(request.url ?? ''), outcome: end.decision.outcome })
  } catch (error) {
    reportHookError(ctx, error)
  }
}

/** Calls `onError`; if that throws too, the error is dropped rather than crash the process. */
export function reportHookError(ctx: ProxyContext, error: unknown): void {
  try {
    ctx.onError(error)
  } catch {
    // Nothing is left to tell: the application's own error handler failed.
  }
}
