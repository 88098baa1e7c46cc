import { createServer, type Socket } from 'node:net'
import { parseRequest, show, type WireRequest } from './wire'

/** What one connection to a recording peer carried. */
export interface RecordedConnection {
  /** Every byte received, exactly. */
  readonly bytes: () => Buffer
  /** The requests parsed from it, in order. */
  readonly requests: readonly WireRequest[]
}

/** A request that broke the rules of the hop from the proxy. */
export interface Violation {
  /**
   * `desync`: the bytes do not parse as one request the proxy framed and wrote (a smuggled request,
   * a framing two servers could read differently); `forwarding`: a request the proxy wrote, with a
   * target or Host it must not send on.
   */
  readonly kind: 'desync' | 'forwarding'
  readonly problem: string
  /** The bytes of the connection, from the offending request on. */
  readonly bytes: Buffer
}

/**
 * A `node:net` peer that records the exact bytes it receives, parses them as strictly as RFC 9112
 * lets a server, and answers each request `200` with `X-Backend: <name>` and `X-Rec-Id`. A request
 * that a lenient server could read differently (any framing but one Content-Length or one
 * `Transfer-Encoding: chunked`, obs-fold, bare CR or LF, a byte outside field values), a target that
 * is not in origin form, a request the proxy did not write itself (no `X-Forwarded-Proto`, which every
 * adapter sets on each request it forwards), or a missing or repeated `Host`, is a violation: the
 * recorder answers 400 and closes, as a strict server would.
 */
export interface Recorder {
  readonly name: string
  readonly address: string
  readonly connections: readonly RecordedConnection[]
  readonly violations: readonly Violation[]
  close(): Promise<void>
}

function check(request: WireRequest): Omit<Violation, 'bytes'> | undefined {
  const names = request.fields.map(([n]) => n.toLowerCase())
  const count = (name: string): number => names.filter((n) => n === name).length
  if (count('x-forwarded-proto') !== 1) {
    return {
      kind: 'desync',
      problem: `${count('x-forwarded-proto')} X-Forwarded-Proto fields: a request the proxy did not write itself (smuggled through), or a forged field it forwarded`,
    }
  }
  if (!request.target.startsWith('/') && request.target !== '*')
    return { kind: 'forwarding', problem: `the target ${show(request.target)} is not in origin form` }
  if (request.version === 'HTTP/1.1' && count('host') !== 1) return { kind: 'forwarding', problem: `${count('host')} Host fields` }
  return undefined
}

export async function startRecorder(name: string): Promise<Recorder> {
  const connections: RecordedConnection[] = []
  const violations: Violation[] = []
  const sockets = new Set<Socket>()
  let ids = 0
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => sockets.delete(socket))
    const chunks: Buffer[] = []
    let pending = Buffer.alloc(0)
    let offset = 0
    const requests: WireRequest[] = []
    connections.push({ bytes: () => Buffer.concat(chunks), requests })
    let broken = false
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (broken) return
      pending = Buffer.concat([pending, chunk])
      for (;;) {
        const parsed = parseRequest(pending)
        if (parsed.kind === 'incomplete') return
        const problem = parsed.kind === 'invalid' ? { kind: 'desync' as const, problem: parsed.problem } : check(parsed.request)
        if (problem !== undefined) {
          broken = true
          violations.push({ ...problem, bytes: Buffer.concat(chunks).subarray(offset) })
          socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
          return
        }
        if (parsed.kind !== 'request') return
        requests.push(parsed.request)
        pending = pending.subarray(parsed.used)
        offset += parsed.used
        ids += 1
        const body = JSON.stringify({ id: ids, method: parsed.request.method, target: parsed.request.target, length: parsed.request.body.length })
        const head = `HTTP/1.1 200 OK\r\nX-Backend: ${name}\r\nX-Rec-Id: ${ids}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
        socket.write(parsed.request.method === 'HEAD' ? head : head + body)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return {
    name,
    address: `127.0.0.1:${address.port}`,
    connections,
    violations,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
