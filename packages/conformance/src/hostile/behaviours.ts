import fc from 'fast-check'
import type { PeerIO, PeerScript } from './peer'
import type { HostileLimit } from './types'
import { isFieldByte, isTchar, show } from './wire'

/**
 * The misbehaviours of the hostile-peer kit, each with what the attempt policy (sticky-core's
 * `judgeAttempt`) says the client must see and whether the peer is to blame.
 */

/** What the client must see, and whether the peer is blamed (`balancer.report(peer, false)`). */
export type Expectation =
  /** A valid response: relayed (status and body), the peer not blamed (`peer-answered`). */
  | { readonly kind: 'relay'; readonly status: number; readonly body: Buffer }
  /**
   * A response that is not acceptable HTTP/1.1 but has a lenient reading: relayed as that reading
   * says (the peer not blamed), or refused with 502 (`peer-protocol-error`, the peer blamed).
   * Either way what reaches the client is valid HTTP/1.1.
   */
  | { readonly kind: 'lenient'; readonly status: number; readonly body: Buffer }
  /** No response head, the connection failed or was dropped (`connect-failed`, `peer-reset`): blamed; retried when the policy allows, else 502. */
  | { readonly kind: 'connect' }
  /** Not HTTP (`peer-protocol-error`): 502, blamed, never retried. `or504`: the proxy may also wait for more and time out. */
  | { readonly kind: 'protocol'; readonly or504?: boolean }
  /** Nothing (or no whole head) within the timeout (`peer-silent`): 504, blamed, never retried. */
  | { readonly kind: 'silent' }
  /** A head, then a broken body (`peer-cut-response`): blamed; the client's response is cut short, or a 502 if the break came before the head went out. */
  | {
      readonly kind: 'cut'
      readonly status: number
      /** The runtime ends a failed body as if complete (`cut-ends-cleanly`): a complete-looking response is accepted. */
      readonly mayLookComplete?: boolean
    }
  /** A valid head that takes longer than the timeout in all, though never silent as long: relayed (not blamed) or 504 (blamed). */
  | { readonly kind: 'slow'; readonly status: number; readonly body: Buffer }
  /** An answer before the upload was read (`peer-answered-early`): relayed, not blamed. */
  | { readonly kind: 'early'; readonly status: number; readonly body: Buffer }
  /**
   * An early answer followed by the peer's reset of the unread upload, on a runtime whose client can
   * lose the answer to the reset: relayed, its status with the body the reset took, or 502
   * (`peer-closed-during-upload`); never blamed.
   */
  | { readonly kind: 'early-or-lost'; readonly status: number; readonly body: Buffer }
  /** The proxy's own failure, with nobody to blame (`proxy-failed`): 502, the peer not blamed, nothing retried. */
  | { readonly kind: 'unattributed' }
  /** Anything that keeps the client's wire valid: only the safety checks hold. */
  | { readonly kind: 'safe' }
  /** An upgrade the peer accepted: the 101 and then the tunnel's bytes, as sent; not blamed. */
  | { readonly kind: 'tunnel'; readonly after: Buffer; readonly closes: boolean; readonly exact: boolean }

/** Which request the case sends. */
export type RequestKind = 'small' | 'upload' | 'upgrade'

/** One misbehaviour. */
export interface Behaviour {
  /** The family, for messages. */
  readonly family: string
  /** What the peer does, with its bytes, for messages and reproductions. */
  readonly label: string
  /** The peer's port is closed: connecting is refused. */
  readonly refuse?: boolean
  readonly script: PeerScript
  readonly expect: Expectation
  /** Time the script itself spends (drips, waits), added to the guards. */
  readonly delayMs: number
  /** The request the case sends: `small` is a GET or a POST of 4 bytes. @default 'small' */
  readonly request?: RequestKind
  /**
   * What the case accepts besides `expect` on a runtime with the given limit, for limits that
   * concern this behaviour alone (the kit derives the ones that follow from `expect.kind`).
   */
  readonly underLimit?: Readonly<Partial<Record<HostileLimit, Expectation>>>
}

const UNATTRIBUTED: Expectation = { kind: 'unattributed' }

/** What interim responses `codes` accept on runtimes that refuse or misread interims. */
function interimLimits(codes: readonly number[]): Partial<Record<HostileLimit, Expectation>> {
  return codes.includes(100) ? { 'interim-as-final': UNATTRIBUTED, 'refuses-interim-100': UNATTRIBUTED } : { 'interim-as-final': UNATTRIBUTED }
}

/** The proxy timeout every case configures (milliseconds). */
export const TIMEOUT_MS = 500

const STATUSES = [200, 201, 203, 400, 403, 404, 410, 418, 429, 503] as const

/**
 * A complete response with `X-Backend: hostile`, after `fields` (so that an odd field line, such as
 * an obs-fold continuation, never attaches itself to `X-Backend`).
 */
export function response(status: number, reason: string, body: Buffer, fields: readonly string[] = []): Buffer {
  const head = [`HTTP/1.1 ${status} ${reason}`, ...fields, 'X-Backend: hostile', `Content-Length: ${body.length}`, '', ''].join('\r\n')
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}

const bodyArb = fc.uint8Array({ minLength: 0, maxLength: 48 }).map((b) => Buffer.from(b))
const statusArb = fc.constantFrom(...STATUSES)

/** After a bad head or body: what the peer does with the connection. */
type After = 'hold' | 'close' | 'reset'
const afterArb = fc.constantFrom<After>('hold', 'close', 'reset')

async function afterwards(io: PeerIO, after: After): Promise<void> {
  if (after === 'close') io.end()
  else if (after === 'reset') io.reset()
  else await io.closed()
}

