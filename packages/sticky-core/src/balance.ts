/**
 * Smooth weighted round robin state of one peer: nginx's `weight`, `current_weight` and
 * `effective_weight`. Mutable, owned by the balancer.
 */
export interface WeightState {
  /** The configured weight. */
  readonly weight: number
  /** Accumulated credit; the peer with the most is picked next. */
  current: number
  /** The weight actually added per round: lowered by failures, recovers by one per round. */
  effective: number
}

/** A peer's round robin state before its first round. */
export function createWeightState(weight: number): WeightState {
  return { weight, current: 0, effective: weight }
}

/**
 * Picks the next peer for a new client with nginx's smooth weighted round robin
 * (`ngx_http_upstream_get_peer`): every eligible peer's `current` grows by its `effective` weight,
 * which recovers by one towards `weight`; the peer with the largest `current` wins, the first in list
 * order on ties; the winner's `current` drops by the sum of the effective weights. Over any
 * `sum(weight)` consecutive picks with the same eligible peers and no failures, each peer is picked
 * exactly `weight` times, interleaved (weights 5, 1, 1 give `a a b a c a a`).
 *
 * Ineligible peers are skipped without touching their state, as nginx skips down and failed peers.
 * O(n) in the number of peers.
 *
 * @param peers - one peer set (nginx keeps primaries and backups apart: call once per set).
 * @param eligible - whether a peer may take this client; `context` is passed through so that callers
 *   need not allocate a closure per call.
 * @returns the chosen peer, or undefined when none is eligible.
 */
export function pickSmoothWeighted<T extends WeightState, C>(peers: readonly T[], eligible: (peer: T, context: C) => boolean, context: C): T | undefined {
  let best: T | undefined
  let total = 0
  for (let i = 0; i < peers.length; i++) {
    const peer = peers[i] as T
    if (!eligible(peer, context)) continue
    peer.current += peer.effective
    total += peer.effective
    if (peer.effective < peer.weight) peer.effective++
    if (best === undefined || peer.current > best.current) best = peer
  }
  if (best !== undefined) best.current -= total
  return best
}

/**
 * Lowers a failed peer's effective weight by `weight / maxFails` (integer division, not below 0), so that
 * it gets fewer new clients while it recovers one point per round (nginx's
 * `ngx_http_upstream_free_round_robin_peer`). Nothing changes when tracking is off (`maxFails` 0).
 */
export function noteWeightFailure(state: WeightState, maxFails: number): void {
  if (maxFails === 0) return
  state.effective = Math.max(0, state.effective - Math.floor(state.weight / maxFails))
}
