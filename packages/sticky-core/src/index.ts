export { StickyConfigError } from './errors'
export { md5, md5Bytes, sha1, sha256, hmac } from './hash'
export type { HashInput, HmacAlgorithm } from './hash'
export { parseCookie, serializeCookie, serializeCookieParts, joinCookieParts } from './cookie'
export type { CookieAttributes, SameSite, SetCookieParts } from './cookie'
export { formatHttpDate } from './http-date'
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
