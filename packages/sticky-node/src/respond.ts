import { STATUS_CODES, type ServerResponse } from 'node:http'

/** The short plain-text body of a status the proxy produces itself. */
export function errorBody(status: number, reason: string): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}: ${reason}\n`
}

/** Headers of a status the proxy produces itself. */
export function errorHeaders(body: string): Record<string, string> {
  return {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  }
}

/** A complete HTTP/1.1 response head for a raw socket (upgrades), ending with the blank line. */
export function rawHead(status: number, message: string | undefined, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message ?? STATUS_CODES[status] ?? ''}\r\n`
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  return `${head}\r\n`
}

/** A whole error response for a raw socket, closing the connection. */
export function rawError(status: number, reason: string): string {
  const body = errorBody(status, reason)
  const headers = Object.entries({ ...errorHeaders(body), connection: 'close' }).flat()
  return rawHead(status, undefined, headers) + body
}

/**
 * Writes a response head from a flat raw header list, keeping repeated fields repeated. When the
 * application already set a header on `res`, node:http's `writeHead` would merge the list into it
 * with `setHeader`, keeping one value per name (all but the last `Set-Cookie` lost): the fields are
 * appended instead.
 */
export function writeRawHead(res: ServerResponse, status: number, message: string | undefined, headers: readonly string[]): void {
  if (res.getHeaderNames().length === 0) {
    res.writeHead(status, message, headers as string[])
    return
  }
  for (let i = 0; i + 1 < headers.length; i += 2) res.appendHeader(headers[i] ?? '', headers[i + 1] ?? '')
  res.writeHead(status, message)
}
