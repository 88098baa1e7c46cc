import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hmac, hmacBytes, type HmacAlgorithm, md5, md5Bytes, sha1, sha1Bytes, sha256, sha256Bytes } from '../src/hash'
import { toHex } from '../src/hex'
import { writeBitLength } from '../src/merkle-damgard'
import { utf8Encode } from '../src/utf8'
import { fcParams } from './_fc'
import { arbitraryBytes, arbitraryKey, arbitraryOffsetBytes, arbitraryText, nodeHash, nodeHmac, patternBytes } from './_hash'

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
    writeBitLength(field, 0, bytes, false)
    assert.is(toHex(field), big)
    writeBitLength(field, 0, bytes, true)
    assert.is(toHex(field), little)
  })
}

BitLength('should equal the 64-bit big-endian bit count for any safe length', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 50 - 1 }), (bytes) => {
      const field = new Uint8Array(8)
      writeBitLength(field, 0, bytes, false)
      assert.is(toHex(field), (BigInt(bytes) * 8n).toString(16).padStart(16, '0'))
    }),
    fcParams(),
  )
})
BitLength.run()

// ---------------------------------------------------------------- md5, sha1, sha256 and their *Bytes
const LONG_448 = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'
const MILLION_A = 'a'.repeat(1_000_000)

interface DigestCase {
  name: HmacAlgorithm
  hex: (input: string | Uint8Array) => string
  bytes: (input: string | Uint8Array) => Uint8Array
  size: number
  source: string
  vectors: ReadonlyArray<[string, string]>
}

