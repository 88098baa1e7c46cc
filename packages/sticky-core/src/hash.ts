import { toHex } from './hex'
import { MD5 } from './md5'
import { digest } from './merkle-damgard'
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

export function sha1(_input: HashInput): string { throw new Error('not implemented') }
export function sha256(_input: HashInput): string { throw new Error('not implemented') }
export function hmac(_algorithm: HmacAlgorithm, _key: HashInput, _data: HashInput): string { throw new Error('not implemented') }

function bytesOf(input: HashInput): Uint8Array {
  return typeof input === 'string' ? utf8Encode(input) : input
}
