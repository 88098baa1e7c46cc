import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { measureAllocations, memoryBench } from '../src/memory.bench'

const CALLS = 20_000

const allocations = suite('measureAllocations')

allocations('should measure every loop without a collection, seeing the allocation of a returned cookie value', async () => {
  const results = await measureAllocations(CALLS)
  const byName = new Map(results.map((r) => [r.name, r]))
  assert.ok(results.length >= 6, String(results.length))
  for (const r of results) {
    assert.is(r.calls, CALLS, r.name)
    assert.is(r.collections, 0, r.name)
    assert.ok(Number.isFinite(r.bytesPerCall), r.name)
  }
  // An empty loop allocates nothing, and a 32-character slice of the header is a heap object: if the
  // probe could not tell them apart, the rows in between would mean nothing. The empty loop is
  // compared with the baseline rather than with zero: V8 allocates a few bytes of its own (feedback,
  // code) while a loop warms up, more on a loaded machine.
  const empty = byName.get('empty loop')!.bytesPerCall
  const baseline = byName.get('baseline: parseCookie + Map.get')!.bytesPerCall
  assert.ok(baseline >= 16, String(baseline))
  assert.ok(empty < baseline / 4, `empty loop ${empty} B/call, baseline ${baseline} B/call`)
})

allocations.run()

const subject = suite('memoryBench.run')

subject('should render one row per loop with a ratio to the baseline', async () => {
  const block = await memoryBench.run({ quick: true, log: () => undefined })
  assert.ok(block.startsWith('### memory\n\nMeasured '))
  const rows = block.split('\n').filter((l) => /^\| (empty|baseline|reference|decide)/.test(l))
  assert.ok(rows.length >= 6, block)
  assert.ok(
    rows.some((r) => r.startsWith('| baseline: parseCookie + Map.get | ') && r.includes(' | 1.00× | ')),
    block,
  )
})

subject.run()
