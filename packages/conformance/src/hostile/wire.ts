import { connect, type Socket } from 'node:net'

/**
 * HTTP/1.1 on the wire, read by hand: the kits must see exactly what a proxy sent (a client library
 * would hide an invalid head, a merged header or a missing chunk terminator).
 */

/** RFC 9110 `tchar`. */
export function isTchar(byte: number): boolean {
  if (byte >= 0x30 && byte <= 0x39) return true
  if ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)) return true
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(byte))
}

/** RFC 9110 field-value / RFC 9112 reason-phrase octets: HTAB, SP, VCHAR, obs-text. */
export function isFieldByte(byte: number): boolean {
  return byte === 0x09 || (byte >= 0x20 && byte <= 0x7e) || byte >= 0x80
}

function isToken(text: string): boolean {
  if (text.length === 0) return false
  for (let i = 0; i < text.length; i += 1) if (!isTchar(text.charCodeAt(i))) return false
  return true
}

function fieldProblems(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i)
    if (c > 0xff || !isFieldByte(c)) return true
  }
  return false
}

/**
 * `bytes` as a double-quoted string for messages and reproductions: printable ASCII as is, `\r`,
 * `\n`, `\t`, `\\` and `\"` escaped, every other byte as `\xNN` (text is read as latin-1).
 */
