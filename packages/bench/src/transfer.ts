import { request, type IncomingMessage } from 'node:http'
import { CHUNK_BYTES, DOWNLOAD_PATH, UPLOAD_PATH } from './backend-protocol'

const CHUNK = Buffer.alloc(CHUNK_BYTES, 0x62)

/** Milliseconds to receive `bytes` from the backend's download path, discarding them as they arrive. */
export async function download(origin: string, bytes: number): Promise<number> {
  const started = performance.now()
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${origin}${DOWNLOAD_PATH}?bytes=${bytes}`, { agent: false }, resolve).on('error', reject).end()
  })
  let received = 0
  for await (const chunk of res) received += (chunk as Buffer).length
  const elapsed = performance.now() - started
  if (res.statusCode !== 200 || received !== bytes) throw new Error(`download via ${origin}: status ${res.statusCode}, ${received} of ${bytes} bytes`)
  return elapsed
}

/** Milliseconds to send `bytes` in a streamed POST to the backend's upload path and get the backend's count back. */
export async function upload(origin: string, bytes: number): Promise<number> {
  const started = performance.now()
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`${origin}${UPLOAD_PATH}`, { method: 'POST', agent: false, headers: { 'content-length': String(bytes) } }, resolve)
    req.on('error', reject)
    let sent = 0
    const pump = (): void => {
      while (sent < bytes) {
        const chunk = bytes - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, bytes - sent)
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      req.end()
    }
    pump()
  })
  const res = await response
  let body = ''
  for await (const chunk of res) body += String(chunk)
  const elapsed = performance.now() - started
  if (res.statusCode !== 200 || Number(body) !== bytes)
    throw new Error(`upload via ${origin}: status ${res.statusCode}, backend counted ${body} of ${bytes} bytes`)
  return elapsed
}

/** One `GET <origin>/` with an optional Cookie header: its status and `Set-Cookie` values. */
export async function probe(origin: string, cookie?: string): Promise<{ readonly status: number; readonly setCookie: readonly string[] }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${origin}/`, { agent: false, headers: cookie === undefined ? {} : { cookie } }, resolve)
      .on('error', reject)
      .end()
  })
  res.resume()
  await new Promise((resolve) => res.on('end', resolve))
  return { status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [] }
}
