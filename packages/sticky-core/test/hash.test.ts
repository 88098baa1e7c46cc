import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { md5, md5Bytes } from '../src/hash'
import { toHex } from '../src/hex'
import { writeBitLength } from '../src/merkle-damgard'
import { utf8Encode } from '../src/utf8'
import { fcParams } from './_fc'
import { arbitraryBytes, arbitraryOffsetBytes, arbitraryText, nodeHash, patternBytes } from './_hash'

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (ch) => ch.charCodeAt(0))

// ---------------------------------------------------------------- utf8Encode
const Utf8 = suite('utf8Encode')

const utf8Cases: ReadonlyArray<{ name: string; text: string; hex: string }> = [
  { name: 'the empty string', text: '', hex: '' },
  { name: 'ASCII', text: 'route', hex: '726f757465' },
  { name: 'a two-byte sequence', text: '\u00e9', hex: 'c3a9' },
  { name: 'the last two-byte code point', text: '\u07ff', hex: 'dfbf' },
  { name: 'a three-byte sequence', text: '\u20ac', hex: 'e282ac' },
  { name: 'U+FFFF', text: '\uffff', hex: 'efbfbf' },
  { name: 'a surrogate pair as four bytes', text: '\ud83d\ude00', hex: 'f09f9880' },
  { name: 'the highest code point', text: '\udbff\udfff', hex: 'f48fbfbf' },
  { name: 'a lone lead surrogate as U+FFFD', text: 'a\ud800b', hex: '61efbfbd62' },
  { name: 'a lone trail surrogate as U+FFFD', text: '\udc00', hex: 'efbfbd' },
  { name: 'a lead surrogate at the end as U+FFFD', text: 'x\udbff', hex: '78efbfbd' },
  { name: 'reversed surrogates as two U+FFFD', text: '\ude00\ud83d', hex: 'efbfbdefbfbd' },
]
for (const { name, text, hex } of utf8Cases) {
  Utf8(`should encode ${name}`, () => {
    assert.is(toHex(utf8Encode(text)), hex)
  })
}

Utf8('should agree with TextEncoder on every string, well-formed or not', () => {
  const encoder = new TextEncoder()
  fc.assert(
    fc.property(arbitraryText, (text) => {
      assert.equal(utf8Encode(text), encoder.encode(text))
    }),
    fcParams(500),
  )
})
Utf8.run()

// ---------------------------------------------------------------- toHex
const Hex = suite('toHex')

Hex('should render each byte as two lowercase digits', () => {
  const cases: ReadonlyArray<[Uint8Array, string]> = [
    [new Uint8Array(0), ''],
    [Uint8Array.of(0), '00'],
    [Uint8Array.of(0x0f, 0xa0, 0xff), '0fa0ff'],
  ]
  for (const [bytes, hex] of cases) assert.is(toHex(bytes), hex)
})

Hex('should agree with Buffer hex on any bytes', () => {
  fc.assert(
    fc.property(arbitraryOffsetBytes, (bytes) => {
      assert.is(toHex(bytes), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'))
    }),
    fcParams(),
  )
})
Hex.run()

// ---------------------------------------------------------------- writeBitLength
const BitLength = suite('writeBitLength')

const bitLengthCases: ReadonlyArray<{ bytes: number; big: string; little: string }> = [
  { bytes: 0, big: '0000000000000000', little: '0000000000000000' },
  { bytes: 3, big: '0000000000000018', little: '1800000000000000' },
  { bytes: 2 ** 29 - 1, big: '00000000fffffff8', little: 'f8ffffff00000000' },
  { bytes: 2 ** 29, big: '0000000100000000', little: '0000000001000000' },
  { bytes: 2 ** 29 + 1, big: '0000000100000008', little: '0800000001000000' },
  { bytes: 2 ** 32 + 5, big: '0000000800000028', little: '2800000008000000' },
  { bytes: 2 ** 50 - 1, big: '001ffffffffffff8', little: 'f8ffffffffff1f00' },
]
for (const { bytes, big, little } of bitLengthCases) {
  BitLength(`should write ${bytes} bytes as ${big} bits, big- and little-endian`, () => {
    const field = new Uint8Array(8)
    const view = new DataView(field.buffer)
    writeBitLength(view, 0, bytes, false)
    assert.is(toHex(field), big)
    writeBitLength(view, 0, bytes, true)
    assert.is(toHex(field), little)
  })
}

BitLength('should equal the 64-bit big-endian bit count for any safe length', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 50 - 1 }), (bytes) => {
      const field = new Uint8Array(8)
      writeBitLength(new DataView(field.buffer), 0, bytes, false)
      assert.is(toHex(field), (BigInt(bytes) * 8n).toString(16).padStart(16, '0'))
    }),
    fcParams(),
  )
})
BitLength.run()