/** Reads the request, lets the case check the proxy serves others, then runs `rest`. */
function onRequest(rest: (io: PeerIO) => Promise<void>, body = true): PeerScript {
  return async (io) => {
    await io.request({ body })
    await io.meanwhile()
    await rest(io)
  }
}

// ---------------------------------------------------------------- the peer fails before a head

type Drop = 'reset' | 'close'
const dropArb = fc.constantFrom<Drop>('reset', 'close')
const dropText = (how: Drop): string => (how === 'reset' ? 'resets (RST)' : 'closes (FIN)')
const drop = (io: PeerIO, how: Drop): void => (how === 'reset' ? io.reset() : io.end())

/** The peer's port is closed: connecting is refused. */
export function refuse(): Behaviour {
  return {
    family: 'connection',
    label: 'refuses the connection (port closed)',
    refuse: true,
    script: async () => undefined,
    expect: { kind: 'connect' },
    delayMs: 0,
  }
}

/** Drops the connection as soon as it is accepted, before reading a byte. */
export function dropAtAccept(how: Drop): Behaviour {
  return {
    family: 'connection',
    label: `${dropText(how)} the connection as soon as it is accepted`,
    script: async (io) => drop(io, how),
    expect: { kind: 'connect' },
    delayMs: 0,
  }
}

/** Reads the request, then drops the connection without a byte of answer. */
export function dropAfterRequest(how: Drop): Behaviour {
  return {
    family: 'connection',
    label: `reads the request, then ${dropText(how)} without answering`,
    script: onRequest(async (io) => drop(io, how)),
    expect: { kind: 'connect' },
    delayMs: 0,
  }
}

/** Sends the first `fraction` of a valid head, then drops the connection. */
export function partialHead(how: Drop, fraction: number, status = 200, body: Buffer = Buffer.from('hi')): Behaviour {
  const whole = response(status, 'Whatever', body)
  const headLength = whole.indexOf('\r\n\r\n') + 4
  const sent = whole.subarray(0, Math.max(1, Math.min(headLength - 1, Math.floor(headLength * fraction))))
  return {
    family: 'connection',
    label: `sends ${show(sent)} (part of a head), then ${dropText(how)}`,
    script: onRequest(async (io) => {
      await io.write(sent)
      drop(io, how)
    }),
    expect: { kind: 'connect' },
    delayMs: 0,
  }
}

/** Interim responses, and then the connection dropped before a final one. */
export function interimsThenDrop(codes: readonly number[], how: Drop): Behaviour {
  const interims = codes.map((c) => `HTTP/1.1 ${c} Interim\r\n${c === 103 ? 'Link: </s.css>; rel=preload\r\n' : ''}\r\n`).join('')
  return {
    family: 'connection',
    label: `sends only interim responses ${show(interims)}, then ${dropText(how)}`,
    script: onRequest(async (io) => {
      await io.write(interims)
      drop(io, how)
    }),
    expect: { kind: 'connect' },
    underLimit: interimLimits(codes),
    delayMs: 0,
  }
}

/** Refused, reset or closed before, while, or after the request, or before the head is whole. */
export const connectionFailures: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant(refuse()),
  dropArb.map(dropAtAccept),
  dropArb.map(dropAfterRequest),
  fc
    .record({ how: dropArb, fraction: fc.double({ min: 0.01, max: 0.99, noNaN: true }), status: statusArb, body: bodyArb })
    .map(({ how, fraction, status, body }) => partialHead(how, fraction, status, body)),
  fc
    .record({ codes: fc.array(fc.constantFrom(100, 102, 103, 150, 199), { minLength: 1, maxLength: 3 }), how: dropArb })
    .map(({ codes, how }) => interimsThenDrop(codes, how)),
)

// ---------------------------------------------------------------- heads that are not HTTP

const GARBAGE_LINES = [
  'HTTP/1.1 20 OK',
  'HTTP/1.1 2000 OK',
  // Three digits, but no status RFC 9110 section 15 defines (100 to 599).
  'HTTP/1.1 600 Beyond',
  'HTTP/1.1 999 Weird',
  'HTTP/1.1 abc OK',
  'HTTP/1.1 -20 OK',
  'HTTX/1.1 200 OK',
  'HTTP/1.1200 OK',
  'ICY 200 OK',
  'SSH-2.0-OpenSSH_9.6',
  '<html><body>hello</body></html>',
] as const

/** `line` where a status line belongs (followed by a field and a body), then `after`. */
export function garbageHead(line: string, after: After): Behaviour {
  const bytes = Buffer.from(`${line}\r\nContent-Length: 2\r\n\r\nhi`, 'latin1')
  return {
    family: 'garbage head',
    label: `answers ${show(bytes)}, then ${after}s`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await afterwards(io, after)
    }),
    expect: { kind: 'protocol' },
    delayMs: 0,
  }
}

/**
 * `HTTP/1.1<TAB>200 OK`: not the grammar, but RFC 9112 section 4 lets a recipient read any
 * whitespace as the separator, so the answer may be relayed (or refused with 502).
 */
export function tabbedStatusLine(): Behaviour {
  const body = Buffer.from('hi')
  const bytes = Buffer.from('HTTP/1.1\t200 OK\r\nX-Backend: hostile\r\nContent-Length: 2\r\n\r\nhi', 'latin1')
  return {
    family: 'garbage head',
    label: `answers ${show(bytes)} (a tab for the space after the version)`,
    script: onRequest((io) => io.write(bytes)),
    expect: { kind: 'lenient', status: 200, body },
    delayMs: 0,
  }
}

