import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'

/** Runs `fn`, asserts it throws a StickyConfigError naming `option`, and returns the error. */
export function expectConfigError(fn: () => unknown, option: string): StickyConfigError {
  try {
    fn()
  } catch (error) {
    assert.instance(error, StickyConfigError)
    const e = error as StickyConfigError
    assert.is(e.option, option, e.message)
    assert.ok(e.message.includes(option), e.message)
    return e
  }
  assert.unreachable(`expected a StickyConfigError for ${option}`)
  throw new Error('unreachable')
}

/** A clock the test moves by hand. */
export interface ManualClock {
  readonly now: () => number
  advance(ms: number): void
  set(ms: number): void
}

/** A manual clock starting at `start` milliseconds. */
export function manualClock(start: number = Date.UTC(2026, 0, 1)): ManualClock {
  let t = start
  return {
    now: () => t,
    advance(ms) {
      t += ms
    },
    set(ms) {
      t = ms
    },
  }
}

/** Reference digests from node:crypto, lowercase hex, over UTF-8 text or bytes. */
export function nodeDigest(algorithm: 'md5' | 'sha1' | 'sha256', data: string | Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex')
}

/** Reference HMAC from node:crypto, lowercase hex. */
export function nodeHmac(algorithm: 'md5' | 'sha1' | 'sha256', key: string | Uint8Array, data: string | Uint8Array): string {
  return createHmac(algorithm, key).update(data).digest('hex')
}

/** Any 16 bytes, weighted towards the zero runs that decide how an IPv6 address is printed. */
export const arbitraryIPv6Bytes: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constantFrom(1, 0xff, 0x100, 0xffff) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
    ),
    { minLength: 8, maxLength: 8 },
  )
  .map((words) => {
    const bytes = new Uint8Array(16)
    words.forEach((w, i) => {
      bytes[i * 2] = w >> 8
      bytes[i * 2 + 1] = w & 0xff
    })
    return bytes
  })

/** The WHATWG URL serialisation of an IPv6 address (RFC 5952 compression, no dotted quad), via node's URL. */
export function whatwgIPv6(bytes: Uint8Array): string {
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return new URL(`http://[${words.join(':')}]/`).hostname.slice(1, -1)
}

/** Loopback peer addresses `127.0.0.1:<9001 + i>`. */
export function loopbackPeers(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.1:${9001 + i}`)
}