const digests: readonly DigestCase[] = [
  {
    name: 'md5',
    hex: md5,
    bytes: md5Bytes,
    size: 16,
    source: 'RFC 1321 A.5',
    vectors: [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ],
  },
  {
    name: 'sha1',
    hex: sha1,
    bytes: sha1Bytes,
    size: 20,
    source: 'FIPS 180',
    vectors: [
      ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
      ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
      [LONG_448, '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
      [MILLION_A, '34aa973cd4c4daa4f61eeb2bdbad27316534016f'],
    ],
  },
  {
    name: 'sha256',
    hex: sha256,
    bytes: sha256Bytes,
    size: 32,
    source: 'FIPS 180',
    vectors: [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [LONG_448, '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
      [MILLION_A, 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
    ],
  },
]

const label = (message: string): string => (message.length > 80 ? `${message.length} x "${message[0]}"` : JSON.stringify(message))

for (const { name, hex, bytes, size, source, vectors } of digests) {
  const Digest = suite(name)

  for (const [message, expected] of vectors) {
    Digest(`should match ${source} for ${label(message)}`, () => {
      assert.is(hex(message), expected)
      assert.is(hex(ascii(message)), expected)
    })
  }

  Digest('should agree with node:crypto at every length up to four blocks', () => {
    for (let length = 0; length <= 4 * 64 + 1; length++) {
      const input = patternBytes(length)
      assert.is(hex(input), nodeHash(name, input), `length ${length}`)
    }
  })

  Digest('should agree with node:crypto on any bytes, block boundaries weighted', () => {
    fc.assert(
      fc.property(arbitraryBytes, (input) => hex(input) === nodeHash(name, input)),
      fcParams(300),
    )
  })

  Digest('should read only the viewed bytes of a subarray', () => {
    fc.assert(
      fc.property(arbitraryOffsetBytes, (input) => hex(input) === nodeHash(name, Uint8Array.from(input))),
      fcParams(),
    )
  })

  Digest('should hash a string as its TextEncoder UTF-8 bytes', () => {
    fc.assert(
      fc.property(arbitraryText, (text) => hex(text) === nodeHash(name, text)),
      fcParams(),
    )
  })

  Digest('should leave its input unchanged', () => {
    const input = patternBytes(130)
    hex(input)
    assert.equal(input, patternBytes(130))
  })

  if (name === 'md5') {
    Digest('should give the G3/G4 cookie value of 127.0.0.1:9001', () => {
      assert.is(md5('127.0.0.1:9001'), '422db4e6da7b4bba46bd476612df0469')
    })

    Digest('should give the G1/G2 cookie value over the sockaddr_in bytes of 127.0.0.1:9001', () => {
      const sockaddr = Uint8Array.of(0x02, 0x00, 0x23, 0x29, 0x7f, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0)
      assert.is(md5(sockaddr), '2b46daf0ba503cbe30c3b46dfad73e0a')
    })
  }
  Digest.run()

  const Bytes = suite(`${name}Bytes`)

  Bytes(`should return the ${size} digest bytes that ${name} renders as hex`, () => {
    fc.assert(
      fc.property(arbitraryBytes, (input) => {
        const digest = bytes(input)
        assert.is(digest.length, size)
        assert.is(toHex(digest), nodeHash(name, input))
      }),
      fcParams(),
    )
  })

  Bytes('should return a fresh array each call', () => {
    const first = bytes('route')
    first.fill(0)
    assert.is(toHex(bytes('route')), nodeHash(name, 'route'))
  })
  Bytes.run()
}

// ---------------------------------------------------------------- hmac / hmacBytes
const fill = (length: number, byte: number): Uint8Array => new Uint8Array(length).fill(byte)
const counting = Uint8Array.from({ length: 25 }, (_, i) => i + 1)

// RFC 2202 sections 2 and 3 (keys sized for HMAC-MD5 where they differ from HMAC-SHA1's).
const rfc2202: ReadonlyArray<{ md5Key: Uint8Array; sha1Key: Uint8Array; data: Uint8Array; md5: string; sha1: string }> = [
  {
    md5Key: fill(16, 0x0b),
    sha1Key: fill(20, 0x0b),
    data: ascii('Hi There'),
    md5: '9294727a3638bb1c13f48ef8158bfc9d',
    sha1: 'b617318655057264e28bc0b6fb378c8ef146be00',
  },
  {
    md5Key: ascii('Jefe'),
    sha1Key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    md5: '750c783e6ab0b503eaa86e310a5db738',
    sha1: 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
  },
  {
    md5Key: fill(16, 0xaa),
    sha1Key: fill(20, 0xaa),
    data: fill(50, 0xdd),
    md5: '56be34521d144c88dbb8c733f0e8b3f6',
    sha1: '125d7342b9ac11cd91a39af48aa17b4f63f175d3',
  },
  { md5Key: counting, sha1Key: counting, data: fill(50, 0xcd), md5: '697eaf0aca3a3aea3a75164746ffaa79', sha1: '4c9007f4026250c6bc8414f9bf50c86c2d7235da' },
  {
    md5Key: fill(16, 0x0c),
    sha1Key: fill(20, 0x0c),
    data: ascii('Test With Truncation'),
    md5: '56461ef2342edc00f9bab995690efd4c',
    sha1: '4c1a03424b55e07fe7f27be1d58bb9324a9a5a04',
  },
  {
    md5Key: fill(80, 0xaa),
    sha1Key: fill(80, 0xaa),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    md5: '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd',
    sha1: 'aa4ae5e15272d00e95705637ce8a3b55ed402112',
  },
  {
    md5Key: fill(80, 0xaa),
    sha1Key: fill(80, 0xaa),
    data: ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'),
    md5: '6f630fad67cda0ee1fb1f562db3aa53e',
    sha1: 'e8e99d0f45237d786d6bbaa7965c7808bbff1a91',
  },
]

// RFC 4231 section 4; case 5's output is truncated to 128 bits, so only its prefix is given.
const rfc4231: ReadonlyArray<{ case: number; key: Uint8Array; data: Uint8Array; sha256: string }> = [
  { case: 1, key: fill(20, 0x0b), data: ascii('Hi There'), sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  { case: 2, key: ascii('Jefe'), data: ascii('what do ya want for nothing?'), sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
  { case: 3, key: fill(20, 0xaa), data: fill(50, 0xdd), sha256: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
  { case: 4, key: counting, data: fill(50, 0xcd), sha256: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b' },
  { case: 5, key: fill(20, 0x0c), data: ascii('Test With Truncation'), sha256: 'a3b6167473100ee06e0c796c2955552b' },
  {
    case: 6,
    key: fill(131, 0xaa),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    case: 7,
    key: fill(131, 0xaa),
    data: ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    sha256: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
]

const algorithms: readonly HmacAlgorithm[] = ['md5', 'sha1', 'sha256']

const Hmac = suite('hmac')

rfc2202.forEach((vector, index) => {
  Hmac(`should match RFC 2202 HMAC-MD5 test case ${index + 1}`, () => {
    assert.is(hmac('md5', vector.md5Key, vector.data), vector.md5)
  })
  Hmac(`should match RFC 2202 HMAC-SHA1 test case ${index + 1}`, () => {
    assert.is(hmac('sha1', vector.sha1Key, vector.data), vector.sha1)
  })
})

for (const vector of rfc4231) {
  Hmac(`should match RFC 4231 HMAC-SHA256 test case ${vector.case}`, () => {
    assert.is(hmac('sha256', vector.key, vector.data).slice(0, vector.sha256.length), vector.sha256)
  })
}

for (const algorithm of algorithms) {
  Hmac(`should agree with node:crypto over ${algorithm} for any key and data`, () => {
    fc.assert(
      fc.property(arbitraryKey, arbitraryBytes, (key, data) => hmac(algorithm, key, data) === nodeHmac(algorithm, key, data)),
      fcParams(200),
    )
  })

  Hmac(`should encode string keys and data as UTF-8 over ${algorithm}`, () => {
    const encoder = new TextEncoder()
    fc.assert(
      fc.property(arbitraryText, arbitraryText, (key, data) => hmac(algorithm, key, data) === nodeHmac(algorithm, encoder.encode(key), encoder.encode(data))),
      fcParams(),
    )
  })
}

Hmac('should treat a key of exactly one block as is, and one byte longer as hashed', () => {
  for (const algorithm of algorithms) {
    for (const length of [63, 64, 65, 128]) {
      const key = patternBytes(length)
      assert.is(hmac(algorithm, key, 'route'), nodeHmac(algorithm, key, ascii('route')), `${algorithm} key of ${length} bytes`)
    }
  }
})

Hmac('should reject an algorithm outside md5, sha1 and sha256', () => {
  for (const name of ['sha512', 'MD5', 'constructor', '']) {
    assert.throws(
      () => hmac(name as HmacAlgorithm, 'key', 'data'),
      (error: unknown) => error instanceof TypeError,
    )
  }
})
Hmac.run()

const HmacBytes = suite('hmacBytes')

HmacBytes('should return the raw bytes that hmac renders as hex', () => {
  fc.assert(
    fc.property(fc.constantFrom(...algorithms), arbitraryKey, arbitraryBytes, (algorithm, key, data) => {
      const mac = hmacBytes(algorithm, key, data)
      assert.is(mac.length, { md5: 16, sha1: 20, sha256: 32 }[algorithm])
      assert.is(toHex(mac), nodeHmac(algorithm, key, data))
    }),
    fcParams(),
  )
})

HmacBytes('should leave key and data unchanged', () => {
  const key = patternBytes(100)
  const data = patternBytes(70)
  hmacBytes('sha256', key, data)
  assert.equal(key, patternBytes(100))
  assert.equal(data, patternBytes(70))
})
HmacBytes.run()
