import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as core from '../src/index'

const Exports = suite('sticky-core exports')

// Adding or removing a public export is a decision: update this list on purpose.
Exports('should export exactly the public runtime API', () => {
  assert.equal(Object.keys(core).sort(), [
    'StickyConfigError',
    'answerHasContent',
    'appendForwardedFor',
    'assertCookieDomain',
    'assertCookieName',
    'assertCookiePath',
    'assertCookieValue',
    'attemptBudget',
    'callHook',
    'connectionListed',
    'connectionTokens',
    'contentLength',
    'contentLengthAllowed',
    'createBalancer',
    'createTokenCodec',
    'expectsStatus',
    'formatDuration',
    'formatHttpDate',
    'formatPeerLine',
    'forwardedFields',
    'forwardedNames',
    'hmac',
    'hmacBytes',
    'hopByHopNames',
    'isHopByHopHeader',
    'isIdempotent',
    'isRefusedInterim',
    'isSaneRequestId',
    'joinCookieParts',
    'judgeAttempt',
    'md5',
    'md5Bytes',
    'observeCheck',
    'parseCookie',
    'parseDuration',
    'parsePeerLine',
    'parseTokenKeys',
    'parseTrustList',
    'pathOf',
    'rawRequestRefusal',
    'relayableField',
    'relayableReason',
    'relayableStatus',
    'requestIdFor',
    'requestRefusal',
    'resolveHealthCheck',
    'resolveSharedProxyOptions',
    'serializeCookie',
    'serializeCookieParts',
    'sha1',
    'sha1Bytes',
    'sha256',
    'sha256Bytes',
    'transportErrorEvent',
    'uploadUnderWay',
    'upstreamHost',
  ])
})

Exports('should export functions and the error class only', () => {
  for (const [name, value] of Object.entries(core)) assert.type(value, 'function', name)
})
Exports.run()
