import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'
import { createTokenCodec, type TokenCodec, type TokenOptions, type TokenReading, type ValidTokenReading } from '../src/token'
import { expectConfigError } from './_balancer'
import { fcParams } from './_fc'

/** 2026-01-01T00:00:00Z, a whole second. */
const NOW = Date.UTC(2026, 0, 1)
const NEW = { id: '2026-12', secret: 'a secret of exactly thirty-two b' }
const OLD = { id: '2026-06', secret: new Uint8Array(48).fill(7) }
const OTHER = { id: 'other', secret: 'another secret, also 32 bytes ok' }
const PEERS = ['10.0.0.1:8080', '10.0.0.2:8080', 'app-3.internal:8080'] as const

function valid(reading: TokenReading): ValidTokenReading {
  assert.is(reading.status, 'valid', JSON.stringify(reading))
  return reading as ValidTokenReading
}

/** The body bytes of a token, by Node's own decoder. */
function bodyOf(token: string): Buffer {
  return Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url')
}

function withBody(token: string, body: Uint8Array): string {
  return token.slice(0, token.lastIndexOf('.') + 1) + Buffer.from(body).toString('base64url')
}

function writeSeconds(body: Uint8Array, at: number, seconds: number): void {
  body[at] = Math.floor(seconds / 2 ** 32)
  new DataView(body.buffer, body.byteOffset).setUint32(at + 1, seconds >>> 0)
}

/** The token version 1 of `issue`, written from the documented layout with node:crypto. */
function referenceToken(key: { id: string; secret: string | Uint8Array }, name: string, bornS: number, issuedS: number): string {
  const peer = createHmac('sha256', key.secret)
    .update(Buffer.concat([Buffer.from('peer\0'), Buffer.from(name, 'utf8')]))
    .digest()
    .subarray(0, 9)
  const fields = Buffer.alloc(19)
  peer.copy(fields, 0)
  writeSeconds(fields, 9, bornS)
  writeSeconds(fields, 14, issuedS)
  const message = Buffer.concat([Buffer.from([1, key.id.length]), Buffer.from(key.id, 'ascii'), fields])
  const tag = createHmac('sha256', key.secret).update(message).digest().subarray(0, 16)
  return `1.${key.id}.${Buffer.concat([fields, tag]).toString('base64url')}`
}

// ---------------------------------------------------------------------------------------------------------

const Format = suite('token format')

Format('should write the documented layout, byte for byte (checked against node:crypto)', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW + 999, NOW - 3_600_000)
  assert.is(token, referenceToken(NEW, PEERS[0], NOW / 1000 - 3600, NOW / 1000))
  assert.match(token, /^1\.2026-12\.[A-Za-z0-9_-]{47}$/)
})

Format('should write times past 2^32 seconds in five bytes', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const far = 2 ** 33 * 1000
  const token = codec.issue(codec.peerId(PEERS[0]), far)
  assert.is(token, referenceToken(NEW, PEERS[0], 2 ** 33, 2 ** 33))
  assert.is(valid(codec.read(token, far)).issued, far)
})

Format('should name a peer by a keyed digest of its name, never its address', () => {
  const codec = createTokenCodec({ keys: [NEW, OLD] })
  const expected = createHmac('sha256', NEW.secret).update(`peer\0${PEERS[0]}`).digest().subarray(0, 9).toString('base64url')
  assert.is(codec.peerId(PEERS[0]), expected)
  assert.is(codec.peerId(PEERS[0], NEW.id), expected)
  assert.is.not(codec.peerId(PEERS[0], OLD.id), expected)
  assert.is.not(codec.peerId(PEERS[1]), expected)
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  assert.not.ok(token.includes('10.0.0.1'))
  assert.is(valid(codec.read(token, NOW)).peerId, expected)
  assert.throws(
    () => codec.peerId(PEERS[0], 'nokey'),
    (e: unknown) => e instanceof RangeError,
  )
})

