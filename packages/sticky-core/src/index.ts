export { StickyConfigError } from './errors'
export { md5, md5Bytes, sha1, sha1Bytes, sha256, sha256Bytes, hmac, hmacBytes } from './hash'
export type { HashInput, HmacAlgorithm } from './hash'
export { parseCookie, serializeCookie, serializeCookieParts, joinCookieParts } from './cookie'
export type { CookieAttributes, SameSite, SetCookieParts } from './cookie'
export { assertCookieName, assertCookieValue, assertCookieDomain, assertCookiePath } from './cookie-syntax'
export { formatHttpDate } from './http-date'
export { parseDuration, formatDuration } from './duration'
export type { Duration, DurationText, DurationUnit } from './duration'
export { isHopByHopHeader, connectionTokens, connectionListed, hopByHopNames } from './hop-by-hop'
export type { ConnectionHeader } from './hop-by-hop'
export type { Peer, PeerInput, PeerOptions, PeerTarget } from './peers'
export { createBalancer } from './balancer'
export type {
  Balancer,
  BalancerBaseOptions,
  BalancerOptions,
  DecideOptions,
  Decision,
  FailoverRule,
  HashedCookieOptions,
  HashMode,
  HmacCookieOptions,
  HmacOptions,
  Outcome,
  PeerHealth,
  PinnedDecision,
  RoutedDecision,
  StickyCookieOptions,
  TemporaryDecision,
  TokenCookieOptions,
  UnavailableDecision,
} from './balancer'
export { resolveSharedProxyOptions } from './proxy-options'
export type { ResolvedSharedProxyOptions, SharedProxyOptions, XForwardedOptions } from './proxy-options'
export { attemptBudget, isIdempotent, judgeAttempt } from './attempt'
export { isRefusedInterim, transportErrorEvent } from './transport-error'
export type { AttemptError, AttemptEvent, AttemptFacts, AttemptVerdict } from './attempt'
export { appendForwardedFor, forwardedFields, forwardedNames, upstreamHost } from './forwarding'
export type { FieldLines } from './field-syntax'
export type { ForwardedInput, ForwardedSelection } from './forwarding'
export { parseTrustList } from './trust'
export type { TrustList } from './trust'
export { isSaneRequestId, requestIdFor } from './request-id'
export { answerHasContent, contentLength, contentLengthAllowed, relayableField, relayableReason, relayableStatus, uploadUnderWay } from './relay'
export { rawRequestRefusal, requestRefusal } from './request-refusal'
export type { RequestRefusal, RequestShape } from './request-refusal'
export { callHook } from './hooks'
export {
  createTokenCodec,
  type RejectedTokenReading,
  type TokenCodec,
  type TokenKey,
  type TokenOptions,
  type TokenPeerTable,
  type TokenReading,
  type ValidTokenReading,
} from './token'
export { pathOf } from './exchange-event'
export type { ExchangeError, ExchangeEvent } from './exchange-event'
export { parseTokenKeys, type TokenKeysReading } from './token-keys'
export { formatPeerLine, parsePeerLine } from './peer-line'
export { expectsStatus, observeCheck, resolveHealthCheck } from './health-check'
export type { CheckObservation, CheckTally, HealthCheckOptions, ResolvedHealthCheck } from './health-check'
export type { CheckedState } from './health'
