import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'

/** Lengths where padding changes shape: the marker and length field fit, spill over, or fill a block exactly. */
export const BOUNDARY_LENGTHS: readonly number[] = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 191, 192, 193]

/** The reference digest from node:crypto, lowercase hex. */
export function nodeHash(algorithm: 'md5' | 'sha1' | 'sha256', data: Uint8Array | string): string {
  return createHash(algorithm)
    .update(typeof data === 'string' ? Buffer.from(new TextEncoder().encode(data)) : data)
    .digest('hex')
}

/** The reference HMAC from node:crypto, lowercase hex. */
export function nodeHmac(algorithm: 'md5' | 'sha1' | 'sha256', key: Uint8Array, data: Uint8Array): string {
  return createHmac(algorithm, key).update(data).digest('hex')
}

/** Bytes of `length` that differ from block to block, so a skipped or repeated block changes the digest. */
export function patternBytes(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + (i >> 6) * 7 + 1) & 0xff)
}

/** Any byte array, weighted towards lengths at and around block boundaries. */
export const arbitraryBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(...BOUNDARY_LENGTHS).chain((length) => fc.uint8Array({ minLength: length, maxLength: length })),
)

/** Bytes seen through a view that starts inside a larger buffer, as `Buffer` slices and `subarray` give. */
export const arbitraryOffsetBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 1, max: 13 }), arbitraryBytes, fc.integer({ min: 0, max: 7 }))
  .map(([lead, bytes, trail]) => {
    const backing = new Uint8Array(lead + bytes.length + trail).fill(0xa5)
    backing.set(bytes, lead)
    return backing.subarray(lead, lead + bytes.length)
  })

/** Any sequence of UTF-16 code units: lone surrogates and pairs included, surrogates weighted up. */
const codeUnit: fc.Arbitrary<string> = fc
  .oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0, max: 0x7f }))
  .map((unit) => String.fromCharCode(unit))

/** Strings of every kind the encoder meets: ASCII, any code point, graphemes, and ill-formed UTF-16. */
export const arbitraryText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: codeUnit, maxLength: 80 }),
)

/** HMAC keys on both sides of the block size: shorter (padded), exactly 64, and longer (hashed first). */
export const arbitraryKey: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 63 }),
  fc.uint8Array({ minLength: 64, maxLength: 64 }),
  fc.uint8Array({ minLength: 65, maxLength: 200 }),
)