/** A status line that no HTTP/1.1 reading accepts, and whatever follows. */
export const garbageHeads: fc.Arbitrary<Behaviour> = fc
  .record({
    line: fc.oneof(
      fc.constantFrom<string>(...GARBAGE_LINES),
      // Random bytes that cannot start a status line (nor an empty line a client might skip).
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => {
        const bytes = Buffer.from(b)
        if (bytes[0] === 0x48 || bytes[0] === 0x0d || bytes[0] === 0x0a) bytes[0] = 0x00
        return bytes.toString('latin1')
      }),
    ),
    after: afterArb,
  })
  .map(({ line, after }) => garbageHead(line, after))

// ---------------------------------------------------------------- every byte in the reason phrase and the fields

/** `HTTP/1.1 <status> O<byte>K`: valid bytes relay, the others are relayed sanitised or refused. */
export function reasonByte(byte: number, status = 200, body: Buffer = Buffer.from('hi')): Behaviour {
  const reason = `O${String.fromCharCode(byte)}K`
  const bytes = response(status, reason, body)
  return {
    family: 'reason phrase',
    label: `answers ${show(bytes)} (byte 0x${byte.toString(16).padStart(2, '0')} in the reason phrase)`,
    script: onRequest((io) => io.write(bytes)),
    expect: isFieldByte(byte) ? { kind: 'relay', status, body } : { kind: 'lenient', status, body },
    ...(byte === 0x0d ? { underLimit: { 'bare-cr-ends-line': { kind: 'safe' } } } : {}),
    delayMs: 0,
  }
}

/** Every valid reason-phrase byte (HTAB, SP, VCHAR, obs-text) in one reason phrase. */
export function everyValidReasonByte(): Behaviour {
  let reason = ''
  for (let b = 0; b < 256; b += 1) if (isFieldByte(b)) reason += String.fromCharCode(b)
  const body = Buffer.from('hi')
  const bytes = response(200, `A${reason}Z`, body)
  return {
    family: 'reason phrase',
    label: `answers a reason phrase holding every valid byte ${show(bytes, 80)}`,
    script: onRequest((io) => io.write(bytes)),
    expect: { kind: 'relay', status: 200, body },
    delayMs: 0,
  }
}

/** A field whose name or value holds `byte`. */
export function fieldByte(where: 'name' | 'value', byte: number, status = 200, body: Buffer = Buffer.from('hi')): Behaviour {
  const c = String.fromCharCode(byte)
  const field = where === 'name' ? `X-H${c}st: v` : `X-Hostile: a${c}b`
  const bytes = response(status, 'OK', body, [field])
  // A colon in the name ends it early: `X-H:st: v` is the valid field `X-H` with value `st: v`.
  const valid = where === 'name' ? isTchar(byte) || byte === 0x3a : isFieldByte(byte)
  return {
    family: 'field bytes',
    label: `answers ${show(bytes)} (byte 0x${byte.toString(16).padStart(2, '0')} in a field ${where})`,
    script: onRequest((io) => io.write(bytes)),
    expect: valid ? { kind: 'relay', status, body } : { kind: 'lenient', status, body },
    ...(byte === 0x0d ? { underLimit: { 'bare-cr-ends-line': { kind: 'safe' } } } : {}),
    delayMs: 0,
  }
}

/** Every valid field-value byte in one value. */
export function everyValidFieldByte(): Behaviour {
  let value = ''
  for (let b = 0; b < 256; b += 1) if (isFieldByte(b)) value += String.fromCharCode(b)
  const body = Buffer.from('hi')
  const bytes = response(200, 'OK', body, [`X-Hostile: A${value}Z`])
  return {
    family: 'field bytes',
    label: `answers a field value holding every valid byte ${show(bytes, 80)}`,
    script: onRequest((io) => io.write(bytes)),
    expect: { kind: 'relay', status: 200, body },
    delayMs: 0,
  }
}

const byteArb = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  // Biased towards the bytes that matter: controls, DEL, obs-text edges.
  fc.constantFrom(0x00, 0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0xa0, 0xff),
)

/** Any byte in the reason phrase. */
export const reasonBytes: fc.Arbitrary<Behaviour> = fc
  .record({ byte: byteArb, status: statusArb, body: bodyArb })
  .map(({ byte, status, body }) => reasonByte(byte, status, body))

/** Field lines that are not valid HTTP/1.1 but have a lenient reading. */
export const ODD_FIELDS = [
  'X-Fold: a\r\n b',
  'X-Space : b',
  'X-Tab\t: b',
  ': no-name',
  'X-No-Colon b',
  'X-Bare-LF: a\nX-Next: b',
  'X-Bare-CR: a\rb',
  ' X-Leading-Space: b',
] as const

/** A response with the odd field line `field`. */
export function oddField(field: string, status = 200, body: Buffer = Buffer.from('hi')): Behaviour {
  const bytes = response(status, 'OK', body, [field])
  return {
    family: 'field bytes',
    label: `answers ${show(bytes)} (an invalid field line)`,
    script: onRequest((io) => io.write(bytes)),
    expect: { kind: 'lenient', status, body },
    delayMs: 0,
  }
}

/** Any byte in a field name or value, or an oddly shaped field line. */
export const fieldBytes: fc.Arbitrary<Behaviour> = fc.oneof(
  fc
    .record({ where: fc.constantFrom<'name' | 'value'>('name', 'value'), byte: byteArb, status: statusArb, body: bodyArb })
    .map(({ where, byte, status, body }) => fieldByte(where, byte, status, body)),
  fc
    .record({ field: fc.constantFrom<string>(...ODD_FIELDS), status: statusArb, body: bodyArb })
    .map(({ field, status, body }) => oddField(field, status, body)),
)

