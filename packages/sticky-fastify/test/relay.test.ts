import { once } from 'node:events'
import { PassThrough, Readable, Writable } from 'node:stream'
import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { BodyRelay } from '../src/relay'
import { fastCheckSeed } from 'sticky-conformance'

const relay = suite('BodyRelay')

/** Reads `stream` to its end through a writable that takes `delays[i]` turns of the event loop per chunk. */
async function drain(stream: Readable, delays: readonly number[], highWaterMark: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let i = 0
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      let turns = delays.length === 0 ? 0 : (delays[i++ % delays.length] ?? 0)
      const next = (): void => {
        if (turns-- <= 0) callback()
        else setImmediate(next)
      }
      next()
    },
  })
  stream.pipe(sink)
  await once(sink, 'finish')
  return Buffer.concat(chunks)
}

/** A source that pushes `chunks` as a peer's body would arrive, and counts how often it was paused. */
function source(chunks: readonly Buffer[]): { stream: Readable; pauses: () => number } {
  let next = 0
  let pauses = 0
  const stream = new Readable({
    read() {
      setImmediate(() => this.push(next < chunks.length ? chunks[next++] : null))
    },
  })
  stream.on('pause', () => {
    pauses += 1
  })
  return { stream, pauses: () => pauses }
}

const chunkList = fc.array(fc.integer({ min: 1, max: 40_000 }), { maxLength: 12 }).map((sizes) => sizes.map((size, i) => Buffer.alloc(size, i % 251)))

relay('should hand over every byte in order, as a PassThrough pipe does, whatever the reader pace', async () => {
  const samples = fc.sample(fc.tuple(chunkList, fc.array(fc.nat(3), { maxLength: 5 }), fc.integer({ min: 1, max: 65_536 })), {
    numRuns: 60,
    seed: fastCheckSeed('BodyRelay = PassThrough'),
  })
  for (const [chunks, delays, highWaterMark] of samples) {
    const expected = Buffer.concat(chunks)
    const viaRelay = await drain(new BodyRelay(source(chunks).stream), delays, highWaterMark)
    const through = new PassThrough()
    source(chunks).stream.pipe(through)
    const viaPipe = await drain(through, delays, highWaterMark)
    assert.ok(viaRelay.equals(expected), `relay lost or reordered bytes of ${chunks.length} chunks`)
    assert.ok(viaPipe.equals(viaRelay))
  }
})

relay('should pause the peer while the client does not read, and resume it when it does', async () => {
  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(16_384, i))
  const { stream, pauses } = source(chunks)
  const out = new BodyRelay(stream)
  const body = await drain(out, [4], 1)
  assert.is(body.length, 20 * 16_384)
  assert.ok(pauses() > 0, 'the peer was never paused')
})

relay('should end at once for a body that ended before it was relayed', async () => {
  const ended = Readable.from([Buffer.from('ok')])
  ended.resume()
  await once(ended, 'end')
  assert.is((await drain(new BodyRelay(ended), [], 16)).length, 0)
})

relay('should stop handing over chunks once destroyed', async () => {
  const upstream = new Readable({ read() {} })
  const out = new BodyRelay(upstream)
  const seen: Buffer[] = []
  out.on('data', (chunk: Buffer) => seen.push(chunk))
  upstream.push(Buffer.from('a'))
  await new Promise((resolve) => setImmediate(resolve))
  out.destroy()
  upstream.push(Buffer.from('b'))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(Buffer.concat(seen).toString(), 'a')
})

relay.run()
