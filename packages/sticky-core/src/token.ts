import { decodeBase64UrlInto, encodeBase64Url, encodedLength } from './base64url'
import { durationIn, type Duration } from './duration'
import { StickyConfigError } from './errors'
import { hmacBytes } from './hash'
import { finishBlock, hmacSha256Key, macOneBlock, type HmacSha256Key } from './hmac-key'
import { utf8Encode } from './utf8'

/**
 * One key of {@link TokenOptions.keys}.
 */
export interface TokenKey {
  /**
   * Names the key inside every token it signs, so a verifier knows which key to check with: 1 to 8
   * characters of `A-Z a-z 0-9 _ -`, unique among the keys. It is written into cookies in clear: a date
   * (`'2026-12'`) or a counter says enough; it must never be the secret or hint at it.
   */
  readonly id: string
  /**
   * The HMAC-SHA-256 secret: a string (used as its UTF-8 bytes) or bytes, at least 32 bytes long.
   *
   * Why 32: every token is a message and its tag in clear, so anyone holding one cookie can try secrets
   * offline, as fast as they can compute HMACs, until one reproduces the tag; whoever finds it can mint a
   * pin to any peer, for any date. 32 random bytes (256 bits, SHA-256's own output size, the minimum RFC
   * 2104 section 3 recommends) put that search out of reach. Length is the only thing the codec can
   * check: a 32-character password is still a password, so generate the secret (e.g. 32 random bytes,
   * base64-encoded) rather than choose it.
   */
  readonly secret: string | Uint8Array
}

/**
 * Options of {@link createTokenCodec}: the `token` option of a balancer. Every instance built from equal
 * options issues the same tokens and accepts the others' tokens; no state is shared between them.
 */
export interface TokenOptions {
  /**
   * The keys, newest first. The first key signs every token; all of them verify. A token signed by a
   * later key reads as valid with `needsReissue`, so it is replaced by one signed with the first key
   * on its next request: rotation (add a new key in front, remove the old one once every client
   * has been back or its tokens have expired) logs nobody out. A token whose key id is not in the list
   * is invalid.
   */
  readonly keys: readonly TokenKey[]
  /**
   * Seconds (or a duration with units, `'7d'`) a pin lasts from the moment the client was first pinned,
   * however active it is; re-issued tokens keep that moment. Unset: no limit.
   */
  readonly maxAge?: Duration | undefined
  /**
   * Seconds (or `'30m'`) a pin lasts after the token was last issued. A token is due for re-issue
   * (`needsReissue`) once half of `idle` has passed, so a client that comes back at least that often
   * never expires and an idle one does. Unset: no limit.
   */
  readonly idle?: Duration | undefined
  /**
   * Seconds of clock difference tolerated between the instances that issue and read a token (default
   * 30, at most 3600): a token dated up to `skew` in the future is accepted, and `maxAge` and `idle` are
   * judged with `skew` added. Instances whose clocks differ by more reject each other's fresh tokens.
   */
  readonly skew?: Duration | undefined
  /**
   * How many distinct verified tokens to remember (default 4096; 0 disables the cache). A remembered
   * token is read without computing its HMAC again: a valid token that needs no re-issue then costs a
   * map lookup and a few comparisons, and allocates nothing. Only tokens that passed verification are
   * remembered, so forged values cannot fill the cache; the oldest entry makes room for a new one.
   */
  readonly cache?: number | undefined
}

/** A token that verified under a configured key and is within its lifetimes. */
export interface ValidTokenReading {
  readonly status: 'valid'
  /** The id of the key that signed the token. */
  readonly keyId: string
  /** Its position in {@link TokenOptions.keys}: 0 for the signing key. */
  readonly keyIndex: number
  /** The peer id the token names, under the key that signed it (see {@link TokenCodec.peerTable}). */
  readonly peerId: string
  /** When the client was first pinned: milliseconds since the epoch, a whole second (tokens store seconds). */
  readonly born: number
  /** When this token was issued: milliseconds since the epoch, a whole second. */
  readonly issued: number
  /**
   * The token should be replaced by a new one (same peer, same `born`): half of `idle` has passed since
   * it was issued, or it was signed by a key other than the first.
   */
  readonly needsReissue: boolean
}

