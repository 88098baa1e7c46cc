/** Methods whose repetition has the effect of one request (RFC 9110 section 9.2.2). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/**
 * Whether a request may go to another peer after its peer failed. Only idempotent methods are
 * retried, as nginx does since 1.9.13, and only without a request body: the body is streamed, not
 * buffered, so once handed to one peer it cannot be replayed to another.
 *
 * @param attempts - peers already tried for this request
 * @param retries - the `retries` option
 */
export function mayRetry(method: string, hasBody: boolean, attempts: number, retries: number): boolean {
  return !hasBody && IDEMPOTENT.has(method) && attempts <= retries
}
