import { createBalancer } from 'sticky-core'
import type { Balancer, BalancerOptions, Peer } from 'sticky-core'

/** A balancer that records every `report` the plugin makes, as `[peer address, ok]`. */
export interface RecordingBalancer {
  readonly balancer: Balancer
  readonly reports: ReadonlyArray<readonly [string, boolean]>
  /** The cookie header that pins a client to `peers[index]`. */
  cookieFor(index: number): string
  /** The configured peer at `index`. */
  peer(index: number): Peer
}

/** Builds a balancer from `options` whose reports are recorded (the real balancer is frozen). */
export function recordingBalancer(options: BalancerOptions): RecordingBalancer {
  const inner = createBalancer(options)
  const reports: Array<readonly [string, boolean]> = []
  const balancer: Balancer = {
    decide: (cookie, decideOptions) => inner.decide(cookie, decideOptions),
    report: (peer, ok) => {
      if (peer !== null) reports.push([typeof peer === 'string' ? peer : peer.address, ok])
      inner.report(peer, ok)
    },
    cookieValue: (peer) => inner.cookieValue(peer),
    get peers() {
      return inner.peers
    },
    setPeers: (peers) => inner.setPeers(peers),
    setChecked: (peer, up) => inner.setChecked(peer, up),
    isUsable: (peer) => inner.isUsable(peer),
    health: (peer) => inner.health(peer),
  }
  const peer = (index: number): Peer => {
    const found = inner.peers[index]
    if (found === undefined) throw new Error(`no peer at ${index}`)
    return found
  }
  return {
    balancer,
    reports,
    peer,
    cookieFor: (index) => `${options.cookie?.name ?? 'route'}=${inner.cookieValue(peer(index))}`,
  }
}