/**
 * A value that is not a valid token now: `invalid` (not a token, not signed by a configured key, or
 * not one this codec's format allows) or `expired` (authentic, but past `maxAge` or `idle`, or dated
 * more than `skew` in the future). A balancer treats `expired` as no cookie at all, `invalid` as a
 * cookie naming no peer.
 */
export interface RejectedTokenReading {
  readonly status: 'invalid' | 'expired'
}

/** What {@link TokenCodec.read} found. */
export type TokenReading = ValidTokenReading | RejectedTokenReading

/**
 * The peers of one peer list, by the ids tokens name them with under every key. Build one per peer
 * list ({@link TokenCodec.peerTable}) and keep it until the list changes.
 */
export interface TokenPeerTable<P> {
  /** The peer a valid token names, or `undefined` when it names none of these (a peer since removed). */
  peerOf(reading: ValidTokenReading): P | undefined
  /** The id that names `peer` under the signing key, for {@link TokenCodec.issue}; `undefined` for a stranger. */
  idOf(peer: P): string | undefined
}

/**
 * Issues and reads pin tokens: signed cookie values that name a peer without revealing its address and
 * carry their own lifetimes. Pure and synchronous: time is always passed in (`now`, in milliseconds
 * since the epoch, as a balancer's clock gives it), and nothing is random, so every codec built from
 * equal options behaves identically.
 *
 * Token layout (version 1), all of it cookie-safe:
 *
 * ```text
 * 1.<key id>.<body: 47 characters of unpadded base64url (RFC 4648 section 5) encoding 35 bytes>
 *
 * body      bytes   content
 * 0..8      9       peer id: the first 9 bytes of HMAC-SHA-256(key, "peer" 0x00 <peer name as UTF-8>)
 * 9..13     5       born: whole seconds since the epoch, unsigned big-endian, when the client was first pinned
 * 14..18    5       issued: whole seconds since the epoch, unsigned big-endian, when this token was issued
 * 19..34    16      tag: the first 16 bytes (128 bits) of HMAC-SHA-256(key, message)
 *
 * message = 0x01 (version) | key id length (1 byte) | key id (ASCII) | body bytes 0..18
 * ```
 *
 * The key id travels in clear so the verifier picks the key without trying each; it is also inside the
 * MAC, so a token cannot be relabelled with another key's id. The version is the text's first character
 * and the MAC's first byte, so a later format can neither be confused with this one nor be forged from
 * it. The message always fits one SHA-256 block, so with the padded keys precompressed, checking a tag
 * costs two compressions. The peer id is 9 bytes so that it is exactly the first 12 characters of the
 * body (a 3-byte boundary of base64url): tokens name peers with no address in them, and the id is
 * keyed, so that nobody can match it against digests of guessed addresses. 40-bit times last until the
 * year 36812. Only the canonical encoding is accepted, so each token has exactly one spelling.
 */
export interface TokenCodec {
  /** The key ids in order, the signing key first. */
  readonly keyIds: readonly string[]
  /**
   * The id that names a peer in tokens signed by the key `keyId` (default: the signing key): 12
   * base64url characters, the first 9 bytes of HMAC-SHA-256 over the peer's name. `name` is what stays
   * the same for the peer while the list changes: its `route` when it has one, else its route key, so
   * reordering or replacing the list keeps tokens valid.
   *
   * @throws RangeError when `keyId` is not a configured key id.
   */
  peerId(name: string, keyId?: string): string
  /**
   * Indexes peers by their ids under every key, so that a token signed by any configured key finds its
   * peer. Computes one HMAC per peer and key: build it when the peer list is set, not per request.
   *
   * @param peers - each peer with its stable name (see {@link peerId}).
   * @throws StickyConfigError (option `peers`) when two entries share a name or a peer id.
   */
  peerTable<P>(peers: Iterable<readonly [name: string, peer: P]>): TokenPeerTable<P>
  /**
   * A token naming the peer `peerId` (an id under the signing key, from {@link peerId} or
   * {@link TokenPeerTable.idOf}), signed with the first key.
   *
   * @param now - the time of issue, milliseconds since the epoch; stored as whole seconds (rounded down).
   * @param born - when the client was first pinned (a reading's `born` on re-issue); default `now`. A
   *   `born` later than `now` (from an instance whose clock is ahead) is taken as `now`, which can only
   *   end the pin sooner.
   * @throws RangeError when `peerId` is not a peer id or a time is not between 1970 and the year 36812;
   *   these are programming errors, never request input.
   */
  issue(peerId: string, now: number, born?: number): string
  /**
   * Reads a token: checks its version, key id and tag (all 16 tag bytes, in constant time), then its
   * dates against `now`. Never throws on the token: anything that is not a valid token reads as
   * `invalid` or `expired`. A token verified before (and still in the cache) is not verified again.
   * The readings are shared and frozen: do not expect a new object per call.
   *
   * @param token - a cookie or header value, as received.
   * @param now - milliseconds since the epoch.
   * @throws RangeError when `now` is not a finite number (a broken clock, not request input).
   */
  read(token: string, now: number): TokenReading
}

