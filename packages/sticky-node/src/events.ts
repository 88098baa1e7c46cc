import type { IncomingMessage } from 'node:http'
import { callHook } from 'sticky-core'
import type { AttemptEvent, AttemptVerdict, Peer } from 'sticky-core'
import type { ProxyContext } from './context'

/**
 * What `onAttempt` receives once per upstream attempt, when the core judged it (at the response head,
 * or when the attempt failed before one), and once more for a failure after the head (`afterHead`): the
 * facts a metrics exporter counts as attempts, retries and failures by kind, and the upstream latency.
 */
export interface AttemptRecord {
  /** The peer this attempt went to. */
  readonly peer: Peer
  /** What happened, in sticky-core's words (`peer-answered`, `connect-failed`, `peer-silent`, ...). */
  readonly event: AttemptEvent
  /**
   * sticky-core's verdict: `next` (`relay`, `retry-other`, `resend-same`, `answer`), `blame` (a passive
   * failure was counted against the peer), `credit`, and the proxy's `status` and `error` when it answers.
   */
  readonly verdict: AttemptVerdict
  /** 1 for the first attempt of the request, then 2, 3, ... (resends included). */
  readonly attempt: number
  /** This attempt went to another peer after a failed one (`retry-other`). */
  readonly retry: boolean
  /** This attempt resent the request to the same peer on a fresh connection (`resend-same`). */
  readonly resend: boolean
  /**
   * The attempt's failure after its response head was relayed (`peer-cut-response`, `client-gone`): a
   * second record for the same attempt. Count attempts as the records without it.
   */
  readonly afterHead: boolean
  /**
   * Milliseconds from the attempt's start (before connecting) to its response head or failure: the
   * upstream latency. For an `afterHead` record, to that failure.
   */
  readonly durationMs: number
  /** The client's request. */
  readonly request: IncomingMessage
}

/**
 * What `onHealthChange` receives when a peer's health changed: active checks changed their verdict
 * (`reason: 'check'`), or passive health made a usable peer unusable, or saw it answer again after that
 * (`reason: 'passive'`).
 */
export interface HealthChangeEvent {
  readonly peer: Peer
  /** Whether the peer takes requests now (`balancer.isUsable(peer)`), after the change. */
  readonly usable: boolean
  readonly reason: 'check' | 'passive'
  /** With `reason: 'check'`: what the checks now say. */
  readonly checked: 'up' | 'down' | undefined
  /**
   * Why: for a check, the last check's result (`'status 200'`, `'status 503'`, `'timeout'`,
   * `'error ECONNREFUSED'`); for passive health, `'failure'` or `'success'`.
   */
  readonly detail: string
}

/** The event hooks of one proxy and the per-peer counts they need. Internal. */
export interface ProxyEvents {
  readonly onAttempt: ((record: AttemptRecord) => void) | undefined
  readonly onHealthChange: ((event: HealthChangeEvent) => void) | undefined
  /** Open upstream attempts per route key (`StickyProxy.inFlight`). */
  readonly inFlight: Map<string, number>
  /** Peers whose passive failures made them unusable, until a success is reported while usable. */
  readonly passiveDown: Set<string>
}

/** Counts an attempt to `peer` as open (`open = true`) or over. */
export function countInFlight(events: ProxyEvents, peer: Peer, open: boolean): void {
  const n = (events.inFlight.get(peer.id) ?? 0) + (open ? 1 : -1)
  if (n > 0) events.inFlight.set(peer.id, n)
  else events.inFlight.delete(peer.id)
}

/** Hands a record to `onAttempt`; what it throws goes to `onError`. */
export function emitAttempt(ctx: ProxyContext, record: AttemptRecord): void {
  callHook(ctx.events.onAttempt, record, ctx.onError)
}

/** Hands a change to `onHealthChange`; what it throws goes to `onError`. */
export function emitHealthChange(ctx: ProxyContext, event: HealthChangeEvent): void {
  callHook(ctx.events.onHealthChange, event, ctx.onError)
}

/**
 * `balancer.report(peer, ok)`, telling `onHealthChange` when a failure made a usable peer unusable, and
 * when a peer so taken out answers again while usable (its failure window over). Without the hook it is
 * the plain report: nothing more is read per request.
 */
export function reportPassive(ctx: ProxyContext, peer: Peer, ok: boolean): void {
  const balancer = ctx.balancer
  const events = ctx.events
  if (events.onHealthChange === undefined) return balancer.report(peer, ok)
  if (ok) {
    balancer.report(peer, true)
    if (events.passiveDown.size === 0 || !events.passiveDown.has(peer.id) || !balancer.isUsable(peer)) return
    events.passiveDown.delete(peer.id)
    emitHealthChange(ctx, { peer, usable: true, reason: 'passive', checked: undefined, detail: 'success' })
    return
  }
  const was = balancer.isUsable(peer)
  balancer.report(peer, false)
  if (!was || balancer.isUsable(peer)) return
  events.passiveDown.add(peer.id)
  emitHealthChange(ctx, { peer, usable: false, reason: 'passive', checked: undefined, detail: 'failure' })
}