// ---------------------------------------------------------------- 1xx

/** Interim responses `codes` (never 101), then a valid final response. */
export function interimsThenAnswer(codes: readonly number[], status = 200, body: Buffer = Buffer.from('hi'), split = false): Behaviour {
  const interim = codes
    .map((c) => `HTTP/1.1 ${c} Interim\r\n${c === 103 ? 'Link: </style.css>; rel=preload; as=style\r\n' : `X-Interim: ${c}\r\n`}\r\n`)
    .join('')
  const final = response(status, 'OK', body)
  return {
    family: '1xx',
    label: `answers ${show(interim)} then ${show(final)}${split ? ' (interims and final written apart)' : ''}`,
    script: onRequest(async (io) => {
      if (split) {
        await io.write(interim)
        await io.sleep(20)
        await io.write(final)
      } else {
        await io.write(Buffer.concat([Buffer.from(interim, 'latin1'), final]))
      }
    }),
    expect: { kind: 'relay', status, body },
    underLimit: interimLimits(codes),
    delayMs: split ? 20 : 0,
  }
}

/** Interim responses of every kind (not 101) before a valid final one. */
export const interims: fc.Arbitrary<Behaviour> = fc
  .record({
    codes: fc.array(fc.oneof(fc.constantFrom(100, 102, 103), fc.integer({ min: 104, max: 199 })), { minLength: 1, maxLength: 4 }),
    status: statusArb,
    body: bodyArb,
    split: fc.boolean(),
  })
  .map(({ codes, status, body, split }) => interimsThenAnswer(codes, status, body, split))

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'

/** `101 Switching Protocols` to a request that asked for no upgrade. */
export function unasked101(after: 'hold' | 'close' | 'reset' | 'garbage' | 'then-200'): Behaviour {
  const final = response(200, 'OK', Buffer.from('hi'))
  const label = {
    hold: 'and then nothing',
    close: 'and closes',
    reset: 'and resets',
    garbage: 'and then garbage bytes',
    'then-200': `and then ${show(final)}`,
  }[after]
  return {
    family: 'unasked 101',
    label: `answers an unasked ${show(SWITCH)} to a plain request, ${label}`,
    script: onRequest(async (io) => {
      if (after === 'then-200') return io.write(Buffer.concat([Buffer.from(SWITCH), final]))
      await io.write(after === 'garbage' ? `${SWITCH}\x81\x05hello\x00\xff` : SWITCH)
      if (after === 'close') io.end()
      else if (after === 'reset') io.reset()
      else await io.closed()
    }),
    expect:
      after === 'then-200' ? { kind: 'lenient', status: 200, body: Buffer.from('hi') } : { kind: 'protocol', or504: after === 'hold' || after === 'garbage' },
    delayMs: 0,
  }
}

export const unasked101s: fc.Arbitrary<Behaviour> = fc
  .constantFrom<'hold' | 'close' | 'reset' | 'garbage' | 'then-200'>('hold', 'close', 'reset', 'garbage', 'then-200')
  .map(unasked101)

// ---------------------------------------------------------------- framing of the response

const dataArb = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b))

/** Content-Length (off by `delta`) and Transfer-Encoding: chunked, in either order, over a chunked body. */
export function lengthAndChunked(data: Buffer, delta: number, teFirst: boolean, status = 200): Behaviour {
  const cl = `Content-Length: ${Math.max(0, data.length + delta)}`
  const te = 'Transfer-Encoding: chunked'
  const head = `HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\n${teFirst ? `${te}\r\n${cl}` : `${cl}\r\n${te}`}\r\n\r\n`
  const bytes = Buffer.concat([Buffer.from(`${head}${data.length.toString(16)}\r\n`, 'latin1'), data, Buffer.from('\r\n0\r\n\r\n')])
  return {
    family: 'response framing',
    label: `answers ${show(bytes)} (Content-Length and Transfer-Encoding)`,
    script: onRequest((io) => io.write(bytes)),
    // RFC 9112 section 6.3: Transfer-Encoding overrides; an intermediary that forwards must drop Content-Length.
    expect: { kind: 'lenient', status, body: data },
    delayMs: 0,
  }
}

/** Two Content-Length fields that disagree. */
export function differentLengths(data: Buffer, other: number, status = 200): Behaviour {
  const bytes = Buffer.concat([
    Buffer.from(`HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\nContent-Length: ${data.length}\r\nContent-Length: ${data.length + other}\r\n\r\n`, 'latin1'),
    data,
  ])
  return {
    family: 'response framing',
    label: `answers ${show(bytes)} (two different Content-Length values)`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await io.closed()
    }),
    // RFC 9110 section 8.6: a proxy MUST discard it and answer 502.
    expect: { kind: 'protocol' },
    delayMs: 0,
  }
}

/** The same Content-Length twice, as two fields or as a list. */
export function sameLengthTwice(data: Buffer, list: boolean, status = 200): Behaviour {
  const n = data.length
  const cl = list ? `Content-Length: ${n}, ${n}` : `Content-Length: ${n}\r\nContent-Length: ${n}`
  const bytes = Buffer.concat([Buffer.from(`HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\n${cl}\r\n\r\n`, 'latin1'), data])
  return {
    family: 'response framing',
    label: `answers ${show(bytes)} (the same Content-Length twice)`,
    script: onRequest((io) => io.write(bytes)),
    expect: { kind: 'lenient', status, body: data },
    delayMs: 0,
  }
}

export const INVALID_LENGTHS = ['+2', '-1', '0x2', '2a', 'abc', '', '2 2', '1e1', '99999999999999999999999'] as const

