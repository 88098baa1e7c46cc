// The proxy under the streaming-memory test, alone in a process started with --expose-gc: the
// client and the backend live in the test's process, so their socket buffers (which grow when the
// machine is loaded) never count here, and a proxy that buffered a body still shows as live memory.
// Protocol (IPC): argv[2] is the peer; the child sends { url } once listening, samples its live
// memory until the parent sends 'stop', then sends what it measured and exits.
import { listenProxy } from './_server'

const collect = (globalThis as { gc?: () => void }).gc
if (collect === undefined) throw new Error('run with --expose-gc')
const gc: () => void = collect
const send = (message: unknown): void => void process.send?.(message)

/**
 * Live memory right now: JS heap plus the Buffers outside it. V8 releases the memory of dead
 * ArrayBuffers in the background after a collection, hence the second collection a turn later.
 */
async function live(): Promise<number> {
  gc()
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

async function main(): Promise<void> {
  const peer = process.argv[2]
  if (peer === undefined) throw new Error('usage: _memory-proxy.ts HOST:PORT')
  const proxy = await listenProxy({ peers: [peer] })
  const baseline = await live()
  const heapBefore = process.memoryUsage().heapUsed
  let running = true
  let peak = baseline
  process.once('message', () => (running = false))
  send({ url: proxy.url })
  while (running) {
    peak = Math.max(peak, await live())
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await proxy.close()
  gc()
  send({ heapBefore, heapAfter: process.memoryUsage().heapUsed, peakGrowth: peak - baseline })
  process.disconnect()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
