import { toHex } from './hex'
import { MD5 } from './md5'
import { type BlockHash, BLOCK_BYTES, digest } from './merkle-damgard'
import { SHA1 } from './sha1'
import { SHA256 } from './sha256'
import { utf8Encode } from './utf8'

/** Input accepted by the hash functions: a string is encoded as UTF-8 first (as `TextEncoder` does). */
export type HashInput = string | Uint8Array
/** Algorithms usable with {@link hmac}. */
export type HmacAlgorithm = 'md5' | 'sha1' | 'sha256'

/**
 * MD5 digest (RFC 1321) as 16 bytes. The sticky module's default cookie value (`hash=md5`) is
 * its hex form.
 *
 * @param input - bytes, or a string hashed as its UTF-8 encoding.
 */
export function md5Bytes(input: HashInput): Uint8Array {
  return digest(MD5, bytesOf(input))
}

/**
 * MD5 digest (RFC 1321) in lowercase hex, 32 characters: the value of nginx's `sticky cookie`
 * and of nginx-sticky-module-ng's `hash=md5` over a route key.
 *
 * @param input - bytes, or a string hashed as its UTF-8 encoding.
 */
export function md5(input: HashInput): string {
  return toHex(md5Bytes(input))
}

/**
 * SHA-1 digest (FIPS 180-4) as 20 bytes.
 *
 * @param input - bytes, or a string hashed as its UTF-8 encoding.
 */
export function sha1Bytes(input: HashInput): Uint8Array {
  return digest(SHA1, bytesOf(input))
}

/**
 * SHA-1 digest (FIPS 180-4) in lowercase hex, 40 characters: nginx-sticky-module-ng's `hash=sha1`.
 *
 * @param input - bytes, or a string hashed as its UTF-8 encoding.
 */
export function sha1(input: HashInput): string {
  return toHex(sha1Bytes(input))
}

/**
 * SHA-256 digest (FIPS 180-4) as 32 bytes.
 *
 * @param input - bytes, or a string hashed as its UTF-8 encoding.
 */
export function sha256Bytes(input: HashInput): Uint8Array {
  return digest(SHA256, bytesOf(input))
}

/**
 * SHA-256 digest (FIPS 180-4) in lowercase hex, 64 characters.
 *
 * @param input - bytes, or a string hashed as its UTF-8 encoding.
 */
export function sha256(input: HashInput): string {
  return toHex(sha256Bytes(input))
}

/**
 * HMAC (RFC 2104) over MD5, SHA-1 or SHA-256, as raw bytes (16, 20 or 32). A key longer than the
 * 64-byte block is hashed first, a shorter one zero-padded (RFC 2104 section 2).
 *
 * @param algorithm - the underlying hash; mirrors nginx-sticky-module-ng's `hmac=md5|sha1`.
 * @param key - the secret (`hmac_key=`); a string is used as its UTF-8 encoding.
 * @param data - the message, e.g. a route key.
 * @throws TypeError when `algorithm` is not one of {@link HmacAlgorithm} (possible only from untyped callers).
 */
export function hmacBytes(algorithm: HmacAlgorithm, key: HashInput, data: HashInput): Uint8Array {
  const hash = blockHashOf(algorithm)
  const secret = bytesOf(key)
  const pad = new Uint8Array(BLOCK_BYTES)
  pad.set(secret.length > BLOCK_BYTES ? digest(hash, secret) : secret)
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] = pad[i]! ^ INNER_PAD
  const inner = digest(hash, bytesOf(data), pad)
  // XOR with both pads turns the inner-padded key into the outer-padded one in place.
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] = pad[i]! ^ (INNER_PAD ^ OUTER_PAD)
  return digest(hash, inner, pad)
}

/**
 * HMAC (RFC 2104) in lowercase hex: the cookie value of nginx-sticky-module-ng's
 * `hmac=md5|sha1` with `hmac_key=` over a route key.
 *
 * @param algorithm - the underlying hash: `md5`, `sha1` or `sha256`.
 * @param key - the secret; a string is used as its UTF-8 encoding.
 * @param data - the message, e.g. a route key.
 * @throws TypeError when `algorithm` is not one of {@link HmacAlgorithm} (possible only from untyped callers).
 */
export function hmac(algorithm: HmacAlgorithm, key: HashInput, data: HashInput): string {
  return toHex(hmacBytes(algorithm, key, data))
}

/** RFC 2104 section 2: `ipad` and `opad`, repeated over the block. */
const INNER_PAD = 0x36
const OUTER_PAD = 0x5c

function blockHashOf(algorithm: HmacAlgorithm): BlockHash {
  // A switch rather than an object lookup: a name like "constructor" from an untyped caller must not resolve.
  switch (algorithm) {
    case 'md5':
      return MD5
    case 'sha1':
      return SHA1
    case 'sha256':
      return SHA256
    default:
      throw new TypeError(`unsupported HMAC algorithm: ${String(algorithm)} (expected md5, sha1 or sha256)`)
  }
}

function bytesOf(input: HashInput): Uint8Array {
  return typeof input === 'string' ? utf8Encode(input) : input
}