Format('should read back the peer id, the key and whole-second times', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const reading = valid(codec.read(codec.issue(codec.peerId(PEERS[2]), NOW + 1500, NOW - 10_250), NOW + 2000))
  assert.equal(
    { ...reading },
    {
      status: 'valid',
      keyId: NEW.id,
      keyIndex: 0,
      peerId: codec.peerId(PEERS[2]),
      born: NOW - 11_000,
      issued: NOW + 1000,
      needsReissue: false,
    },
  )
  assert.equal(codec.keyIds, [NEW.id])
})

Format('should refuse non-canonical spellings of a valid token', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  valid(codec.read(token, NOW))
  // 35 bytes end in a 3-character group whose last 2 bits are unused: setting them decodes the same bytes.
  const last = token.charCodeAt(token.length - 1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const sloppy = token.slice(0, -1) + alphabet[alphabet.indexOf(String.fromCharCode(last)) | 1]
  assert.is.not(sloppy, token)
  assert.equal(bodyOf(sloppy), bodyOf(token))
  assert.is(codec.read(sloppy, NOW).status, 'invalid')
  assert.is(codec.read(`${token}=`, NOW).status, 'invalid')
  assert.is(codec.read(` ${token}`, NOW).status, 'invalid')
  assert.is(codec.read(token.toUpperCase(), NOW).status, 'invalid')
})

Format('should refuse a later version and anything that is not a string', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  assert.is(codec.read(`2${token.slice(1)}`, NOW).status, 'invalid')
  for (const value of [undefined, null, 42, {}, [token], Buffer.from(token)]) {
    assert.is(codec.read(value as unknown as string, NOW).status, 'invalid')
  }
  assert.is(codec.read('', NOW).status, 'invalid')
  assert.is(codec.read(token + 'A'.repeat(10_000), NOW).status, 'invalid')
})

Format('should refuse a token whose born is after its issue, even correctly signed', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  // A correctly signed token that issue never writes: built from the layout with the real key.
  const token = referenceToken(NEW, PEERS[0], NOW / 1000 + 1, NOW / 1000)
  assert.is(codec.read(token, NOW).status, 'invalid')
  valid(codec.read(referenceToken(NEW, PEERS[0], NOW / 1000, NOW / 1000), NOW))
})

Format.run()

// ---------------------------------------------------------------------------------------------------------

const Lifetimes = suite('token lifetimes')

Lifetimes('should ask for a re-issue from half of idle on, and expire after idle + skew', () => {
  const codec = createTokenCodec({ keys: [NEW], idle: 1800, skew: 30 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  assert.is(valid(codec.read(token, NOW + 900_000 - 1)).needsReissue, false)
  assert.is(valid(codec.read(token, NOW + 900_000)).needsReissue, true)
  assert.is(valid(codec.read(token, NOW + 1_830_000 - 1)).needsReissue, true)
  assert.is(codec.read(token, NOW + 1_830_000).status, 'expired')
})

Lifetimes('should keep born on re-issue, so maxAge ends even an active pin', () => {
  const codec = createTokenCodec({ keys: [NEW], maxAge: '1h', idle: 600, skew: 0 })
  const id = codec.peerId(PEERS[1])
  let token = codec.issue(id, NOW)
  let now = NOW
  // Back every 5 minutes: always re-issued in time for idle, never beyond maxAge.
  for (; now < NOW + 3_600_000; now += 300_000) {
    const reading = valid(codec.read(token, now))
    if (reading.needsReissue) token = codec.issue(id, now, reading.born)
  }
  assert.is(now, NOW + 3_600_000)
  assert.is(valid(codec.read(token, now - 1)).born, NOW)
  assert.is(codec.read(token, now).status, 'expired')
})

Lifetimes('should never expire without maxAge or idle', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  assert.is(valid(codec.read(token, NOW + 1e13)).needsReissue, false)
})

Lifetimes('should accept a token dated up to skew in the future, and no further', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const ahead = codec.issue(codec.peerId(PEERS[0]), NOW + 30_000)
  valid(codec.read(ahead, NOW))
  assert.is(codec.read(ahead, NOW - 1).status, 'expired')
  const strict = createTokenCodec({ keys: [NEW], skew: 0 })
  assert.is(strict.read(codec.issue(codec.peerId(PEERS[0]), NOW + 1000), NOW + 999).status, 'expired')
})