/** Text and MAC version of the format this module writes. */
const VERSION = 1
const PREFIX = `${VERSION}.`
const PEER_BYTES = 9
const TIME_BYTES = 5
const TAG_BYTES = 16
const BORN_AT = PEER_BYTES
const ISSUED_AT = BORN_AT + TIME_BYTES
const TAG_AT = ISSUED_AT + TIME_BYTES
/** Body bytes covered by the MAC: peer id and both times. */
const SIGNED_BYTES = TAG_AT
const BODY_BYTES = TAG_AT + TAG_BYTES
const BODY_CHARS = encodedLength(BODY_BYTES)
const PEER_CHARS = encodedLength(PEER_BYTES)
/** 2^40 seconds: the first time five bytes cannot hold. */
const TIME_LIMIT = 2 ** (8 * TIME_BYTES)
const MAX_KEY_ID = 8
const KEY_ID = /^[A-Za-z0-9_-]{1,8}$/
const PEER_ID = /^[A-Za-z0-9_-]{12}$/
const MIN_SECRET_BYTES = 32
const DEFAULT_SKEW = 30
const MAX_SKEW = 3600
const DEFAULT_CACHE = 4096
const MAX_CACHE = 1_000_000
/** Tokens shorter or longer than any this format can produce are refused before any lookup. */
const MIN_TOKEN = PREFIX.length + 1 + 1 + BODY_CHARS
const MAX_TOKEN = PREFIX.length + MAX_KEY_ID + 1 + BODY_CHARS
/** Domain separation: a peer id's HMAC input starts with this, a token's with the version byte. */
const PEER_TAG = utf8Encode('peer\0')
const OPTION_KEYS: ReadonlySet<string> = new Set(['keys', 'maxAge', 'idle', 'skew', 'cache'])
const KEY_KEYS: ReadonlySet<string> = new Set(['id', 'secret'])

const INVALID: RejectedTokenReading = Object.freeze({ status: 'invalid' })
const EXPIRED: RejectedTokenReading = Object.freeze({ status: 'expired' })

/** One configured key, ready to sign and verify. */
interface KeyState {
  readonly id: string
  readonly index: number
  /** A private copy of the secret, for peer ids (computed at configuration time only). */
  readonly secret: Uint8Array
  readonly mac: HmacSha256Key
  /** The MAC's message block: version, key id, then the signed body bytes at {@link fieldsAt}; padding preset. */
  readonly block: Uint8Array
  readonly fieldsAt: number
}

/** A verified token, remembered by its text. */
interface CacheEntry {
  /** The reading while no re-issue is due; for a token of an older key, already `needsReissue`. */
  readonly current: ValidTokenReading
  /** The same with `needsReissue`, made the first time it is needed. */
  due: ValidTokenReading | undefined
  /** Milliseconds: valid from (`issued - skew`) and until, exclusive (the earlier of both lifetimes plus skew). */
  readonly from: number
  readonly until: number
  /** Milliseconds: from here on a re-issue is due (`issued + idle / 2`). */
  readonly reissueAt: number
}

/** The lifetimes, in milliseconds. */
interface Lifetimes {
  readonly maxAge: number
  readonly idle: number
  readonly skew: number
}

