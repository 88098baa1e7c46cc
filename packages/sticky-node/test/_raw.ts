import { connect, type Socket } from 'node:net'

/** One response as a raw socket received it. */
export interface RawResponse {
  readonly status: number
  /** Lower-cased names; repeated fields keep every value. */
  readonly headers: ReadonlyMap<string, readonly string[]>
  readonly body: Buffer
}

/** A raw TCP client: for requests that node:http refuses to send (smuggling attempts, duplicate Host). */
export interface RawClient {
  readonly socket: Socket
  /** Writes `bytes` and resolves with the next complete response (framed by Content-Length, chunked, or close). */
  exchange(bytes: string | Buffer): Promise<RawResponse>
  /** Writes `bytes` without waiting for anything. */
  write(bytes: string | Buffer): void
  /** Resolves with the next complete response. */
  response(): Promise<RawResponse>
  /** Resolves once the other side closed the connection. */
  closed(): Promise<void>
  close(): void
}

/** Connects to `127.0.0.1:port`. */
export async function rawClient(port: number, guardMs = 10_000): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let buffered = Buffer.alloc(0)
  let ended = false
  let wake: (() => void) | undefined
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    wake?.()
  })
  socket.on('error', () => undefined)
  socket.on('close', () => {
    ended = true
    wake?.()
  })

  const response = async (): Promise<RawResponse> => {
    const deadline = Date.now() + guardMs
    for (;;) {
      const parsed = parse(buffered, ended)
      if (parsed !== undefined) {
        buffered = buffered.subarray(parsed.used)
        return parsed.response
      }
      if (ended) throw new Error(`the connection closed without a complete response: ${JSON.stringify(buffered.toString())}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('guard: no complete response')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = undefined
    }
  }

  return {
    socket,
    write: (bytes) => void socket.write(bytes),
    response,
    exchange: (bytes) => {
      socket.write(bytes)
      return response()
    },
    closed: () => (ended ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()))),
    close: () => void socket.destroy(),
  }
}

function parse(buffered: Buffer, ended: boolean): { response: RawResponse; used: number } | undefined {
  const end = buffered.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const lines = buffered.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(lines[0]?.split(' ')[1])
  const headers = new Map<string, string[]>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()])
  }
  const start = end + 4
  const length = headers.get('content-length')?.[0]
  if (length !== undefined) {
    const stop = start + Number(length)
    if (buffered.length < stop) return undefined
    return { response: { status, headers, body: buffered.subarray(start, stop) }, used: stop }
  }
  if (headers.get('transfer-encoding')?.[0]?.toLowerCase() === 'chunked') return dechunk(buffered, start, status, headers)
  if (!ended) return undefined
  return { response: { status, headers, body: buffered.subarray(start) }, used: buffered.length }
}

function dechunk(
  buffered: Buffer,
  start: number,
  status: number,
  headers: ReadonlyMap<string, readonly string[]>,
): { response: RawResponse; used: number } | undefined {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = buffered.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const size = Number.parseInt(buffered.subarray(at, lineEnd).toString('latin1'), 16)
    if (size === 0) {
      // No trailers in these tests: the last chunk is followed by the blank line.
      const stop = buffered.indexOf('\r\n\r\n', lineEnd - 2)
      if (stop === -1) return undefined
      return { response: { status, headers, body: Buffer.concat(parts) }, used: stop + 4 }
    }
    const dataEnd = lineEnd + 2 + size
    if (buffered.length < dataEnd + 2) return undefined
    parts.push(buffered.subarray(lineEnd + 2, dataEnd))
    at = dataEnd + 2
  }
}
