/**
 * Passive health of one peer, as nginx's round robin keeps it (`ngx_http_upstream_rr_peer_t`'s `fails`,
 * `accessed` and `checked`). Times are milliseconds from the balancer's injected clock. Mutable: one
 * record per peer, owned by the balancer that created it.
 */
export interface HealthState {
  /** Failures counted since the last reset. */
  fails: number
  /** When the last failure happened. */
  accessed: number
  /** When the last failure happened, or when a peer was last handed out after a quiet `failTimeout`. */
  checked: number
  /**
   * What active health checks last said (`Balancer.setChecked`): `'unchecked'` until they said
   * anything. Kept apart from the passive counts: a check neither adds nor clears failures.
   */
  active: CheckedState
}

/** A peer's active health check state: `'unchecked'` (no check result yet, usable), `'up'`, or `'down'`. */
export type CheckedState = 'unchecked' | 'up' | 'down'

/** The two per-peer parameters that drive {@link HealthState} (nginx `max_fails=` and `fail_timeout=`). */
export interface HealthPolicy {
  /** 0 turns tracking off. */
  readonly maxFails: number
  /** Milliseconds. */
  readonly failTimeout: number
}

/** A peer that never failed. */
export function createHealthState(): HealthState {
  return { fails: 0, accessed: Number.NEGATIVE_INFINITY, checked: Number.NEGATIVE_INFINITY, active: 'unchecked' }
}

/**
 * Whether failures leave the peer usable at `now`. It is not when tracking is on (`maxFails > 0`), it
 * has `fails >= maxFails`, and less than `failTimeout` passed since `checked`: nginx's
 * `max_fails && fails >= max_fails && now - checked <= fail_timeout`, at millisecond instead of second
 * resolution, so a peer that failed at `t` is unusable during `[t, t + failTimeout)`.
 */
export function isHealthy(state: HealthState, policy: HealthPolicy, now: number): boolean {
  return policy.maxFails === 0 || state.fails < policy.maxFails || now - state.checked >= policy.failTimeout
}

/**
 * Records that the peer was handed out at `now`. When `failTimeout` passed since `checked`, `checked`
 * moves to `now` (nginx's `ngx_http_upstream_get_peer`). For a peer that had reached `maxFails` this
 * request is the probe: the peer is unusable again for another `failTimeout` unless the probe's success
 * is reported first ({@link noteSuccess}), which resets the failures. Only one request at a time goes to
 * a peer that is coming back.
 */
export function noteSelected(state: HealthState, policy: HealthPolicy, now: number): void {
  if (now - state.checked >= policy.failTimeout) state.checked = now
}

/**
 * Counts one failure at `now` (nginx's `ngx_http_upstream_free_round_robin_peer` with `NGX_PEER_FAILED`).
 * Failures are counted even when tracking is off, as nginx does; they only matter once `maxFails > 0`.
 */
export function noteFailure(state: HealthState, now: number): void {
  state.fails++
  state.accessed = now
  state.checked = now
}

/**
 * Records a successful response. The failures are forgotten only if the peer was handed out after the
 * last failure's `failTimeout` (nginx: `if (peer->accessed < peer->checked) fails = 0`): a success
 * inside the window does not cancel failures, so `maxFails` failures within `failTimeout` still add up
 * when successes come between them.
 */
export function noteSuccess(state: HealthState): void {
  if (state.accessed < state.checked) state.fails = 0
}