/**
 * Creates a pin-token codec from the `token` options, validated once.
 *
 * @throws StickyConfigError naming the option (`token.keys[1].id`, `token.idle`, ...) and its value; a
 *   rejected secret is never shown, only its length.
 */
export function createTokenCodec(options: TokenOptions): TokenCodec {
  const { keys, lifetimes, cacheLimit } = resolveTokenOptions(options)
  const byId = new Map(keys.map((k) => [k.id, k]))
  const signer = keys[0]!
  const cache = new Map<string, CacheEntry>()
  const body = new Uint8Array(BODY_BYTES)

  function keyNamed(keyId: string | undefined): KeyState {
    const key = keyId === undefined ? signer : byId.get(keyId)
    if (key === undefined) throw new RangeError(`no token key has the id ${JSON.stringify(keyId)}`)
    return key
  }

  function read(token: string, now: number): TokenReading {
    if (!Number.isFinite(now)) throw new RangeError(`now must be milliseconds since the epoch, got ${String(now)}`)
    // The length first: an oversized value costs nothing, not even hashing it for the cache lookup.
    if (typeof token !== 'string' || token.length < MIN_TOKEN || token.length > MAX_TOKEN) return INVALID
    const entry = cacheLimit > 0 ? cache.get(token) : undefined
    if (entry !== undefined) return judge(entry, now)
    const verified = verify(token)
    if (verified === undefined) return INVALID
    if (cacheLimit > 0) {
      if (cache.size >= cacheLimit) {
        // Oldest first (a Map keeps insertion order): a hot token evicted is verified and added again.
        for (const oldest of cache.keys()) {
          cache.delete(oldest)
          break
        }
      }
      cache.set(token, verified)
    }
    return judge(verified, now)
  }

  /** The key whose id stands between the prefix and `dot`; compared in place, so nothing is allocated. */
  function keyAt(token: string, dot: number): KeyState | undefined {
    const length = dot - PREFIX.length
    for (const key of keys) {
      if (key.id.length === length && token.startsWith(key.id, PREFIX.length)) return key
    }
    return undefined
  }

  /** Checks the text and the tag; the dates are {@link judge}'s. `undefined` for anything not signed here. */
  function verify(token: string): CacheEntry | undefined {
    if (!token.startsWith(PREFIX)) return undefined
    const dot = token.indexOf('.', PREFIX.length)
    if (dot < 0 || token.length - dot - 1 !== BODY_CHARS) return undefined
    const key = keyAt(token, dot)
    if (key === undefined) return undefined
    if (!decodeBase64UrlInto(token, dot + 1, token.length, body)) return undefined
    const { block, fieldsAt } = key
    for (let i = 0; i < SIGNED_BYTES; i++) block[fieldsAt + i] = body[i]!
    const mac = macOneBlock(key.mac, block)
    // Constant time: every tag byte is compared, differences are OR-ed, and only the total decides.
    let difference = 0
    for (let word = 0; word < TAG_BYTES / 4; word++) {
      const at = TAG_AT + word * 4
      const given = (body[at]! << 24) | (body[at + 1]! << 16) | (body[at + 2]! << 8) | body[at + 3]!
      difference |= given ^ mac[word]!
    }
    if (difference !== 0) return undefined
    const born = readTime(body, BORN_AT)
    const issued = readTime(body, ISSUED_AT)
    // Never issued by this module (issue keeps born <= issued): refuse rather than guess.
    if (born > issued) return undefined
    const current: ValidTokenReading = Object.freeze({
      status: 'valid',
      keyId: key.id,
      keyIndex: key.index,
      peerId: token.slice(dot + 1, dot + 1 + PEER_CHARS),
      born: born * 1000,
      issued: issued * 1000,
      needsReissue: key.index !== 0,
    })
    return {
      current,
      due: key.index !== 0 ? current : undefined,
      from: (issued - lifetimes.skew) * 1000,
      until: Math.min((born + lifetimes.maxAge + lifetimes.skew) * 1000, (issued + lifetimes.idle + lifetimes.skew) * 1000),
      reissueAt: key.index !== 0 ? -Infinity : issued * 1000 + (lifetimes.idle * 1000) / 2,
    }
  }

  return {
    keyIds: Object.freeze(keys.map((k) => k.id)),

    peerId(name: string, keyId?: string): string {
      return peerIdUnder(keyNamed(keyId), name)
    },

    peerTable<P>(peers: Iterable<readonly [name: string, peer: P]>): TokenPeerTable<P> {
      const byKey = keys.map(() => new Map<string, P>())
      const signingIds = new Map<P, string>()
      const names = new Set<string>()
      for (const [name, peer] of peers) {
        if (names.has(name)) throw new StickyConfigError('peers', name, 'two peers share this name: a token could not tell them apart')
        names.add(name)
        for (const key of keys) {
          const id = peerIdUnder(key, name)
          const map = byKey[key.index]!
          // 72-bit ids: a collision among real peers is not expected before the heat death of the
          // universe, but if it ever happens it must not silently send one peer's clients to another.
          if (map.has(id)) throw new StickyConfigError('peers', name, `its token peer id under key ${key.id} equals another peer's`)
          map.set(id, peer)
          if (key.index === 0) signingIds.set(peer, id)
        }
      }
      return {
        peerOf: (reading) => byKey[reading.keyIndex]?.get(reading.peerId),
        idOf: (peer) => signingIds.get(peer),
      }
    },

    issue(peerId: string, now: number, born: number = now): string {
      if (typeof peerId !== 'string' || !PEER_ID.test(peerId)) throw new RangeError(`not a token peer id: ${String(peerId)}`)
      const issued = secondsOf(now, 'now')
      const first = Math.min(secondsOf(born, 'born'), issued)
      if (!decodeBase64UrlInto(peerId, 0, PEER_CHARS, body.subarray(0, PEER_BYTES))) throw new RangeError(`not a token peer id: ${peerId}`)
      writeTime(body, BORN_AT, first)
      writeTime(body, ISSUED_AT, issued)
      const { block, fieldsAt } = signer
      for (let i = 0; i < SIGNED_BYTES; i++) block[fieldsAt + i] = body[i]!
      const mac = macOneBlock(signer.mac, block)
      for (let word = 0; word < TAG_BYTES / 4; word++) {
        const at = TAG_AT + word * 4
        const value = mac[word]!
        body[at] = value >>> 24
        body[at + 1] = value >>> 16
        body[at + 2] = value >>> 8
        body[at + 3] = value
      }
      return `${PREFIX}${signer.id}.${encodeBase64Url(body)}`
    },

    read,
  }
}

