import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const SIZE = 100 * 1024 * 1024
const CHUNK = 64 * 1024
const MiB = 1024 * 1024

interface ProxyMemory {
  heapBefore: number
  heapAfter: number
  peakGrowth: number
}

function chunkAt(index: number): Buffer {
  return Buffer.alloc(CHUNK, index & 0xff)
}

/** The proxy in its own process (see `_memory-proxy.ts`), so that only its memory is measured. */
async function startProxy(peer: string): Promise<{ child: ChildProcess; url: string; stop: () => Promise<ProxyMemory> }> {
  const loader = pathToFileURL(require.resolve('tsx')).href
  const child = fork(join(__dirname, '_memory-proxy.ts'), [peer], {
    execArgv: ['--expose-gc', '--import', loader],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  // A guard against a hung child, not a speed requirement.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000)
  child.once('exit', () => clearTimeout(guard))
  const next = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the proxy process exited (${code})`))
      child.once('exit', onExit)
      child.once('message', (message) => {
        child.off('exit', onExit)
        resolve(message as T)
      })
    })
  const { url } = await next<{ url: string }>()
  return {
    child,
    url,
    stop: async () => {
      const measured = next<ProxyMemory>()
      child.send('stop')
      return measured
    },
  }
}

function upload(url: string): Promise<{ length: number; sha256: string; expected: string }> {
  return new Promise((resolve, reject) => {
    const expected = createHash('sha256')
    const req = request(`${url}/upload`, { method: 'PUT', agent: false })
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
}

function download(url: string): Promise<{ length: number; sha256: string; expected: string }> {
  return new Promise((resolve, reject) => {
    const expected = createHash('sha256')
    for (let i = 0; i * CHUNK < SIZE; i += 1) expected.update(chunkAt(i))
    const req = request(`${url}/download`, { agent: false })
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
}

const memory = suite('createStickyProxy: streaming memory')

memory('should stream 100 MiB up and 100 MiB down with less than 20 MiB of memory growth in the proxy process', async () => {
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
  const proxy = await startProxy(`127.0.0.1:${(backend.address() as AddressInfo).port}`)
  try {
    const up = await upload(proxy.url)
    const down = await download(proxy.url)
    const m = await proxy.stop()
    const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`
    console.log(`[memory] proxy heap before ${mib(m.heapBefore)}, after ${mib(m.heapAfter)}, peak live growth ${mib(m.peakGrowth)}`)
    assert.is(up.length, SIZE, 'every uploaded byte arrived')
    assert.is(up.sha256, up.expected, 'the upload arrived unchanged')
    assert.is(down.length, SIZE, 'every downloaded byte arrived')
    assert.is(down.sha256, down.expected, 'the download arrived unchanged')
    assert.ok(m.heapAfter - m.heapBefore < 20 * MiB, `heap growth ${mib(m.heapAfter - m.heapBefore)}`)
    assert.ok(m.peakGrowth < 20 * MiB, `peak live growth during the transfer ${mib(m.peakGrowth)}`)
  } finally {
    proxy.child.kill()
    backend.closeAllConnections()
    await new Promise<void>((resolve) => backend.close(() => resolve()))
  }
})

memory.run()