// ---------------------------------------------------------------- md5 / md5Bytes
const Md5 = suite('md5')

// RFC 1321 appendix A.5.
const md5Vectors: ReadonlyArray<[string, string]> = [
  ['', 'd41d8cd98f00b204e9800998ecf8427e'],
  ['a', '0cc175b9c0f1b6a831c399e269772661'],
  ['abc', '900150983cd24fb0d6963f7d28e17f72'],
  ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
  ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
  ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
]
for (const [message, expected] of md5Vectors) {
  Md5(`should match RFC 1321 A.5 for ${JSON.stringify(message)}`, () => {
    assert.is(md5(message), expected)
    assert.is(md5(ascii(message)), expected)
  })
}

Md5('should give the G3/G4 cookie value of 127.0.0.1:9001', () => {
  assert.is(md5('127.0.0.1:9001'), '422db4e6da7b4bba46bd476612df0469')
})

Md5('should give the G1/G2 cookie value over the sockaddr_in bytes of 127.0.0.1:9001', () => {
  const sockaddr = Uint8Array.of(0x02, 0x00, 0x23, 0x29, 0x7f, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0)
  assert.is(md5(sockaddr), '2b46daf0ba503cbe30c3b46dfad73e0a')
})

Md5('should agree with node:crypto at every length up to four blocks', () => {
  for (let length = 0; length <= 4 * 64 + 1; length++) {
    const bytes = patternBytes(length)
    assert.is(md5(bytes), nodeHash('md5', bytes), `length ${length}`)
  }
})

Md5('should agree with node:crypto on any bytes, block boundaries weighted', () => {
  fc.assert(fc.property(arbitraryBytes, (bytes) => md5(bytes) === nodeHash('md5', bytes)), fcParams(300))
})

Md5('should read only the viewed bytes of a subarray', () => {
  fc.assert(fc.property(arbitraryOffsetBytes, (bytes) => md5(bytes) === nodeHash('md5', Uint8Array.from(bytes))), fcParams())
})

Md5('should hash a string as its TextEncoder UTF-8 bytes', () => {
  fc.assert(fc.property(arbitraryText, (text) => md5(text) === nodeHash('md5', text)), fcParams())
})

Md5('should not modify its input', () => {
  const bytes = patternBytes(130)
  md5(bytes)
  assert.equal(bytes, patternBytes(130))
})
Md5.run()

const Md5Bytes = suite('md5Bytes')

Md5Bytes('should return the 16 digest bytes that md5 renders as hex', () => {
  fc.assert(
    fc.property(arbitraryBytes, (bytes) => {
      const digest = md5Bytes(bytes)
      assert.is(digest.length, 16)
      assert.is(toHex(digest), nodeHash('md5', bytes))
    }),
    fcParams(),
  )
})

Md5Bytes('should return a fresh array each call', () => {
  const first = md5Bytes('route')
  first.fill(0)
  assert.is(toHex(md5Bytes('route')), nodeHash('md5', 'route'))
})
Md5Bytes.run()