export function show(bytes: Buffer | string, max = 160): string {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1')
  const clipped = text.length > max ? text.slice(0, max) : text
  let out = ''
  for (const char of clipped) {
    const code = char.charCodeAt(0)
    if (char === '\r') out += '\\r'
    else if (char === '\n') out += '\\n'
    else if (char === '\t') out += '\\t'
    else if (char === '\\' || char === '"') out += `\\${char}`
    else if (code >= 0x20 && code < 0x7f) out += char
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`
    else out += `\\u{${code.toString(16)}}`
  }
  return `"${out}"${text.length > max ? `... (${text.length} bytes)` : ''}`
}

/** One response head as a client read it. */
export interface WireHead {
  readonly status: number
  readonly reason: string
  /** Field names and values in order, as latin-1 text. */
  readonly fields: readonly (readonly [string, string])[]
  /** What a strict HTTP/1.1 client would refuse in this head (empty when it is valid). */
  readonly problems: readonly string[]
}

/** Everything one exchange on a raw connection produced. */
export interface WireAnswer {
  /** Interim (1xx) heads before the final one. */
  readonly interim: readonly WireHead[]
  /** The final head, if one arrived. */
  readonly head: WireHead | undefined
  readonly body: Buffer
  /** Whether the final response arrived whole, as its own framing says. */
  readonly complete: boolean
  /** Problems with the body framing (a malformed chunk, CL and TE together). */
  readonly framingProblems: readonly string[]
  /** Whether the server closed (or reset) the connection before the kit stopped reading. */
  readonly closed: boolean
  /** Set when the guard fired: nothing decisive arrived in time. */
  readonly hung: boolean
  /** Every byte received, for messages. */
  readonly raw: Buffer
}

/** A parsed head, or `undefined` while more bytes are needed; `used` is the head's length. */
function parseHead(buffer: Buffer): { head: WireHead; used: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n')
  const lf = buffer.indexOf('\n\n')
  let end: number
  let used: number
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    end = crlf
    used = crlf + 4
  } else if (lf !== -1) {
    end = lf
    used = lf + 2
  } else {
    return undefined
  }
  const text = buffer.subarray(0, end).toString('latin1')
  const problems: string[] = []
  if (/(^|[^\r])\n/.test(text) || used === lf + 2) problems.push('bare LF in the head')
  const lines = text.split(/\r?\n/)
  const statusLine = lines[0] ?? ''
  const match = /^HTTP\/1\.[01] (\d{3}) (.*)$/s.exec(statusLine) ?? /^HTTP\/1\.[01] (\d{3})()$/.exec(statusLine)
  if (match === null) problems.push(`invalid status line ${show(statusLine)}`)
  const reason = match?.[2] ?? ''
  if (fieldProblems(reason)) problems.push(`invalid byte in the reason phrase ${show(reason)}`)
  const fields: [string, string][] = []
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line)) {
      problems.push(`obs-fold line ${show(line)}`)
      continue
    }
    const colon = line.indexOf(':')
    const name = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
    if (colon === -1 || !isToken(name)) problems.push(`invalid field line ${show(line)}`)
    if (fieldProblems(value)) problems.push(`invalid byte in field ${show(name)}: ${show(value)}`)
    fields.push([name, value])
  }
  return { head: { status: Number(match?.[1] ?? 0), reason, fields, problems }, used }
}

/** The values of field `name` (case-insensitive). */
export function fieldValues(head: Pick<WireHead, 'fields'>, name: string): string[] {
  const lower = name.toLowerCase()
  return head.fields.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v)
}

type BodyParse = { readonly body: Buffer; readonly used: number; readonly complete: boolean; readonly problem?: string }

/** Decodes a chunked body at the start of `buffer`; `undefined` while it is incomplete. */
function dechunk(buffer: Buffer): BodyParse | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const line = buffer.subarray(at, lineEnd).toString('latin1')
    const sizeText = line.split(';')[0] ?? ''
    if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) {
      return { body: Buffer.concat(parts), used: buffer.length, complete: false, problem: `invalid chunk size line ${show(line)}` }
    }
    const size = Number.parseInt(sizeText, 16)
    if (size === 0) {
      // Trailer fields, then the empty line.
      let trailerAt = lineEnd + 2
      for (;;) {
        const end = buffer.indexOf('\r\n', trailerAt)
        if (end === -1) return undefined
        if (end === trailerAt) return { body: Buffer.concat(parts), used: end + 2, complete: true }
        trailerAt = end + 2
      }
    }
    const dataEnd = lineEnd + 2 + size
    if (buffer.length < dataEnd + 2) return undefined
    if (buffer[dataEnd] !== 0x0d || buffer[dataEnd + 1] !== 0x0a) {
      return { body: Buffer.concat(parts), used: buffer.length, complete: false, problem: 'chunk data not followed by CRLF' }
    }
    parts.push(buffer.subarray(lineEnd + 2, dataEnd))
    at = dataEnd + 2
  }
}

/**
 * How the body of a response with `head` is framed (RFC 9112 section 6.3), for a request with
 * `method`.
 */
function framing(
  method: string,
  head: WireHead,
): { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'invalid'; problem: string } {
  if (method === 'HEAD' || head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return { kind: 'none' }
  const te = fieldValues(head, 'transfer-encoding')
  const cl = fieldValues(head, 'content-length')
  if (te.length > 0 && cl.length > 0) return { kind: 'invalid', problem: 'Content-Length and Transfer-Encoding together' }
  if (te.length > 0) {
    const codings = te
      .join(',')
      .split(',')
      .map((c) => c.trim().toLowerCase())
    return codings.at(-1) === 'chunked' ? { kind: 'chunked' } : { kind: 'close' }
  }
  if (cl.length > 0) {
    const values = new Set(
      cl
        .join(',')
        .split(',')
        .map((v) => v.trim()),
    )
    const only = [...values][0] ?? ''
    if (values.size !== 1 || !/^\d{1,15}$/.test(only)) return { kind: 'invalid', problem: `invalid Content-Length ${show(cl.join(', '))}` }
    return { kind: 'length', length: Number(only) }
  }
  return { kind: 'close' }
}

/** Options of {@link exchange}. */
export interface ExchangeOptions {
  /** Request method, for framing (a HEAD response has no body). @default 'GET' */
  readonly method?: string
  /** How long to wait for a decisive end before giving up: a guard against hangs, not a speed limit. */
  readonly guardMs: number
  /** Called once the first byte of the answer arrived (or the connection ended). */
  readonly onFirstByte?: () => void
  /**
   * For upgrades: once a 101 arrives, keep reading the tunnel until the server closes it, or until
   * `tunnelBytes` bytes arrived after the head (then the kit closes it itself).
   */
  readonly tunnelBytes?: number
}

/**
 * Opens a connection to `url`, writes `request` (bytes, or a function that writes to the socket, for
 * large or slow uploads), and reads interim responses and one final response, as its framing says,
 * or until the server closes. Never throws: what happened is in the answer. The socket is destroyed
 * before it resolves.
 */
export function exchange(url: string, request: Buffer | string | ((socket: Socket) => void), options: ExchangeOptions): Promise<WireAnswer> {
  const target = new URL(url)
  const method = options.method ?? 'GET'
  return new Promise<WireAnswer>((resolve) => {
    const socket = connect(Number(target.port), target.hostname)
    let buffer = Buffer.alloc(0)
    const raws: Buffer[] = []
    const interim: WireHead[] = []
    let head: WireHead | undefined
    let done = false
    let closed = false
    let firstByte = false

    const finish = (complete: boolean, hung: boolean, body: Buffer, problems: string[]): void => {
      if (done) return
      done = true
      clearTimeout(guard)
      socket.destroy()
      resolve({ interim, head, body, complete, framingProblems: problems, closed, hung, raw: Buffer.concat(raws) })
    }

    const evaluate = (): void => {
      for (;;) {
        if (head === undefined) {
          const parsed = parseHead(buffer)
          if (parsed === undefined) {
            if (closed) finish(false, false, Buffer.alloc(0), [])
            return
          }
          buffer = buffer.subarray(parsed.used)
          if (parsed.head.status >= 100 && parsed.head.status < 200 && parsed.head.status !== 101) {
            interim.push(parsed.head)
            continue
          }
          head = parsed.head
        }
        if (head.status === 101) {
          if (closed || buffer.length >= (options.tunnelBytes ?? 0)) finish(closed, false, buffer, [])
          return
        }
        const frame = framing(method, head)
        if (frame.kind === 'none') return finish(true, false, Buffer.alloc(0), [])
        if (frame.kind === 'invalid') return finish(false, false, buffer, [frame.problem])
        if (frame.kind === 'length') {
          if (buffer.length >= frame.length) return finish(true, false, buffer.subarray(0, frame.length), [])
          if (closed) finish(false, false, buffer, [])
          return
        }
        if (frame.kind === 'chunked') {
          const parsed = dechunk(buffer)
          if (parsed !== undefined) return finish(parsed.complete, false, parsed.body, parsed.problem === undefined ? [] : [parsed.problem])
          if (closed) finish(false, false, buffer, [])
          return
        }
        if (closed) finish(true, false, buffer, [])
        return
      }
    }

    const guard = setTimeout(() => finish(false, true, buffer, []), options.guardMs)
    socket.on('data', (chunk: Buffer) => {
      if (!firstByte) {
        firstByte = true
        options.onFirstByte?.()
      }
      raws.push(chunk)
      buffer = Buffer.concat([buffer, chunk])
      evaluate()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      closed = true
      if (!firstByte) {
        firstByte = true
        options.onFirstByte?.()
      }
      evaluate()
    })
    if (typeof request === 'function') request(socket)
    else socket.write(request)
  })
}

/** A request as the recording peer parsed it. */
export interface WireRequest {
  readonly method: string
  readonly target: string
  readonly version: string
  readonly fields: readonly (readonly [string, string])[]
  readonly body: Buffer
  /** Every byte of the message, head and body. */
  readonly bytes: Buffer
}

/** One step of {@link parseRequest}. */
export type RequestParse =
  | { readonly kind: 'request'; readonly request: WireRequest; readonly used: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly problem: string }

/**
 * Parses one request at the start of `buffer` as strictly as RFC 9112 allows a server to: CRLF
 * only, no obs-fold, token names with no whitespace before the colon, field values of field bytes,
 * at most one framing (one `Content-Length` of digits, or one `Transfer-Encoding: chunked`), chunk
 * sizes of hex digits. Whatever a lenient server could read differently is `invalid`: that is how
 * a request smuggled past a proxy would look to the next hop.
 */
export function parseRequest(buffer: Buffer): RequestParse {
  const end = buffer.indexOf('\r\n\r\n')
  if (end === -1) {
    const lineEnd = buffer.indexOf('\n')
    if (lineEnd !== -1 && buffer[lineEnd - 1] !== 0x0d) return { kind: 'invalid', problem: `bare LF in ${show(buffer.subarray(0, lineEnd + 1))}` }
    return { kind: 'incomplete' }
  }
  const text = buffer.subarray(0, end).toString('latin1')
  if (/\r(?!\n)|(?<!\r)\n/.test(text)) return { kind: 'invalid', problem: `bare CR or LF in the head ${show(text)}` }
  const lines = text.split('\r\n')
  const requestLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0] ?? '')
  if (requestLine === null) return { kind: 'invalid', problem: `invalid request line ${show(lines[0] ?? '')}` }
  const fields: [string, string][] = []
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line)) return { kind: 'invalid', problem: `obs-fold ${show(line)}` }
    const colon = line.indexOf(':')
    const name = colon === -1 ? '' : line.slice(0, colon)
    if (!isToken(name)) return { kind: 'invalid', problem: `invalid field line ${show(line)}` }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
    // NUL (and CR, LF, refused above) can end a field early for some parsers; other controls are
    // invalid but read the same everywhere, so they cannot make two hops disagree.
    if (value.includes('\x00')) return { kind: 'invalid', problem: `NUL in field ${show(line)}` }
    fields.push([name, value])
  }
  const headLength = end + 4
  const te = fields.filter(([n]) => n.toLowerCase() === 'transfer-encoding')
  const cl = fields.filter(([n]) => n.toLowerCase() === 'content-length')
  const done = (bodyEnd: number, body: Buffer): RequestParse => ({
    kind: 'request',
    request: {
      method: requestLine[1] ?? '',
      target: requestLine[2] ?? '',
      version: requestLine[3] ?? '',
      fields,
      body,
      bytes: buffer.subarray(0, bodyEnd),
    },
    used: bodyEnd,
  })
  if (te.length > 0 && cl.length > 0) return { kind: 'invalid', problem: 'Content-Length and Transfer-Encoding together' }
  if (te.length > 1) return { kind: 'invalid', problem: 'more than one Transfer-Encoding' }
  if (cl.length > 1) return { kind: 'invalid', problem: 'more than one Content-Length' }
  if (te.length === 1) {
    if ((te[0]?.[1] ?? '').toLowerCase() !== 'chunked') return { kind: 'invalid', problem: `Transfer-Encoding ${show(te[0]?.[1] ?? '')}` }
    const parsed = dechunk(buffer.subarray(headLength))
    if (parsed === undefined) return { kind: 'incomplete' }
    if (parsed.problem !== undefined) return { kind: 'invalid', problem: parsed.problem }
    return done(headLength + parsed.used, parsed.body)
  }
  if (cl.length === 1) {
    const value = cl[0]?.[1] ?? ''
    if (!/^\d{1,15}$/.test(value)) return { kind: 'invalid', problem: `Content-Length ${show(value)}` }
    const bodyEnd = headLength + Number(value)
    if (buffer.length < bodyEnd) return { kind: 'incomplete' }
    return done(bodyEnd, buffer.subarray(headLength, bodyEnd))
  }
  return done(headLength, Buffer.alloc(0))
}