/** A Content-Length that is not a number of bytes. */
export function invalidLength(value: string, status = 200): Behaviour {
  const bytes = Buffer.from(`HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\nContent-Length: ${value}\r\n\r\nhi`, 'latin1')
  return {
    family: 'response framing',
    label: `answers ${show(bytes)} (an invalid Content-Length)`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await io.closed()
    }),
    // RFC 9112 section 6.3: an invalid Content-Length is an unrecoverable error; a proxy answers 502.
    expect: { kind: 'protocol' },
    underLimit: { 'lenient-content-length': { kind: 'safe' } },
    delayMs: 0,
  }
}

/** Content-Length with Transfer-Encoding, duplicated or malformed lengths. */
export const responseFraming: fc.Arbitrary<Behaviour> = fc.oneof(
  fc
    .record({ data: dataArb, delta: fc.integer({ min: -1, max: 3 }), teFirst: fc.boolean(), status: statusArb })
    .map(({ data, delta, teFirst, status }) => lengthAndChunked(data, delta, teFirst, status)),
  fc
    .record({ data: dataArb, other: fc.integer({ min: 1, max: 5 }), status: statusArb })
    .map(({ data, other, status }) => differentLengths(data, other, status)),
  fc.record({ data: dataArb, list: fc.boolean(), status: statusArb }).map(({ data, list, status }) => sameLengthTwice(data, list, status)),
  fc.record({ value: fc.constantFrom<string>(...INVALID_LENGTHS), status: statusArb }).map(({ value, status }) => invalidLength(value, status)),
)

// ---------------------------------------------------------------- broken bodies

export const BAD_SIZES = ['zz', '-1', '0x2', 'g', `1${'0'.repeat(20)}`, '\x00'] as const

/** A chunked body whose second chunk size is `size`. */
export function badChunkSize(size: string, after: After, status = 200): Behaviour {
  const bytes = Buffer.from(
    `HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n${size}\r\nmore\r\n0\r\n\r\n`,
    'latin1',
  )
  return {
    family: 'broken body',
    label: `answers ${show(bytes)} (a bad chunk size), then ${after}s`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await afterwards(io, after)
    }),
    expect: { kind: 'cut', status },
    underLimit: { 'bad-chunk-ends-body': { kind: 'safe' } },
    delayMs: after === 'hold' ? TIMEOUT_MS : 0,
  }
}

/** A chunk whose data is longer (no CRLF where one belongs) or shorter than its size. */
export function chunkMismatch(longer: boolean, after: After, status = 200): Behaviour {
  const tail = longer ? '4\r\nhelloworld\r\n0\r\n\r\n' : '10\r\nshort'
  const bytes = Buffer.from(`HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n${tail}`, 'latin1')
  return {
    family: 'broken body',
    label: `answers ${show(bytes)} (${longer ? 'chunk data longer than its size' : 'a chunk shorter than its size'}), then ${after}s`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await afterwards(io, after)
    }),
    expect: { kind: 'cut', status },
    delayMs: after === 'hold' ? TIMEOUT_MS : 0,
  }
}

/** `Content-Length: 100` and only `sent` bytes of body. */
export function shortBody(sent: number, after: After, status = 200): Behaviour {
  const bytes = Buffer.concat([Buffer.from(`HTTP/1.1 ${status} OK\r\nX-Backend: hostile\r\nContent-Length: 100\r\n\r\n`, 'latin1'), Buffer.alloc(sent, 0x61)])
  return {
    family: 'broken body',
    label: `answers ${show(bytes)} (${sent} of 100 body bytes), then ${after}s`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await afterwards(io, after)
    }),
    expect: { kind: 'cut', status },
    delayMs: after === 'hold' ? TIMEOUT_MS : 0,
  }
}

/** A valid head, then a body that breaks: bad chunk sizes, short bodies, a reset or silence mid-body. */
export const brokenBodies: fc.Arbitrary<Behaviour> = fc.oneof(
  fc
    .record({ size: fc.constantFrom<string>(...BAD_SIZES), after: afterArb, status: statusArb })
    .map(({ size, after, status }) => badChunkSize(size, after, status)),
  fc.record({ longer: fc.boolean(), after: afterArb, status: statusArb }).map(({ longer, after, status }) => chunkMismatch(longer, after, status)),
  fc.record({ sent: fc.integer({ min: 0, max: 20 }), after: afterArb, status: statusArb }).map(({ sent, after, status }) => shortBody(sent, after, status)),
)

// ---------------------------------------------------------------- oversized heads

/** A status line, a field value or a number of fields far beyond what any HTTP stack reads. */
export function oversized(where: 'reason' | 'value' | 'count', kb: number, after: Exclude<After, 'reset'>): Behaviour {
  const size = kb * 1024
  const body = Buffer.from('hi')
  let bytes: Buffer
  if (where === 'reason') bytes = response(200, 'O'.repeat(size), body)
  else if (where === 'value') bytes = response(200, 'OK', body, [`X-Big: ${'v'.repeat(size)}`])
  else
    bytes = response(
      200,
      'OK',
      body,
      Array.from({ length: Math.ceil(size / 12) }, (_, i) => `X-${i}: ${i % 10}`),
    )
  const what = { reason: 'reason phrase', value: 'field value', count: 'number of fields' }[where]
  return {
    family: 'oversized head',
    label: `answers a head with a ${kb} KB ${what} (${show(bytes, 60)}), then ${after}s`,
    script: onRequest(async (io) => {
      await io.write(bytes)
      await afterwards(io, after)
    }),
    expect: { kind: 'lenient', status: 200, body },
    delayMs: 0,
  }
}

