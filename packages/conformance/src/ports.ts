import { createServer } from 'node:net'

/**
 * A loopback port that was bound and then closed: connecting to it is refused, which is how a
 * dead peer looks to a proxy.
 */
export async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return address.port
}

/** Waits `ms` of real time (health tracking in the core is measured in real time here). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Waits until `condition()` holds, checking every few milliseconds; `guardMs` only bounds a wait
 * for something that never happens, and then fails naming `what`.
 */
export async function waitFor(condition: () => boolean, what: string, guardMs = 10_000): Promise<void> {
  const deadline = Date.now() + guardMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${guardMs} ms`)
    await sleep(10)
  }
}
