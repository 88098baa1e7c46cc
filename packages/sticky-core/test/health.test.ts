import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type Balancer } from '../src/balancer'
import { createHealthState, isHealthy, noteFailure, noteSelected, noteSuccess, type HealthPolicy, type HealthState } from '../src/health'
import type { Peer } from '../src/peers'
import { fcParams } from './_fc'
import { manualClock, type ManualClock } from './_balancer'

/**
 * The reference: nginx's rules restated with named facts instead of timestamps compared to each other.
 * A peer is out when tracking is on, it reached maxFails, and its quiet period (failTimeout after the
 * later of the last failure and the last probe) has not ended. Handing it out after a quiet period
 * starts a probe; a success counts only if a probe started after the last failure.
 */
class HealthModel {
  failures = 0
  lastFailureAt: number | undefined = undefined
  lastProbeAt: number | undefined = undefined
  probedSinceFailure = false
  constructor(readonly policy: HealthPolicy) {}

  private quietSince(): number | undefined {
    if (this.lastFailureAt === undefined) return this.lastProbeAt
    if (this.lastProbeAt === undefined) return this.lastFailureAt
    return Math.max(this.lastFailureAt, this.lastProbeAt)
  }
  private quietPeriodOver(now: number): boolean {
    const since = this.quietSince()
    return since === undefined || now >= since + this.policy.failTimeout
  }
  usable(now: number): boolean {
    if (this.policy.maxFails === 0 || this.failures < this.policy.maxFails) return true
    return this.quietPeriodOver(now)
  }
  select(now: number): void {
    if (this.quietPeriodOver(now)) {
      this.lastProbeAt = now
      this.probedSinceFailure = true
    }
  }
  fail(now: number): void {
    this.failures++
    this.lastFailureAt = now
    this.probedSinceFailure = false
  }
  succeed(): void {
    if (this.probedSinceFailure) this.failures = 0
  }
}

interface Model {
  readonly health: HealthModel
  now: number
}
interface Real {
  readonly state: HealthState
  readonly policy: HealthPolicy
  now: number
}
type HealthCommand = fc.Command<Model, Real>

class Fail implements HealthCommand {
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    m.health.fail(m.now)
    noteFailure(r.state, r.now)
  }
  toString(): string {
    return 'fail'
  }
}
class Succeed implements HealthCommand {
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    m.health.succeed()
    noteSuccess(r.state)
  }
  toString(): string {
    return 'succeed'
  }
}
class Advance implements HealthCommand {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    m.now += this.ms
    r.now += this.ms
  }
  toString(): string {
    return `advance(${this.ms})`
  }
}
class Select implements HealthCommand {
  check(m: Readonly<Model>): boolean {
    // Only a usable peer is handed out.
    return m.health.usable(m.now)
  }
  run(m: Model, r: Real): void {
    assert.ok(isHealthy(r.state, r.policy, r.now), 'handed out while unusable')
    m.health.select(m.now)
    noteSelected(r.state, r.policy, r.now)
  }
  toString(): string {
    return 'select'
  }
}
class CheckUsable implements HealthCommand {
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    assert.is(isHealthy(r.state, r.policy, r.now), m.health.usable(m.now), `usable at ${r.now}`)
  }
  toString(): string {
    return 'checkUsable'
  }
}

const arbitraryPolicy: fc.Arbitrary<HealthPolicy> = fc.record({
  maxFails: fc.integer({ min: 0, max: 3 }),
  failTimeout: fc.constantFrom(1, 10, 100, 10_000),
})
const arbitraryAdvance: fc.Arbitrary<HealthCommand> = fc
  .oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(99, 100, 101, 9_999, 10_000, 10_001))
  .map((ms) => new Advance(ms))
const healthCommands = fc.commands(
  [fc.constant(new Fail()), fc.constant(new Succeed()), arbitraryAdvance, fc.constant(new Select()), fc.constant(new CheckUsable())],
  { maxCommands: 60 },
)

// ---------------------------------------------------------------- health tracker (model-based)
const Model = suite('health tracker')

Model('should agree with the reference model on every sequence of failures, successes, picks and time', () => {
  fc.assert(
    fc.property(arbitraryPolicy, fc.integer({ min: 0, max: 2 ** 40 }), healthCommands, (policy, start, commands) => {
      fc.modelRun(() => ({ model: { health: new HealthModel(policy), now: start }, real: { state: createHealthState(), policy, now: start } }), commands)
    }),
    fcParams(1000),
  )
})
Model.run()

// ---------------------------------------------------------------- isHealthy
const Healthy = suite('isHealthy')

Healthy('should treat a peer that never failed as usable at any time', () => {
  fc.assert(
    fc.property(arbitraryPolicy, fc.double({ noNaN: true }), (policy, now) => {
      assert.ok(isHealthy(createHealthState(), policy, now))
    }),
    fcParams(),
  )
})

Healthy('should take a peer out for exactly failTimeout after maxFails failures', () => {
  const policy = { maxFails: 2, failTimeout: 10_000 }
  const state = createHealthState()
  noteFailure(state, 1_000)
  assert.ok(isHealthy(state, policy, 1_000), 'one failure of two')
  noteFailure(state, 2_000)
  assert.not.ok(isHealthy(state, policy, 2_000))
  assert.not.ok(isHealthy(state, policy, 11_999))
  assert.ok(isHealthy(state, policy, 12_000))
})