/** The reading of a verified token at `now`: allocates nothing unless a re-issue reading is needed for the first time. */
function judge(entry: CacheEntry, now: number): TokenReading {
  if (now < entry.from || now >= entry.until) return EXPIRED
  if (now < entry.reissueAt) return entry.current
  if (entry.due === undefined) entry.due = Object.freeze({ ...entry.current, needsReissue: true })
  return entry.due
}

function peerIdUnder(key: KeyState, name: string): string {
  if (typeof name !== 'string') throw new TypeError(`a peer name is a string, got ${typeof name}`)
  const encoded = utf8Encode(name)
  const message = new Uint8Array(PEER_TAG.length + encoded.length)
  message.set(PEER_TAG)
  message.set(encoded, PEER_TAG.length)
  return encodeBase64Url(hmacBytes('sha256', key.secret, message).subarray(0, PEER_BYTES))
}

/** Milliseconds since the epoch to whole seconds, refusing what five bytes cannot hold. */
function secondsOf(ms: number, what: string): number {
  const seconds = Math.floor(ms / 1000)
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= TIME_LIMIT) {
    throw new RangeError(`${what} must be milliseconds since the epoch, before the year 36812, got ${String(ms)}`)
  }
  return seconds
}

function writeTime(bytes: Uint8Array, at: number, seconds: number): void {
  // 40 bits do not fit JavaScript's 32-bit shifts: the high byte comes by division.
  bytes[at] = Math.floor(seconds / 2 ** 32)
  bytes[at + 1] = seconds >>> 24
  bytes[at + 2] = seconds >>> 16
  bytes[at + 3] = seconds >>> 8
  bytes[at + 4] = seconds
}

