// STUB: being written. Signatures are fixed.
/** Input accepted by the hash functions: a string is encoded as UTF-8 first. */
export type HashInput = string | Uint8Array
/** Algorithms usable with {@link hmac}. */
export type HmacAlgorithm = 'md5' | 'sha1' | 'sha256'

export function md5(_input: HashInput): string { throw new Error('not implemented') }
export function sha1(_input: HashInput): string { throw new Error('not implemented') }
export function sha256(_input: HashInput): string { throw new Error('not implemented') }
export function hmac(_algorithm: HmacAlgorithm, _key: HashInput, _data: HashInput): string { throw new Error('not implemented') }