/**
 * A status line or head of 70 KB to 300 KB. Never followed by a reset: the kernel would discard
 * the part of the head not yet sent, and the proxy could rightly see a bare reset instead.
 */
export const oversizedHeads: fc.Arbitrary<Behaviour> = fc
  .record({
    where: fc.constantFrom<'reason' | 'value' | 'count'>('reason', 'value', 'count'),
    kb: fc.integer({ min: 70, max: 300 }),
    after: fc.constantFrom<'hold' | 'close'>('hold', 'close'),
  })
  .map(({ where, kb, after }) => oversized(where, kb, after))

// ---------------------------------------------------------------- slow and silent peers

/** A valid head dripped in `pieces`, 0.3 timeouts apart: longer than the timeout in all, never silent for one. */
export function drip(pieces: number, status = 200, body: Buffer = Buffer.from('hi')): Behaviour {
  const bytes = response(status, 'OK', body)
  const headLength = bytes.indexOf('\r\n\r\n') + 4
  const gap = Math.floor(TIMEOUT_MS * 0.3)
  return {
    family: 'drip',
    label: `drips its head ${show(bytes.subarray(0, headLength))} in ${pieces} pieces ${gap} ms apart (${(pieces - 1) * gap} ms in all, timeout ${TIMEOUT_MS} ms)`,
    script: onRequest(async (io) => {
      await io.drip(bytes.subarray(0, headLength), pieces, gap)
      await io.write(bytes.subarray(headLength))
    }),
    expect: { kind: 'slow', status, body },
    delayMs: pieces * gap,
  }
}

/** A valid head dripped over several timeouts, never silent for a whole one. */
export const drips: fc.Arbitrary<Behaviour> = fc
  .record({ pieces: fc.integer({ min: 6, max: 9 }), status: statusArb, body: bodyArb })
  .map(({ pieces, status, body }) => drip(pieces, status, body))

/** Reads the request and never answers. */
export function silent(): Behaviour {
  return {
    family: 'silent',
    label: 'reads the request and never answers',
    script: onRequest((io) => io.closed()),
    expect: { kind: 'silent' },
    delayMs: TIMEOUT_MS,
  }
}

/** Sends the first `n` bytes of a head, then nothing. */
export function partialHeadThenSilence(n: number): Behaviour {
  const sent = response(200, 'OK', Buffer.from('hi')).subarray(0, n)
  return {
    family: 'silent',
    label: `sends ${show(sent)} (part of a head) and then nothing`,
    script: onRequest(async (io) => {
      await io.write(sent)
      await io.closed()
    }),
    expect: { kind: 'silent' },
    delayMs: TIMEOUT_MS,
  }
}

/** Sends an interim response, then nothing. */
export function interimThenSilence(code: number): Behaviour {
  const sent = `HTTP/1.1 ${code} Interim\r\n${code === 103 ? 'Link: </a.js>; rel=preload\r\n' : ''}\r\n`
  return {
    family: 'silent',
    label: `sends ${show(sent)} and then nothing`,
    script: onRequest(async (io) => {
      await io.write(sent)
      await io.closed()
    }),
    expect: { kind: 'silent' },
    underLimit: interimLimits([code]),
    delayMs: TIMEOUT_MS,
  }
}

/** Nothing, or part of a head, or interims only, and then silence. */
export const silences: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant(silent()),
  fc.integer({ min: 1, max: 30 }).map(partialHeadThenSilence),
  fc.constantFrom(100, 102, 103).map(interimThenSilence),
)

// ---------------------------------------------------------------- a peer that never reads the upload

/** The size of the upload the `upload` cases send: far more than the socket buffers hold. */
export const UPLOAD_BYTES = 16 * 1024 * 1024

/** The complete 413 a peer refusing an upload answers with. */
const UPLOAD_REFUSAL = Buffer.from('HTTP/1.1 413 Payload Too Large\r\nX-Backend: hostile\r\nConnection: close\r\nContent-Length: 9\r\n\r\ntoo large', 'latin1')

/**
 * A peer that reads the head of a large upload and never its body: silent, or answering 413 at once
 * and then holding the connection, draining the upload, or closing with it unread (a reset).
 */
export function unreadUpload(how: 'silent' | 'early-hold' | 'early-drain' | 'early-reset'): Behaviour {
  const refusal = UPLOAD_REFUSAL
  if (how === 'silent') {
    return {
      family: 'unread upload',
      label: `reads the head of a ${UPLOAD_BYTES / 1024 / 1024} MB upload, never its body, and never answers`,
      request: 'upload',
      script: async (io) => {
        await io.request()
        io.stopReading()
        await io.meanwhile()
        await io.closed()
      },
      expect: { kind: 'silent' },
      delayMs: TIMEOUT_MS,
    }
  }
  const status = 413
  const body = Buffer.from('too large')
  const then = { 'early-hold': 'never reads again', 'early-drain': 'drains the upload and closes', 'early-reset': 'closes with the upload unread (a reset)' }[
    how
  ]
  return {
    family: 'unread upload',
    label: `reads the head of a ${UPLOAD_BYTES / 1024 / 1024} MB upload, answers ${show(refusal)} at once, then ${then}`,
    request: 'upload',
    script: async (io) => {
      await io.request()
      io.stopReading()
      await io.meanwhile()
      await io.write(refusal)
      // Closed with the upload unread, the peer's kernel resets the connection (Python's http.server
      // does; RFC 9112 section 9.6 asks a server to linger instead): the answer precedes the reset.
      if (how === 'early-reset') return io.reset()
      if (how === 'early-drain') {
        io.drain()
        io.end()
      }
      await io.closed()
    },
    expect: { kind: 'early', status, body },
    // A runtime whose client reads the answer too late may lose it, or its body, to the reset: never blamed.
    ...(how === 'early-reset' ? { underLimit: { 'early-answer-lost-to-reset': { kind: 'early-or-lost', status, body } } } : {}),
    delayMs: 0,
  }
}

