import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

interface Measured {
  size: number
  upload: { length: number; sha256: string; expected: string }
  download: { length: number; sha256: string; expected: string }
  heapBefore: number
  heapAfter: number
  peakGrowth: number
}

const MiB = 1024 * 1024

/** Runs the measurement in its own process so the test runner's allocations do not pollute it. */
function measure(): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const loader = pathToFileURL(require.resolve('tsx')).href
    const child = spawn(process.execPath, ['--expose-gc', '--import', loader, join(__dirname, '_memory-child.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
    // A guard against a hung child, not a speed requirement.
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(guard)
      if (code !== 0) return reject(new Error(`measurement failed (exit ${code}): ${err}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as Measured)
      } catch {
        reject(new Error(`no measurement in: ${out} ${err}`))
      }
    })
  })
}

const memory = suite('createStickyProxy: streaming memory')

memory('should stream 100 MiB up and 100 MiB down with less than 20 MiB of memory growth', async () => {
  const m = await measure()
  const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`
  console.log(`[memory] heap before ${mib(m.heapBefore)}, after ${mib(m.heapAfter)}, peak live growth ${mib(m.peakGrowth)}`)
  assert.is(m.upload.length, m.size, 'every uploaded byte arrived')
  assert.is(m.upload.sha256, m.upload.expected, 'the upload arrived unchanged')
  assert.is(m.download.length, m.size, 'every downloaded byte arrived')
  assert.is(m.download.sha256, m.download.expected, 'the download arrived unchanged')
  assert.ok(m.heapAfter - m.heapBefore < 20 * MiB, `heap growth ${mib(m.heapAfter - m.heapBefore)}`)
  assert.ok(m.peakGrowth < 20 * MiB, `peak live growth during the transfer ${mib(m.peakGrowth)}`)
})

memory.run()
