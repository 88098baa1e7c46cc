export { StickyConfigError } from './errors'
export { md5, sha1, sha256, hmac } from './hash'
export type { HashInput, HmacAlgorithm } from './hash'
export { parseCookie, serializeCookie } from './cookie'
export type { CookieAttributes, SameSite } from './cookie'
export type { Peer, PeerInput, PeerOptions, PeerTarget } from './peers'
export { createBalancer } from './balancer'
export type {
  Balancer,
  BalancerOptions,
  DecideOptions,
  Decision,
  HashMode,
  HmacOptions,
  Outcome,
  StickyCookieOptions,
} from './balancer'
