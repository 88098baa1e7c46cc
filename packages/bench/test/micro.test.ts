import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { measureCases, microCase, QUICK_BUDGET } from '../src/micro'

const TINY = { rounds: 2, perRoundNs: 1e6 }

const micro = suite('microCase')

micro('should time the operation on the input it is given, in nanoseconds', async () => {
  const seen = new Set<string>()
  const ns = await microCase(
    'slice',
    () => 'route=abc',
    (h) => {
      seen.add(h)
      return h.slice(6)
    },
  ).measureOnce(TINY.perRoundNs)
  assert.equal([...seen], ['route=abc'])
  assert.ok(Number.isFinite(ns) && ns > 0, String(ns))
})

micro.run()

const cases = suite('measureCases')

cases('should give one time per case and measure each case once per round', async () => {
  const calls = new Map<string, number>()
  const counted = (name: string) =>
    microCase(
      name,
      () => name,
      (n) => {
        calls.set(n, (calls.get(n) ?? 0) + 1)
        return n.length
      },
    )
  const lines: string[] = []
  const times = await measureCases([counted('a'), counted('b')], TINY, (line) => lines.push(line))
  assert.equal([...times.keys()], ['a', 'b'])
  for (const ns of times.values()) assert.ok(Number.isFinite(ns) && ns > 0)
  assert.ok((calls.get('a') ?? 0) > 0 && (calls.get('b') ?? 0) > 0)
  assert.is(lines.length, 2 * TINY.rounds)
  assert.match(lines[0]!, /round 1\/2\s+a: /)
  assert.match(lines[1]!, /round 1\/2\s+b: /)
})

cases('should throw a RangeError when two cases share a name', async () => {
  const twice = [
    microCase(
      'x',
      () => 1,
      (v) => v,
    ),
    microCase(
      'x',
      () => 2,
      (v) => v,
    ),
  ]
  try {
    await measureCases(twice, QUICK_BUDGET, () => undefined)
    assert.unreachable('should have thrown')
  } catch (error) {
    assert.instance(error, RangeError)
  }
})

cases('should throw a RangeError for a budget without rounds', async () => {
  try {
    await measureCases(
      [
        microCase(
          'x',
          () => 1,
          (v) => v,
        ),
      ],
      { rounds: 0, perRoundNs: 1e6 },
      () => undefined,
    )
    assert.unreachable('should have thrown')
  } catch (error) {
    assert.instance(error, RangeError)
  }
})

cases.run()