Lifetimes('should judge maxAge with skew of tolerance', () => {
  const codec = createTokenCodec({ keys: [NEW], maxAge: 60, skew: 5 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  valid(codec.read(token, NOW + 65_000 - 1))
  assert.is(codec.read(token, NOW + 65_000).status, 'expired')
})

Lifetimes('should take a born later than now as now (a fast clock elsewhere can only shorten the pin)', () => {
  const codec = createTokenCodec({ keys: [NEW], maxAge: 60 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW, NOW + 20_000)
  const reading = valid(codec.read(token, NOW))
  assert.is(reading.born, NOW)
  assert.is(reading.issued, NOW)
})

Lifetimes('should refuse times and ids from a broken caller with RangeError', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const id = codec.peerId(PEERS[0])
  const bad: ReadonlyArray<() => unknown> = [
    () => codec.issue(id, Number.NaN),
    () => codec.issue(id, -1000),
    () => codec.issue(id, 2 ** 40 * 1000),
    () => codec.issue(id, NOW, Number.POSITIVE_INFINITY),
    () => codec.issue('not an id', NOW),
    () => codec.issue(`${id}A`, NOW),
    () => codec.read(codec.issue(id, NOW), Number.NaN),
  ]
  for (const call of bad) assert.throws(call, (e: unknown) => e instanceof RangeError)
})

Lifetimes.run()

// ---------------------------------------------------------------------------------------------------------

const Keys = suite('token keys and peers')

Keys('should honour a token of an older key, ask for its re-issue, and find its peer', () => {
  const before = createTokenCodec({ keys: [OLD] })
  const after = createTokenCodec({ keys: [NEW, OLD] })
  const old = before.issue(before.peerId(PEERS[1]), NOW - 60_000, NOW - 120_000)
  const reading = valid(after.read(old, NOW))
  assert.is(reading.keyId, OLD.id)
  assert.is(reading.keyIndex, 1)
  assert.is(reading.needsReissue, true)
  const table = after.peerTable(PEERS.map((name) => [name, { name }] as const))
  const peer = table.peerOf(reading)
  assert.equal(peer, { name: PEERS[1] })
  const renewed = valid(after.read(after.issue(table.idOf(peer!)!, NOW, reading.born), NOW))
  assert.equal([renewed.keyId, renewed.needsReissue, renewed.born], [NEW.id, false, NOW - 120_000])
  assert.is(table.peerOf(renewed), peer)
})

Keys('should refuse a token whose key was removed, or whose key id is known but secret differs', () => {
  const rotated = createTokenCodec({ keys: [NEW, OLD] })
  const done = createTokenCodec({ keys: [NEW] })
  const old = rotated.issue(rotated.peerId(PEERS[0], OLD.id), NOW)
  assert.is(old.split('.')[1], NEW.id, 'issue signs with the first key')
  const byOld = createTokenCodec({ keys: [OLD] }).issue(rotated.peerId(PEERS[0], OLD.id), NOW)
  valid(rotated.read(byOld, NOW))
  assert.is(done.read(byOld, NOW).status, 'invalid')
  const impostor = createTokenCodec({ keys: [{ id: NEW.id, secret: OTHER.secret }] })
  assert.is(done.read(impostor.issue(impostor.peerId(PEERS[0]), NOW), NOW).status, 'invalid')
})

Keys("should bind the key id into the tag: two ids with one secret do not accept each other's tokens", () => {
  const codec = createTokenCodec({
    keys: [
      { id: 'a', secret: NEW.secret },
      { id: 'b', secret: NEW.secret },
    ],
  })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  valid(codec.read(token, NOW))
  assert.is(codec.read(token.replace('1.a.', '1.b.'), NOW).status, 'invalid')
})

Keys('should map peers whatever their order, and no longer find a removed peer', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const token = codec.issue(codec.peerId(PEERS[2]), NOW)
  const reading = valid(codec.read(token, NOW))
  const forward = codec.peerTable(PEERS.map((name, i) => [name, i] as const))
  const reversed = codec.peerTable([...PEERS].reverse().map((name) => [name, PEERS.indexOf(name)] as const))
  assert.is(forward.peerOf(reading), 2)
  assert.is(reversed.peerOf(reading), 2)
  const without = codec.peerTable(PEERS.slice(0, 2).map((name, i) => [name, i] as const))
  assert.is(without.peerOf(reading), undefined)
  assert.is(without.idOf(2), undefined)
  assert.is(forward.idOf(2), codec.peerId(PEERS[2]))
})

Keys('should refuse a peer list naming one peer twice', () => {
  const codec = createTokenCodec({ keys: [NEW] })
  const error = expectConfigError(
    () =>
      codec.peerTable([
        [PEERS[0], 0],
        [PEERS[0], 1],
      ]),
    'peers',
  )
  assert.is(error.value, PEERS[0])
})

Keys('should let instances from equal options accept each other and issue identical tokens', () => {
  const options: TokenOptions = { keys: [NEW, OLD], idle: '30m', maxAge: '7d' }
  const a = createTokenCodec(options)
  const b = createTokenCodec({ ...options, keys: options.keys.map((k) => ({ ...k })) })
  const token = a.issue(a.peerId(PEERS[0]), NOW)
  assert.is(b.issue(b.peerId(PEERS[0]), NOW), token)
  assert.equal(b.read(token, NOW + 1000), a.read(token, NOW + 1000))
})

Keys('should copy a byte secret, so changing the caller array later changes nothing', () => {
  const secret = new Uint8Array(32).fill(1)
  const codec = createTokenCodec({ keys: [{ id: 'k', secret }] })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  secret.fill(2)
  valid(codec.read(token, NOW))
  assert.is(createTokenCodec({ keys: [{ id: 'k', secret: new Uint8Array(32).fill(1) }] }).issue(codec.peerId(PEERS[0]), NOW), token)
})

Keys.run()

// ---------------------------------------------------------------------------------------------------------

const Cache = suite('token cache')

Cache('should answer a repeated valid token with the same reading object (nothing allocated)', () => {
  const codec = createTokenCodec({ keys: [NEW], idle: 1800 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  const first = codec.read(token, NOW)
  assert.is(codec.read(token, NOW + 1000), first)
  const due = codec.read(token, NOW + 900_000)
  assert.is(valid(due).needsReissue, true)
  assert.is(codec.read(token, NOW + 900_001), due)
  assert.ok(Object.isFrozen(first) && Object.isFrozen(due))
})

Cache('should still judge the dates of a remembered token', () => {
  const codec = createTokenCodec({ keys: [NEW], idle: 60, skew: 0 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  valid(codec.read(token, NOW))
  assert.is(codec.read(token, NOW + 60_000).status, 'expired')
  assert.is(codec.read(token, NOW - 1).status, 'expired')
  valid(codec.read(token, NOW + 59_999))
})

Cache('should keep at most `cache` tokens, dropping the oldest', () => {
  const codec = createTokenCodec({ keys: [NEW], cache: 2 })
  const id = codec.peerId(PEERS[0])
  const [a, b, c] = [0, 1, 2].map((s) => codec.issue(id, NOW + s * 1000)) as [string, string, string]
  const readA = codec.read(a, NOW)
  codec.read(b, NOW)
  const readC = codec.read(c, NOW)
  assert.is(codec.read(c, NOW), readC)
  // a was dropped for c: verified again, it reads the same but as a new object.
  const again = codec.read(a, NOW)
  assert.is.not(again, readA)
  assert.equal(again, readA)
})

Cache('should verify every time with cache 0', () => {
  const codec = createTokenCodec({ keys: [NEW], cache: 0 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  const first = codec.read(token, NOW)
  assert.is.not(codec.read(token, NOW), first)
  assert.equal(codec.read(token, NOW), first)
})

Cache.run()

// ---------------------------------------------------------------------------------------------------------

interface BadOption {
  readonly name: string
  readonly options: unknown
  readonly option: string
  readonly value: unknown
}
const badOptions: readonly BadOption[] = [
  { name: 'options that are not an object', options: 'secret', option: 'token', value: 'secret' },
  { name: 'an unknown option', options: { keys: [NEW], maxage: 60 }, option: 'token.maxage', value: 60 },
  { name: 'no keys', options: { keys: [] }, option: 'token.keys', value: [] },
  { name: 'keys that are not an array', options: { keys: NEW }, option: 'token.keys', value: NEW },
  { name: 'a key that is not an object', options: { keys: [NEW, 'k'] }, option: 'token.keys[1]', value: 'k' },
  { name: 'an unknown key field', options: { keys: [NEW, { ...OLD, alg: 'sha1' }] }, option: 'token.keys[1].alg', value: 'sha1' },
  { name: 'a missing key id', options: { keys: [{ secret: NEW.secret }] }, option: 'token.keys[0].id', value: undefined },
  { name: 'an empty key id', options: { keys: [{ ...NEW, id: '' }] }, option: 'token.keys[0].id', value: '' },
  { name: 'a key id of 9 characters', options: { keys: [{ ...NEW, id: '123456789' }] }, option: 'token.keys[0].id', value: '123456789' },
  { name: 'a key id with a dot', options: { keys: [NEW, { ...OLD, id: 'a.b' }] }, option: 'token.keys[1].id', value: 'a.b' },
  { name: 'a key id with a semicolon', options: { keys: [{ ...NEW, id: 'a;b' }] }, option: 'token.keys[0].id', value: 'a;b' },
  { name: 'a duplicate key id', options: { keys: [NEW, { ...OLD, id: NEW.id }] }, option: 'token.keys[1].id', value: NEW.id },
  { name: 'a numeric secret', options: { keys: [{ id: 'k', secret: 42 }] }, option: 'token.keys[0].secret', value: 'number' },
  { name: 'a missing secret', options: { keys: [{ id: 'k' }] }, option: 'token.keys[0].secret', value: 'undefined' },
  { name: 'a 31-byte secret', options: { keys: [{ id: 'k', secret: 'x'.repeat(31) }] }, option: 'token.keys[0].secret', value: '(secret of 31 bytes)' },
  {
    name: 'a 31-byte byte secret',
    options: { keys: [NEW, { id: 'k', secret: new Uint8Array(31) }] },
    option: 'token.keys[1].secret',
    value: '(secret of 31 bytes)',
  },
  { name: 'maxAge 0', options: { keys: [NEW], maxAge: 0 }, option: 'token.maxAge', value: 0 },
  { name: 'a fractional idle', options: { keys: [NEW], idle: 1.5 }, option: 'token.idle', value: 1.5 },
  { name: 'an idle in milliseconds text', options: { keys: [NEW], idle: '1500ms' }, option: 'token.idle', value: '1500ms' },
  { name: 'a unit-less idle string', options: { keys: [NEW], idle: '60' }, option: 'token.idle', value: '60' },
  { name: 'a negative skew', options: { keys: [NEW], skew: -1 }, option: 'token.skew', value: -1 },
  { name: 'a skew in milliseconds by mistake', options: { keys: [NEW], skew: 30_000 }, option: 'token.skew', value: 30_000 },
  { name: 'a negative cache', options: { keys: [NEW], cache: -1 }, option: 'token.cache', value: -1 },
  { name: 'a string cache', options: { keys: [NEW], cache: '100' }, option: 'token.cache', value: '100' },
]

const Options = suite('token options')

for (const bad of badOptions) {
  Options(`should refuse ${bad.name}`, () => {
    const error = expectConfigError(() => createTokenCodec(bad.options as TokenOptions), bad.option)
    assert.equal(error.value, bad.value)
  })
}

Options('should never show a rejected secret', () => {
  const secret = 'hunter2-is-not-long-enough'
  const error = expectConfigError(() => createTokenCodec({ keys: [{ id: 'k', secret }] }), 'token.keys[0].secret')
  assert.not.ok(error.message.includes(secret), error.message)
  assert.not.ok(JSON.stringify(error.value).includes(secret))
  assert.instance(error, StickyConfigError)
})

Options('should accept 32-byte secrets (counted in UTF-8 bytes), durations with units, skew 0 and cache 0', () => {
  // 16 two-byte characters: 32 bytes of UTF-8.
  const codec = createTokenCodec({ keys: [{ id: 'A_z-09', secret: 'é'.repeat(16) }], maxAge: '7d', idle: '30m', skew: '0s', cache: 0 })
  const token = codec.issue(codec.peerId(PEERS[0]), NOW)
  assert.is(valid(codec.read(token, NOW + 900_000)).needsReissue, true)
  assert.is(codec.read(token, NOW + 1_800_000).status, 'expired')
  expectConfigError(() => createTokenCodec({ keys: [{ id: 'k', secret: `${'é'.repeat(15)}x` }] }), 'token.keys[0].secret')
})

Options.run()

// ---------------------------------------------------------------------------------------------------------

const arbitrarySecret = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 100 }), fc.string({ minLength: 32, maxLength: 80 }))
const arbitraryKeyId = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/)
const arbitraryKeys = fc.uniqueArray(fc.record({ id: arbitraryKeyId, secret: arbitrarySecret }), { minLength: 1, maxLength: 4, selector: (k) => k.id })
/** Milliseconds from 1970 to about the year 2300, and a few far ones. */
const arbitraryTime = fc.oneof(
  fc.integer({ min: 0, max: 10_400_000_000_000 }),
  fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((s) => s * 1000),
)
const arbitraryName = fc.oneof(fc.constantFrom(...PEERS), fc.string({ maxLength: 40 }))

/** A codec and a token it issued, valid at `now`. */
const arbitraryIssued = fc.record({ keys: arbitraryKeys, name: arbitraryName, now: arbitraryTime, age: fc.nat(10_000_000) }).map(({ keys, name, now, age }) => {
  const codec = createTokenCodec({ keys })
  const token = codec.issue(codec.peerId(name), now, Math.max(0, now - age))
  return { codec, keys, token, now }
})

function assertNotValid(codec: TokenCodec, value: string, now: number, original: string): void {
  if (value === original) return
  const reading = codec.read(value, now)
  assert.is.not(reading.status, 'valid', `${value} (from ${original}) reads as valid`)
}

const Properties = suite('token properties')

Properties('a random string is never valid, nor a token-shaped one with a configured key id', () => {
  fc.assert(
    fc.property(arbitraryIssued, fc.string({ maxLength: 80 }), fc.stringMatching(/^[A-Za-z0-9_-]{47}$/), ({ codec, keys, token, now }, text, body) => {
      valid(codec.read(token, now))
      assertNotValid(codec, text, now, token)
      assertNotValid(codec, `1.${keys[0]!.id}.${body}`, now, token)
    }),
    fcParams(300),
  )
})

Properties('a token with any bit of its body flipped, or any character changed, is not valid', () => {
  fc.assert(
    fc.property(arbitraryIssued, fc.nat(35 * 8 - 1), fc.nat(), fc.integer({ min: 0, max: 0x7f }), ({ codec, token, now }, bit, position, code) => {
      valid(codec.read(token, now))
      const body = bodyOf(token)
      body[bit >> 3] = body[bit >> 3]! ^ (1 << (bit & 7))
      assertNotValid(codec, withBody(token, body), now, token)
      const at = position % token.length
      assertNotValid(codec, token.slice(0, at) + String.fromCharCode(code) + token.slice(at + 1), now, token)
    }),
    fcParams(500),
  )
})

Properties('a truncated or extended token is not valid', () => {
  fc.assert(
    fc.property(arbitraryIssued, fc.nat(), fc.string({ minLength: 1, maxLength: 20 }), ({ codec, token, now }, cut, tail) => {
      valid(codec.read(token, now))
      assertNotValid(codec, token.slice(0, cut % token.length), now, token)
      assertNotValid(codec, token + tail, now, token)
      assertNotValid(codec, tail + token, now, token)
    }),
    fcParams(300),
  )
})

Properties('a token re-encoded with the standard alphabet, padding or another case is not valid', () => {
  fc.assert(
    fc.property(arbitraryIssued, ({ codec, token, now }) => {
      valid(codec.read(token, now))
      const bytes = bodyOf(token)
      const head = token.slice(0, token.lastIndexOf('.') + 1)
      assertNotValid(codec, head + bytes.toString('base64'), now, token)
      assertNotValid(codec, head + bytes.toString('base64').replace(/=+$/, ''), now, token)
      assertNotValid(codec, `${token}=`, now, token)
      assertNotValid(codec, head + bytes.toString('hex'), now, token)
      assertNotValid(codec, token.toLowerCase(), now, token)
      assertNotValid(codec, encodeURIComponent(token).replace(/\./g, '%2E'), now, token)
    }),
    fcParams(200),
  )
})

Properties('a token with its key id swapped for another configured id, or its version changed, is not valid', () => {
  fc.assert(
    fc.property(arbitraryIssued, fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), ({ codec, keys, token, now }, pick, version) => {
      valid(codec.read(token, now))
      const [, id, body] = token.split('.') as [string, string, string]
      const other = keys[pick % keys.length]!.id
      assertNotValid(codec, `1.${other}.${body}`, now, token)
      assertNotValid(codec, `${version}.${id}.${body}`, now, token)
    }),
    fcParams(300),
  )
})

Properties('a token signed by a key that is not configured (same id, another secret) is not valid', () => {
  fc.assert(
    fc.property(arbitraryIssued, arbitrarySecret, ({ codec, keys, token, now }, secret) => {
      const key = keys[0]!
      fc.pre(Buffer.compare(Buffer.from(secret), Buffer.from(key.secret)) !== 0)
      const impostor = createTokenCodec({ keys: [{ id: key.id, secret }] })
      const forged = impostor.issue(codec.peerId('x'), now)
      assert.is(codec.read(forged, now).status, 'invalid')
      valid(codec.read(token, now))
    }),
    fcParams(200),
  )
})

Properties('an expired token re-dated (its times rewritten, its tag kept) is not valid', () => {
  fc.assert(
    fc.property(arbitraryIssued, fc.nat(2 ** 40 - 1), fc.nat(2 ** 40 - 1), ({ codec, token, now }, born, issued) => {
      const body = bodyOf(token)
      writeSeconds(body, 9, born)
      writeSeconds(body, 14, issued)
      for (const t of [now, issued * 1000, born * 1000]) assertNotValid(codec, withBody(token, body), t, token)
    }),
    fcParams(300),
  )
})

Properties('a token never reads valid maxAge + skew after born, nor idle + skew after issue', () => {
  fc.assert(
    fc.property(
      fc.record({ maxAge: fc.integer({ min: 1, max: 100_000 }), idle: fc.integer({ min: 1, max: 100_000 }), skew: fc.integer({ min: 0, max: 3600 }) }),
      arbitraryTime,
      fc.nat(200_000_000),
      fc.integer({ min: -4_000_000, max: 400_000_000 }),
      (lifetimes, issued, age, after) => {
        const codec = createTokenCodec({ keys: [NEW], ...lifetimes })
        const born = Math.max(0, issued - age)
        const token = codec.issue(codec.peerId(PEERS[0]), issued, born)
        const now = issued + after
        const reading = codec.read(token, now)
        if (reading.status === 'valid') {
          assert.ok(now - born < (lifetimes.maxAge + lifetimes.skew) * 1000, 'valid past maxAge + skew')
          assert.ok(now - issued < (lifetimes.idle + lifetimes.skew) * 1000, 'valid past idle + skew')
          // The token stores whole seconds: `issued` in milliseconds may be up to 999 ms past what it says.
          assert.ok(reading.issued - now <= lifetimes.skew * 1000, 'valid before issued - skew')
          assert.is(reading.needsReissue, now - reading.issued >= (lifetimes.idle * 1000) / 2)
        } else {
          assert.is(reading.status, 'expired')
        }
        // Within every limit by a whole second of margin, it must be valid.
        const margin = 1000
        if (after >= 0 && now - born + margin < lifetimes.maxAge * 1000 && after + margin < lifetimes.idle * 1000) valid(reading)
      },
    ),
    fcParams(1000),
  )
})

Properties('a client back within idle / 2 each time stays pinned, re-issued, until maxAge', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 3600 }),
      fc.integer({ min: 0, max: 60 }),
      // Not near the end of the 40-bit range: the walk goes up to 30 hours further.
      fc.integer({ min: 0, max: 10_400_000_000_000 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 60 }),
      (idle, skew, start, gaps) => {
        const codec = createTokenCodec({ keys: [NEW], idle, skew })
        const id = codec.peerId(PEERS[0])
        let token = codec.issue(id, start)
        let now = start
        for (const gap of gaps) {
          now += Math.floor((gap * idle * 1000) / 2)
          const reading = valid(codec.read(token, now))
          assert.is(reading.born, Math.floor(start / 1000) * 1000)
          if (reading.needsReissue) token = codec.issue(id, now, reading.born)
        }
      },
    ),
    fcParams(300),
  )
})