export const unreadUploads: fc.Arbitrary<Behaviour> = fc
  .constantFrom<'silent' | 'early-hold' | 'early-drain' | 'early-reset'>('silent', 'early-hold', 'early-drain', 'early-reset')
  .map(unreadUpload)

// ---------------------------------------------------------------- WebSocket peers (adapters with .upgrade)

const ACCEPT = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'

/** Accepts the upgrade, sends `garbage` through the tunnel, then closes, resets, or waits for the client to leave. */
export function upgradeTunnel(garbage: Buffer, after: 'close' | 'reset' | 'hold'): Behaviour {
  return {
    family: 'websocket',
    label: `accepts the upgrade ${show(ACCEPT)}, sends ${show(garbage)}, then ${after === 'hold' ? 'waits for the client to leave' : dropText(after)}`,
    request: 'upgrade',
    script: async (io) => {
      await io.request()
      await io.meanwhile()
      await io.write(Buffer.concat([Buffer.from(ACCEPT, 'latin1'), garbage]))
      if (after === 'close') io.end()
      else if (after === 'reset') {
        // What was written must reach the proxy before the reset discards it.
        await io.sleep(50)
        io.reset()
      } else await io.closed()
    },
    // After a reset the proxy may cut the client as abruptly: the tunnel's bytes are not required whole.
    expect: { kind: 'tunnel', after: garbage, closes: after !== 'hold', exact: after !== 'reset' },
    delayMs: after === 'reset' ? 50 : 0,
  }
}

/** Reads the upgrade request, then drops the connection. */
export function upgradeDrop(how: Drop): Behaviour {
  return {
    family: 'websocket',
    label: `reads the upgrade request, then ${dropText(how)} without answering`,
    request: 'upgrade',
    script: async (io) => {
      await io.request()
      await io.meanwhile()
      drop(io, how)
    },
    expect: { kind: 'connect' },
    delayMs: 0,
  }
}

export const UPGRADE_ANSWERS = [
  'HTTP/1.1 101 Switching\x01Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'garbage\r\n\r\n',
  'HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Bad: a\x00b\r\n\r\n',
] as const

/** Answers the upgrade request with `answer` (an invalid 101, or garbage). */
export function upgradeAnswer(answer: string): Behaviour {
  return {
    family: 'websocket',
    label: `answers the upgrade with ${show(answer)}`,
    request: 'upgrade',
    script: async (io) => {
      await io.request()
      await io.meanwhile()
      await io.write(answer)
      await io.closed()
    },
    expect: answer.startsWith('HTTP/') ? { kind: 'lenient', status: 101, body: Buffer.alloc(0) } : { kind: 'protocol' },
    delayMs: 0,
  }
}

/** Upgrade peers that accept and then misbehave, or never accept. */
export const upgradePeers: fc.Arbitrary<Behaviour> = fc.oneof(
  fc
    .record({
      garbage: fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b) => Buffer.from(b)),
      after: fc.constantFrom<'close' | 'reset' | 'hold'>('close', 'reset', 'hold'),
    })
    .map(({ garbage, after }) => upgradeTunnel(garbage, after)),
  dropArb.map(upgradeDrop),
  fc.constantFrom<string>(...UPGRADE_ANSWERS).map(upgradeAnswer),
)

// ---------------------------------------------------------------- the catalogue

/** One named case of the catalogue: every misbehaviour the kit knows, once, whatever the seed. */
export interface CatalogueEntry {
  readonly title: string
  readonly behaviour: Behaviour
  readonly method?: 'GET' | 'POST'
  readonly retries?: 0 | 1
}

