import { assertCookieValue } from './cookie-syntax'
import { StickyConfigError } from './errors'
import { hmac, md5, sha1, type HashInput } from './hash'
import { linuxSockaddr } from './legacy'
import type { ResolvedOptions } from './options'
import type { ParsedPeer } from './peers'

/** The cookie values of one peer. */
export interface PeerCookieValues {
  /** The value issued to clients. */
  readonly value: string
  /** Values of the original module and nginx-sticky-module-ng up to 1.2.6, also accepted (`legacy: true`), never issued. */
  readonly legacy: readonly string[]
}

/**
 * Computes every peer's cookie value: the digest (`md5`, `sha1` or HMAC, lowercase hex) of its route key,
 * the route key itself (`raw`), or its position (`index`: primaries count from 0 in list order, backups
 * continue after the last primary). An explicit `route` is the value verbatim, or its HMAC under `hmac`.
 * With `legacy`, IP-literal peers also get the digest of their Linux `struct sockaddr`.
 *
 * @throws StickyConfigError when a `raw` route key is not a valid cookie value, or two values collide.
 */
export function computeCookieValues(peers: readonly ParsedPeer[], options: ResolvedOptions): PeerCookieValues[] {
  const digest = digestOf(options)
  const keyed = options.hmac === undefined ? undefined : digest
  const positions = indexPositions(peers)
  const owner = new Map<string, ParsedPeer>()
  const claim = (value: string, item: ParsedPeer, field: string): void => {
    const other = owner.get(value)
    if (other !== undefined) {
      throw new StickyConfigError(
        `peers[${item.index}].${field}`,
        field === 'route' ? item.peer.route : item.peer.address,
        `its cookie value ${JSON.stringify(value)} is also the value of peers[${other.index}]`,
      )
    }
    owner.set(value, item)
  }

  const values = peers.map((item, i): PeerCookieValues => {
    const { peer } = item
    let value: string
    if (peer.route !== undefined) value = keyed === undefined ? peer.route : keyed(peer.route)
    else if (digest !== undefined) value = digest(peer.id)
    else if (options.hash === 'index') value = String(positions[i])
    else {
      assertCookieValue(peer.id, `peers[${item.index}].address`)
      value = peer.id
    }
    claim(value, item, peer.route !== undefined ? 'route' : 'address')
    return { value, legacy: [] }
  })
  if (!options.legacy || digest === undefined) return values

  return values.map((v, i) => {
    const item = peers[i] as ParsedPeer
    if (item.ip === undefined) return v
    const legacy = digest(linuxSockaddr(item.ip))
    claim(legacy, item, 'address')
    return { value: v.value, legacy: [legacy] }
  })
}

function digestOf(options: ResolvedOptions): ((data: HashInput) => string) | undefined {
  const keyed = options.hmac
  if (keyed !== undefined) return (data) => hmac(keyed.algorithm, keyed.key, data)
  if (options.hash === 'md5') return md5
  if (options.hash === 'sha1') return sha1
  return undefined
}

function indexPositions(peers: readonly ParsedPeer[]): number[] {
  let next = 0
  const positions: number[] = new Array<number>(peers.length)
  for (let i = 0; i < peers.length; i++) if (!(peers[i] as ParsedPeer).peer.backup) positions[i] = next++
  for (let i = 0; i < peers.length; i++) if ((peers[i] as ParsedPeer).peer.backup) positions[i] = next++
  return positions
}