Healthy('should ignore failures when maxFails is 0', () => {
  const state = createHealthState()
  for (let i = 0; i < 5; i++) noteFailure(state, 0)
  assert.ok(isHealthy(state, { maxFails: 0, failTimeout: 10_000 }, 0))
  assert.not.ok(isHealthy(state, { maxFails: 5, failTimeout: 10_000 }, 0))
})
Healthy.run()

// ---------------------------------------------------------------- noteSelected
const Selected = suite('noteSelected')

Selected('should let one probe through after failTimeout, then hold the peer until it answers', () => {
  const policy = { maxFails: 1, failTimeout: 100 }
  const state = createHealthState()
  noteFailure(state, 0)
  assert.ok(isHealthy(state, policy, 100))
  noteSelected(state, policy, 100)
  assert.not.ok(isHealthy(state, policy, 101), 'a second request waits for the probe')
  noteSuccess(state)
  assert.ok(isHealthy(state, policy, 101), 'the probe succeeded')
  assert.is(state.fails, 0)
})

Selected('should not move the check time inside the window', () => {
  const policy = { maxFails: 3, failTimeout: 100 }
  const state = createHealthState()
  noteFailure(state, 0)
  noteSelected(state, policy, 50)
  assert.is(state.checked, 0)
})
Selected.run()

// ---------------------------------------------------------------- noteFailure
const Failure = suite('noteFailure')

Failure('should count failures and stamp both times', () => {
  const state = createHealthState()
  noteFailure(state, 5)
  noteFailure(state, 7)
  assert.equal(state, { fails: 2, accessed: 7, checked: 7, active: 'unchecked' })
})
Failure.run()

// ---------------------------------------------------------------- noteSuccess
const Success = suite('noteSuccess')

Success('should not cancel failures inside the window (nginx: accessed < checked)', () => {
  const policy = { maxFails: 2, failTimeout: 100 }
  const state = createHealthState()
  noteFailure(state, 0)
  noteSelected(state, policy, 10)
  noteSuccess(state)
  noteFailure(state, 20)
  assert.not.ok(isHealthy(state, policy, 20), 'two failures within 100 ms, a success between them')
})

Success('should reset failures after a pick that followed a quiet window', () => {
  const policy = { maxFails: 2, failTimeout: 100 }
  const state = createHealthState()
  noteFailure(state, 0)
  noteSelected(state, policy, 150)
  noteSuccess(state)
  noteFailure(state, 160)
  assert.ok(isHealthy(state, policy, 160), 'the first failure was forgotten')
})
Success.run()

// ---------------------------------------------------------------- Balancer.report (model-based, through decide)
interface BalancerReal {
  readonly balancer: Balancer
  readonly clock: ManualClock
  readonly watched: Peer
  readonly cookie: string
}
interface BalancerModel {
  readonly health: HealthModel
  readonly clock: { now: number }
}
type BalancerCommand = fc.Command<BalancerModel, BalancerReal>

class Report implements BalancerCommand {
  constructor(readonly ok: boolean) {}
  check(): boolean {
    return true
  }
  run(m: BalancerModel, r: BalancerReal): void {
    if (this.ok) m.health.succeed()
    else m.health.fail(m.clock.now)
    r.balancer.report(r.watched, this.ok)
  }
  toString(): string {
    return `report(${this.ok})`
  }
}
class Wait implements BalancerCommand {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true
  }
  run(m: BalancerModel, r: BalancerReal): void {
    m.clock.now += this.ms
    r.clock.advance(this.ms)
  }
  toString(): string {
    return `wait(${this.ms})`
  }
}
class Request implements BalancerCommand {
  check(): boolean {
    return true
  }
  run(m: BalancerModel, r: BalancerReal): void {
    const usable = m.health.usable(m.clock.now)
    const decision = r.balancer.decide(r.cookie)
    if (usable) {
      m.health.select(m.clock.now)
      assert.is(decision.outcome, 'hit')
      assert.is(decision.peer, r.watched)
    } else {
      assert.is(decision.outcome, 'repinned')
      assert.is.not(decision.peer, r.watched)
    }
  }
  toString(): string {
    return 'request'
  }
}

const BalancerHealth = suite('Balancer.report')

BalancerHealth('should pin to a peer exactly while the reference model calls it usable', () => {
  const commands = fc.commands(
    [
      fc.boolean().map((ok) => new Report(ok)),
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(999, 1_000, 1_001)).map((ms) => new Wait(ms)),
      fc.constant(new Request()),
    ],
    { maxCommands: 50 },
  )
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), commands, (maxFails, cmds) => {
      const policy = { maxFails, failTimeout: 1_000 }
      fc.modelRun(() => {
        const clock = manualClock(0)
        const balancer = createBalancer({
          peers: [
            { address: '127.0.0.1:9001', ...policy },
            { address: '127.0.0.1:9002', maxFails: 0 },
          ],
          now: clock.now,
        })
        const watched = balancer.peers[0]!
        return {
          model: { health: new HealthModel(policy), clock: { now: 0 } },
          real: { balancer, clock, watched, cookie: `route=${balancer.cookieValue(watched)}` },
        }
      }, cmds)
    }),
    fcParams(500),
  )
})

BalancerHealth('should ignore a null or foreign peer', () => {
  const balancer = createBalancer({ peers: ['127.0.0.1:9001', '127.0.0.1:9002'] })
  const other = createBalancer({ peers: ['127.0.0.1:9003'] }).peers[0]!
  balancer.report(null, false)
  balancer.report(other, false)
  const cookie = `route=${balancer.cookieValue(balancer.peers[0]!)}`
  assert.is(balancer.decide(cookie).outcome, 'hit')
})
BalancerHealth.run()