function readTime(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 2 ** 32 + (((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0)
}

/** Validates the options once; every error names its option under `token`. */
function resolveTokenOptions(options: TokenOptions): { keys: KeyState[]; lifetimes: Lifetimes; cacheLimit: number } {
  const given = plainObject(options, 'token')
  for (const name of Object.keys(given)) {
    if (!OPTION_KEYS.has(name)) throw new StickyConfigError(`token.${name}`, given[name], `unknown option: expected one of ${[...OPTION_KEYS].join(', ')}`)
  }
  const list = given.keys
  if (!Array.isArray(list) || list.length === 0) {
    throw new StickyConfigError('token.keys', list, 'expected a non-empty array of { id, secret }, the signing key first')
  }
  const keys: KeyState[] = []
  const ids = new Set<string>()
  for (let index = 0; index < list.length; index++) {
    const path = `token.keys[${index}]`
    const key = plainObject(list[index], path)
    for (const name of Object.keys(key)) {
      if (!KEY_KEYS.has(name)) throw new StickyConfigError(`${path}.${name}`, key[name], 'unknown option: expected id and secret')
    }
    const id = key.id
    if (typeof id !== 'string' || !KEY_ID.test(id)) {
      throw new StickyConfigError(`${path}.id`, id, 'expected 1 to 8 characters of A-Z a-z 0-9 _ - (it is written into every cookie)')
    }
    if (ids.has(id)) throw new StickyConfigError(`${path}.id`, id, 'another key has this id: a token could not say which key signed it')
    ids.add(id)
    keys.push(keyState(id, index, resolveSecret(key.secret, `${path}.secret`)))
  }
  const skew = seconds(given.skew, 'token.skew', DEFAULT_SKEW, 0, MAX_SKEW)
  const maxAge = seconds(given.maxAge, 'token.maxAge', Infinity, 1, TIME_LIMIT)
  const idle = seconds(given.idle, 'token.idle', Infinity, 1, TIME_LIMIT)
  const cache = given.cache ?? DEFAULT_CACHE
  if (typeof cache !== 'number' || !Number.isInteger(cache) || cache < 0 || cache > MAX_CACHE) {
    throw new StickyConfigError('token.cache', cache, `expected a whole number of tokens from 0 (no cache) to ${MAX_CACHE}`)
  }
  return { keys, lifetimes: { skew, maxAge, idle }, cacheLimit: cache }
}

function resolveSecret(secret: unknown, path: string): Uint8Array {
  let bytes: Uint8Array
  if (typeof secret === 'string') bytes = utf8Encode(secret)
  else if (secret instanceof Uint8Array) bytes = Uint8Array.from(secret)
  else throw new StickyConfigError(path, typeof secret, 'expected a string or a Uint8Array of at least 32 bytes')
  if (bytes.length < MIN_SECRET_BYTES) {
    // The error names the length, never the secret: error messages end up in logs.
    throw new StickyConfigError(
      path,
      `(secret of ${bytes.length} bytes)`,
      `at least ${MIN_SECRET_BYTES} bytes: a token and its tag are public, so a short secret can be searched for offline`,
    )
  }
  return bytes
}

function keyState(id: string, index: number, secret: Uint8Array): KeyState {
  const block = new Uint8Array(64)
  block[0] = VERSION
  block[1] = id.length
  for (let i = 0; i < id.length; i++) block[2 + i] = id.charCodeAt(i)
  const fieldsAt = 2 + id.length
  finishBlock(block, fieldsAt + SIGNED_BYTES)
  return { id, index, secret, mac: hmacSha256Key(secret), block, fieldsAt }
}

/** A lifetime option in whole seconds, `fallback` when unset. */
function seconds(value: unknown, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const count = durationIn(value, 's')
  if (count === undefined || !Number.isInteger(count) || count < min || count > max) {
    throw new StickyConfigError(path, value, `expected whole seconds from ${min} to ${max} (a number, or a duration such as '30m')`)
  }
  return count
}

function plainObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StickyConfigError(path, value, 'expected an object')
  return value as Record<string, unknown>
}
