// Streams 100 MiB up and 100 MiB down through the proxy, in a process of its own started with
// --expose-gc, and prints one JSON line with what it measured. Client, proxy and backend share
// this process, so a proxy that buffered a body would show as live memory here.
import { createHash } from 'node:crypto'
import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { listenProxy } from './_server'

const SIZE = 100 * 1024 * 1024
const CHUNK = 64 * 1024

const collect = (globalThis as { gc?: () => void }).gc
if (collect === undefined) throw new Error('run with --expose-gc')
const gc: () => void = collect

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

/** Samples {@link live} memory while the transfers run, keeping the peak. */
function sampler(): { stop: () => Promise<number> } {
  let running = true
  let peak = 0
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await live())
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return peak
    },
  }
}

function chunkAt(index: number): Buffer {
  return Buffer.alloc(CHUNK, index & 0xff)
}

async function main(): Promise<void> {
  const backend = createServer((req, res) => {
    if (req.url === '/upload') {
      const hash = createHash('sha256')
      let length = 0
      req.on('data', (c: Buffer) => {
        length += c.length
        hash.update(c)
      })
      req.on('end', () => res.end(JSON.stringify({ length, sha256: hash.digest('hex') })))
      return
    }
    // Generated on the fly, with backpressure: never more than a chunk ahead of the reader.
    let index = 0
    const pump = (): void => {
      while (index * CHUNK < SIZE) {
        const ok = res.write(chunkAt(index))
        index += 1
        if (!ok) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  })
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  const { port } = backend.address() as AddressInfo
  const proxy = await listenProxy({ peers: [`127.0.0.1:${port}`] })

  const baseline = await live()
  const heapBefore = process.memoryUsage().heapUsed
  const sampling = sampler()

  const upload = await new Promise<{ length: number; sha256: string; expected: string }>((resolve, reject) => {
    const expected = createHash('sha256')
    const req = request(`${proxy.url}/upload`, { method: 'PUT', agent: false })
    req.on('error', reject)
    req.on('response', (res: IncomingMessage) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ ...(JSON.parse(text) as { length: number; sha256: string }), expected: expected.digest('hex') }))
    })
    let index = 0
    let sent = 0
    const pump = (): void => {
      while (sent < SIZE) {
        const chunk = chunkAt(index)
        index += 1
        sent += chunk.length
        expected.update(chunk)
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })

  const download = await new Promise<{ length: number; sha256: string; expected: string }>((resolve, reject) => {
    const expected = createHash('sha256')
    for (let i = 0; i * CHUNK < SIZE; i += 1) expected.update(chunkAt(i))
    const req = request(`${proxy.url}/download`, { agent: false })
    req.on('error', reject)
    req.on('response', (res: IncomingMessage) => {
      const hash = createHash('sha256')
      let length = 0
      res.on('data', (c: Buffer) => {
        length += c.length
        hash.update(c)
      })
      res.on('error', reject)
      res.on('end', () => resolve({ length, sha256: hash.digest('hex'), expected: expected.digest('hex') }))
    })
    req.end()
  })

  const peak = await sampling.stop()
  await proxy.close()
  await new Promise<void>((resolve) => (backend.closeAllConnections(), backend.close(() => resolve())))
  gc()
  const heapAfter = process.memoryUsage().heapUsed
  console.log(JSON.stringify({ size: SIZE, upload, download, heapBefore, heapAfter, peakGrowth: peak - baseline }))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