Properties('rotation: a token of any configured key finds its peer, and its re-issue by the first key too', () => {
  fc.assert(
    fc.property(arbitraryKeys, fc.uniqueArray(arbitraryName, { minLength: 1, maxLength: 8 }), fc.nat(), arbitraryTime, (keys, names, pick, now) => {
      const codec = createTokenCodec({ keys })
      const table = codec.peerTable(names.map((name, i) => [name, i] as const))
      const signer = keys[pick % keys.length]!
      const index = pick % names.length
      const alone = createTokenCodec({ keys: [signer] })
      const token = alone.issue(alone.peerId(names[index]!), now)
      const reading = valid(codec.read(token, now))
      assert.is(reading.keyId, signer.id)
      assert.is(reading.needsReissue, signer !== keys[0])
      assert.is(table.peerOf(reading), index)
      const renewed = valid(codec.read(codec.issue(table.idOf(index)!, now, reading.born), now))
      assert.is(renewed.keyIndex, 0)
      assert.is(table.peerOf(renewed), index)
      // The key removed: its tokens are invalid.
      const rest = keys.filter((k) => k !== signer)
      if (rest.length > 0) assert.is(createTokenCodec({ keys: rest }).read(token, now).status, 'invalid')
    }),
    fcParams(200),
  )
})

Properties('two codecs from equal options issue identical tokens and read them identically', () => {
  fc.assert(
    fc.property(arbitraryKeys, arbitraryName, arbitraryTime, fc.nat(100_000_000), (keys, name, now, later) => {
      const a = createTokenCodec({ keys, idle: 600, maxAge: 86_400 })
      const b = createTokenCodec({
        keys: keys.map((k) => ({ id: k.id, secret: typeof k.secret === 'string' ? k.secret : Uint8Array.from(k.secret) })),
        idle: 600,
        maxAge: 86_400,
        cache: 0,
      })
      const token = a.issue(a.peerId(name), now)
      assert.is(b.issue(b.peerId(name), now), token)
      assert.equal(b.read(token, now + later), a.read(token, now + later))
    }),
    fcParams(200),
  )
})

Properties('reading never throws on any value', () => {
  fc.assert(
    fc.property(fc.anything(), arbitraryTime, (value, now) => {
      const codec = createTokenCodec({ keys: [NEW] })
      assert.is(codec.read(value as string, now).status, 'invalid')
    }),
    fcParams(300),
  )
})

Properties.run()