/** Every family's notable variants, as fixed cases (the properties explore around them). */
export function catalogue(): CatalogueEntry[] {
  const hi = Buffer.from('hi')
  return [
    { title: 'connection refused (GET, retries 1: retried on the other peer)', behaviour: refuse(), retries: 1 },
    { title: 'connection refused (POST: 502)', behaviour: refuse(), method: 'POST' },
    { title: 'RST as soon as accepted', behaviour: dropAtAccept('reset') },
    { title: 'FIN as soon as accepted', behaviour: dropAtAccept('close') },
    { title: 'RST after reading the request (GET, retries 1)', behaviour: dropAfterRequest('reset'), retries: 1 },
    { title: 'FIN after reading the request, no answer', behaviour: dropAfterRequest('close') },
    { title: 'RST within the head', behaviour: partialHead('reset', 0.5) },
    { title: 'FIN within the head (GET, retries 1)', behaviour: partialHead('close', 0.3), retries: 1 },
    { title: 'interim 100 and 102 only, then FIN', behaviour: interimsThenDrop([100, 102], 'close') },
    { title: 'status line with a 4-digit code', behaviour: garbageHead('HTTP/1.1 2000 OK', 'hold') },
    { title: 'status 999, beyond the 100-599 of RFC 9110', behaviour: garbageHead('HTTP/1.1 999 Weird', 'hold') },
    {
      title: 'status line that is binary garbage (GET, retries 1: a protocol error is not retried)',
      behaviour: garbageHead('\x16\x03\x01\x02\x00\x01\x00', 'close'),
      retries: 1,
    },
    { title: 'status line of another protocol', behaviour: garbageHead('SSH-2.0-OpenSSH_9.6', 'hold') },
    { title: 'a tab between the version and the status', behaviour: tabbedStatusLine() },
    { title: 'NUL in the reason phrase', behaviour: reasonByte(0x00) },
    { title: 'bare CR in the reason phrase', behaviour: reasonByte(0x0d) },
    { title: 'DEL in the reason phrase', behaviour: reasonByte(0x7f) },
    {
      title: 'no reason phrase at all',
      behaviour: {
        ...reasonByte(0x20),
        label: 'answers "HTTP/1.1 200 \\r\\n..." (an empty reason phrase)',
        script: onRequest((io) => io.write(response(200, '', hi))),
        expect: { kind: 'relay', status: 200, body: hi },
      },
    },
    { title: 'control byte in a field value', behaviour: fieldByte('value', 0x01) },
    { title: 'NUL in a field value', behaviour: fieldByte('value', 0x00) },
    { title: 'space in a field name', behaviour: fieldByte('name', 0x20) },
    { title: 'obs-text in a field name', behaviour: fieldByte('name', 0xe9) },
    ...ODD_FIELDS.map((field) => ({ title: `odd field line ${show(field)}`, behaviour: oddField(field) })),
    { title: 'unsolicited 100 Continue before the answer', behaviour: interimsThenAnswer([100]) },
    { title: '102 Processing before the answer', behaviour: interimsThenAnswer([102]) },
    { title: '103 Early Hints before the answer', behaviour: interimsThenAnswer([103]) },
    { title: 'an unknown 1xx (150) before the answer', behaviour: interimsThenAnswer([150]) },
    { title: 'several interims, written apart from the answer', behaviour: interimsThenAnswer([102, 103, 199], 404, Buffer.from('nope'), true) },
    { title: 'unasked 101, then nothing', behaviour: unasked101('hold') },
    { title: 'unasked 101, then FIN (GET, retries 1: not retried)', behaviour: unasked101('close'), retries: 1 },
    { title: 'unasked 101, then a 200', behaviour: unasked101('then-200') },
    { title: 'Content-Length and Transfer-Encoding', behaviour: lengthAndChunked(Buffer.from('hello'), 3, false) },
    { title: 'Transfer-Encoding and a too short Content-Length', behaviour: lengthAndChunked(Buffer.from('hello'), -1, true) },
    { title: 'two different Content-Length values', behaviour: differentLengths(Buffer.from('hello'), 2) },
    { title: 'the same Content-Length twice', behaviour: sameLengthTwice(Buffer.from('hello'), false) },
    { title: 'the same Content-Length as a list', behaviour: sameLengthTwice(Buffer.from('hello'), true) },
    ...INVALID_LENGTHS.map((value) => ({ title: `Content-Length ${show(value)}`, behaviour: invalidLength(value) })),
    { title: 'chunk size "zz", then FIN', behaviour: badChunkSize('zz', 'close') },
    { title: 'chunk size that overflows, then nothing', behaviour: badChunkSize(`1${'0'.repeat(20)}`, 'hold') },
    { title: 'chunk size "-1", then RST', behaviour: badChunkSize('-1', 'reset') },
    { title: 'chunk data longer than its size, then FIN', behaviour: chunkMismatch(true, 'close') },
    { title: 'chunk shorter than its size, then FIN', behaviour: chunkMismatch(false, 'close') },
    { title: 'RST mid-body', behaviour: shortBody(10, 'reset') },
    { title: 'FIN mid-body', behaviour: shortBody(10, 'close') },
    { title: 'silence mid-body', behaviour: shortBody(10, 'hold') },
    { title: 'a 300 KB reason phrase', behaviour: oversized('reason', 300, 'hold') },
    { title: 'a 300 KB field value (GET, retries 1: not retried)', behaviour: oversized('value', 300, 'close'), retries: 1 },
    { title: '25 000 fields', behaviour: oversized('count', 300, 'close') },
    { title: 'a head that drips past the timeout', behaviour: drip(8) },
    { title: 'never answers', behaviour: silent() },
    { title: 'part of a head, then silence', behaviour: partialHeadThenSilence(12) },
    { title: '102 Processing, then silence', behaviour: interimThenSilence(102) },
    { title: 'never reads a 16 MB upload, never answers', behaviour: unreadUpload('silent') },
    { title: '413 at once without reading the upload, then holds the connection', behaviour: unreadUpload('early-hold') },
    { title: '413 at once without reading the upload, then drains and closes', behaviour: unreadUpload('early-drain') },
    { title: '413 at once without reading the upload, then closes it unread (a reset)', behaviour: unreadUpload('early-reset') },
  ]
}

/** The WebSocket cases of the catalogue (adapters with `.upgrade`). */
export function upgradeCatalogue(): CatalogueEntry[] {
  const frame = Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f])
  return [
    { title: 'WebSocket: 101, a frame, then FIN', behaviour: upgradeTunnel(frame, 'close') },
    { title: 'WebSocket: 101, then RST', behaviour: upgradeTunnel(frame, 'reset') },
    {
      title: 'WebSocket: 101, garbage, and the client leaves',
      behaviour: upgradeTunnel(Buffer.from('\x00\xffnot a frame\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', 'latin1'), 'hold'),
    },
    { title: 'WebSocket: FIN before the 101', behaviour: upgradeDrop('close') },
    { title: 'WebSocket: RST before the 101', behaviour: upgradeDrop('reset') },
    ...UPGRADE_ANSWERS.map((answer) => ({ title: `WebSocket: answered ${show(answer, 60)}`, behaviour: upgradeAnswer(answer) })),
  ]
}
