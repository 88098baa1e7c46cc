import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createWeightState, noteWeightFailure, pickSmoothWeighted, type WeightState } from '../src/balance'
import { fcParams } from './_fc'

interface Named extends WeightState {
  readonly name: string
}

function named(weights: readonly number[]): Named[] {
  return weights.map((w, i) => ({ ...createWeightState(w), name: String.fromCharCode(97 + i) }))
}

const always = (): boolean => true

function sequence(peers: readonly Named[], picks: number, eligible: (p: Named, c: null) => boolean = always): string {
  let out = ''
  for (let i = 0; i < picks; i++) out += pickSmoothWeighted(peers, eligible, null)?.name ?? '-'
  return out
}

// ---------------------------------------------------------------- pickSmoothWeighted
const Pick = suite('pickSmoothWeighted')

// Sequences worked out by hand with nginx's rule (add effective weights, take the first maximum, subtract the total).
const sequences: ReadonlyArray<{ weights: number[]; expected: string }> = [
  { weights: [5, 1, 1], expected: 'aabacaa' },
  { weights: [1, 1, 1], expected: 'abcabc' },
  { weights: [2, 1], expected: 'abaaba' },
  { weights: [1, 2], expected: 'babbab' },
  { weights: [3, 2], expected: 'abab' + 'a' },
  { weights: [4, 2, 1], expected: 'abacaba' },
]
for (const { weights, expected } of sequences) {
  Pick(`should pick ${expected} for weights ${weights.join(', ')}, as nginx does`, () => {
    assert.is(sequence(named(weights), expected.length), expected)
  })
}

Pick('should skip ineligible peers without touching their state', () => {
  const peers = named([5, 1, 1])
  const notA = (p: Named): boolean => p.name !== 'a'
  assert.is(sequence(peers, 4, notA), 'bcbc')
  assert.equal(peers[0], { ...createWeightState(5), name: 'a' })
})

Pick('should return undefined when no peer is eligible, and change nothing', () => {
  const peers = named([2, 3])
  assert.is(
    pickSmoothWeighted(peers, () => false, null),
    undefined,
  )
  assert.equal(peers, named([2, 3]))
  assert.is(pickSmoothWeighted([], always, null), undefined)
})

Pick('should pass the context to the eligibility test', () => {
  const peers = named([1, 1, 1])
  const seen: unknown[] = []
  const context = { tag: 'ctx' }
  pickSmoothWeighted(peers, (_p, c) => (seen.push(c), true), context)
  assert.equal(seen, [context, context, context])
})

const arbitraryWeights = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 })

Pick('should pick each peer exactly weight times in every cycle of sum(weights) picks', () => {
  fc.assert(
    fc.property(arbitraryWeights, fc.integer({ min: 1, max: 3 }), (weights, cycles) => {
      const peers = named(weights)
      const total = weights.reduce((a, b) => a + b, 0)
      for (let c = 0; c < cycles; c++) {
        const picked = sequence(peers, total)
        weights.forEach((w, i) => {
          assert.is(picked.split(String.fromCharCode(97 + i)).length - 1, w)
        })
      }
      // The state returns to its start after each full cycle.
      assert.equal(
        peers.map((p) => p.current),
        weights.map(() => 0),
      )
    }),
    fcParams(),
  )
})

Pick("should keep each peer's credit at what it is owed: current = picks due - picks made, times the total", () => {
  fc.assert(
    fc.property(arbitraryWeights, fc.integer({ min: 1, max: 60 }), (weights, picks) => {
      const peers = named(weights)
      const total = weights.reduce((a, b) => a + b, 0)
      const counts = weights.map(() => 0)
      for (let k = 1; k <= picks; k++) {
        counts[peers.indexOf(pickSmoothWeighted(peers, always, null)!)]!++
        peers.forEach((p, i) => {
          assert.is(p.current, k * weights[i]! - counts[i]! * total)
        })
      }
    }),
    fcParams(),
  )
})

Pick('should repeat with period sum(weights): any window of that many picks has each peer weight times', () => {
  fc.assert(
    fc.property(arbitraryWeights, fc.nat({ max: 30 }), (weights, offset) => {
      const peers = named(weights)
      const total = weights.reduce((a, b) => a + b, 0)
      const picked = sequence(peers, offset + total).slice(offset)
      weights.forEach((w, i) => {
        assert.is(picked.split(String.fromCharCode(97 + i)).length - 1, w)
      })
    }),
    fcParams(),
  )
})

Pick('should keep the sum of current weights at zero for a stable eligible set', () => {
  fc.assert(
    fc.property(arbitraryWeights, fc.integer({ min: 1, max: 50 }), (weights, picks) => {
      const peers = named(weights)
      sequence(peers, picks)
      assert.is(
        peers.reduce((sum, p) => sum + p.current, 0),
        0,
      )
    }),
    fcParams(),
  )
})
Pick.run()

// ---------------------------------------------------------------- noteWeightFailure
const Failure = suite('noteWeightFailure')

const failureCases: ReadonlyArray<{ weight: number; maxFails: number; failures: number; effective: number }> = [
  { weight: 10, maxFails: 1, failures: 1, effective: 0 },
  { weight: 10, maxFails: 2, failures: 1, effective: 5 },
  { weight: 10, maxFails: 3, failures: 1, effective: 7 },
  { weight: 10, maxFails: 3, failures: 4, effective: 0 },
  { weight: 1, maxFails: 2, failures: 5, effective: 1 },
  { weight: 10, maxFails: 0, failures: 3, effective: 10 },
]
for (const c of failureCases) {
  Failure(`should leave ${c.effective} of weight ${c.weight} after ${c.failures} failure(s) with maxFails ${c.maxFails}`, () => {
    const state = createWeightState(c.weight)
    for (let i = 0; i < c.failures; i++) noteWeightFailure(state, c.maxFails)
    assert.is(state.effective, c.effective)
  })
}

Failure('should let a failed peer recover one point per round', () => {
  const peers = named([4, 4])
  noteWeightFailure(peers[0]!, 1)
  assert.is(peers[0]!.effective, 0)
  // Round 1 adds the lowered weight, then recovers by one: b wins the first rounds.
  assert.is(sequence(peers, 2), 'bb')
  assert.is(peers[0]!.effective, 2)
  sequence(peers, 10)
  assert.is(peers[0]!.effective, 4)
})

Failure('should keep the effective weight within [0, weight]', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.array(fc.oneof(fc.constant<'pick'>('pick'), fc.integer({ min: 0, max: 5 })), { maxLength: 40 }),
      (weight, steps) => {
        const peers = named([weight, 1])
        for (const step of steps) {
          if (step === 'pick') pickSmoothWeighted(peers, always, null)
          else noteWeightFailure(peers[0]!, step)
          assert.ok(peers[0]!.effective >= 0 && peers[0]!.effective <= weight)
        }
      },
    ),
    fcParams(),
  )
})
Failure.run()

// ---------------------------------------------------------------- createWeightState
const Create = suite('createWeightState')

Create('should start with no credit and the full weight', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), (weight) => {
      assert.equal(createWeightState(weight), { weight, current: 0, effective: weight })
    }),
    fcParams(),
  )
})
Create.run()
