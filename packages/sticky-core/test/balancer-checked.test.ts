import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type Balancer, type FailoverRule } from '../src/balancer'
import type { CheckedState } from '../src/health'
import type { PeerOptions } from '../src/peers'
import { manualClock, type ManualClock } from './_balancer'
import { fcParams } from './_fc'

const ADDRESSES = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'] as const
const RULES: readonly FailoverRule[] = ['repin', 'temporary', 'strict', 'persist']

function peerOptions(address: string, backup = false, drain = false): PeerOptions {
  return { address, maxFails: 1, failTimeout: 1_000, backup, drain }
}

// ---------------------------------------------------------------- examples
const Checked = suite('Balancer.setChecked')

Checked('should take a checked-down peer out for new clients and bring it back when checked up', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80'] })
  const [a, c] = b.peers
  assert.ok(b.setChecked(a!, false))
  for (let i = 0; i < 4; i++) assert.is(b.decide(undefined).peer, c)
  assert.not.ok(b.isUsable(a!))
  assert.ok(b.setChecked(a!, true))
  const seen = new Set([0, 1, 2, 3].map(() => b.decide(undefined).peer))
  assert.ok(seen.has(a!), 'back in the round robin')
})

Checked('should say whether the state changed, and ignore unknown peers', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80'] })
  const a = b.peers[0]!
  assert.is(b.health(a)?.checked, 'unchecked')
  assert.ok(b.setChecked(a, true))
  assert.not.ok(b.setChecked(a, true))
  assert.is(b.health(a)?.checked, 'up')
  assert.ok(b.setChecked(a, false))
  assert.not.ok(b.setChecked('10.9.9.9:80', false))
  assert.is(b.health('10.9.9.9:80'), undefined)
  assert.not.ok(b.isUsable('10.9.9.9:80'))
  assert.not.ok(b.setChecked(null as never, false))
})

Checked('should accept a peer by its route key, as another process names it', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80'] })
  b.setChecked('10.0.0.1:80', false)
  assert.is(b.health(b.peers[0]!)?.checked, 'down')
  b.report('10.0.0.2:80', false)
  assert.is(b.health('10.0.0.2:80')?.fails, 1)
})

Checked('should move pinned clients under every failover rule, persist included, as down does', () => {
  for (const failover of RULES) {
    const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80'], failover })
    const a = b.peers[0]!
    const cookie = `route=${b.cookieValue(a)}`
    b.setChecked(a, false)
    const d = b.decide(cookie)
    assert.is.not(d.peer, a, failover)
    assert.is(d.outcome, { repin: 'repinned', temporary: 'temporary', strict: 'unavailable', persist: 'repinned' }[failover], failover)
  }
})

Checked('should keep a persisted client on a passively failed peer, but not on a checked-down one', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80'], failover: 'persist' })
  const a = b.peers[0]!
  const cookie = `route=${b.cookieValue(a)}`
  b.report(a, false)
  assert.is(b.decide(cookie).outcome, 'persisted')
  b.setChecked(a, false)
  assert.is(b.decide(cookie).outcome, 'repinned')
})

Checked('should answer 502 when the only peer is checked down, although passive failures are ignored then', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80'] })
  const a = b.peers[0]!
  b.report(a, false)
  assert.is(b.decide(undefined).peer, a, 'nginx ignores failures of a single peer')
  b.setChecked(a, false)
  const d = b.decide(`route=${b.cookieValue(a)}`)
  assert.is(d.outcome, 'unavailable')
  assert.is(d.status, 502)
})

Checked('should neither count nor clear passive failures', () => {
  const clock = manualClock(0)
  const b = createBalancer({ peers: [peerOptions('10.0.0.1:80'), peerOptions('10.0.0.2:80')], now: clock.now })
  const a = b.peers[0]!
  b.report(a, false)
  b.setChecked(a, true)
  assert.equal(b.health(a), { usable: false, checked: 'up', fails: 1 })
  b.setChecked(a, false)
  b.setChecked(a, true)
  assert.is(b.health(a)?.fails, 1)
  clock.advance(1_000)
  assert.ok(b.isUsable(a), 'the failure window ends as before')
})

Checked('should let a drain peer serve its pinned clients until checked down', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', { address: '10.0.0.2:80', drain: true }] })
  const drained = b.peers[1]!
  const cookie = `route=${b.cookieValue(drained)}`
  assert.ok(b.isUsable(drained))
  assert.is(b.decide(cookie).outcome, 'hit')
  b.setChecked(drained, false)
  assert.is(b.decide(cookie).outcome, 'repinned')
})

Checked('should keep the check state of unchanged peers through setPeers and forget removed ones', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'] })
  b.setChecked('10.0.0.1:80', false)
  b.setChecked('10.0.0.2:80', false)
  b.setPeers(['10.0.0.3:80', { address: '10.0.0.1:80', weight: 2 }, '10.0.0.4:80'])
  assert.is(b.health('10.0.0.1:80')?.checked, 'down', 'same route key, other weight: state kept')
  assert.is(b.health('10.0.0.4:80')?.checked, 'unchecked')
  b.setPeers(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'])
  assert.is(b.health('10.0.0.2:80')?.checked, 'unchecked', 'removed, then added again: a new peer')
})

Checked('should return a frozen snapshot from health', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', '10.0.0.2:80'] })
  const h = b.health(b.peers[0]!)
  assert.ok(Object.isFrozen(h))
  assert.equal(h, { usable: true, checked: 'unchecked', fails: 0 })
})
Checked('should call a down peer unusable, whatever its checks say', () => {
  const b = createBalancer({ peers: ['10.0.0.1:80', { address: '10.0.0.2:80', down: true }] })
  const down = b.peers[1]!
  assert.not.ok(b.isUsable(down))
  b.setChecked(down, true)
  assert.not.ok(b.isUsable(down))
  assert.equal(b.health(down), { usable: false, checked: 'up', fails: 0 })
  assert.ok(b.isUsable(b.peers[0]!))
})

Checked.run()

// ---------------------------------------------------------------- model-based
interface Model {
  peers: string[]
  readonly drain: ReadonlySet<string>
  readonly checked: Map<string, CheckedState>
}
interface Real {
  readonly balancer: Balancer
  readonly clock: ManualClock
  readonly rule: FailoverRule
  readonly backups: ReadonlySet<string>
}
type Command = fc.Command<Model, Real>

function checkedOf(m: Model, id: string): CheckedState {
  return m.checked.get(id) ?? 'unchecked'
}

function assertAgrees(m: Model, r: Real): void {
  for (const id of m.peers) assert.is(r.balancer.health(id)?.checked, checkedOf(m, id), id)
}

class SetChecked implements Command {
  constructor(
    readonly index: number,
    readonly up: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return this.index < m.peers.length
  }
  run(m: Model, r: Real): void {
    const id = m.peers[this.index]!
    const before = r.balancer.health(id)!
    const state: CheckedState = this.up ? 'up' : 'down'
    assert.is(r.balancer.setChecked(id, this.up), checkedOf(m, id) !== state, 'changed')
    m.checked.set(id, state)
    assert.is(r.balancer.health(id)!.fails, before.fails, 'a check does not touch passive failures')
    assertAgrees(m, r)
  }
  toString(): string {
    return `setChecked(${this.index}, ${this.up})`
  }
}
class Report implements Command {
  constructor(
    readonly index: number,
    readonly ok: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return this.index < m.peers.length
  }
  run(m: Model, r: Real): void {
    const id = m.peers[this.index]!
    r.balancer.report(id, this.ok)
    assertAgrees(m, r)
  }
  toString(): string {
    return `report(${this.index}, ${this.ok})`
  }
}
class Wait implements Command {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true
  }
  run(_m: Model, r: Real): void {
    r.clock.advance(this.ms)
  }
  toString(): string {
    return `wait(${this.ms})`
  }
}
class DecideNew implements Command {
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    const b = r.balancer
    const anyone = b.peers.some((p) => !p.drain && b.isUsable(p))
    const d = b.decide(undefined)
    assert.is(d.outcome === 'unavailable', !anyone, 'unavailable exactly when no peer takes new clients')
    if (d.peer !== null) {
      assert.is.not(checkedOf(m, d.peer.id), 'down', 'never a checked-down peer')
      assert.not.ok(d.peer.drain, 'never a drain peer for a new client')
      const primary = b.peers.some((p) => !p.backup && !p.drain && checkedOf(m, p.id) !== 'down' && b.isUsable(p))
      if (primary) assert.not.ok(r.backups.has(d.peer.id), 'a backup only when no primary is usable')
    }
  }
  toString(): string {
    return 'decideNew'
  }
}
class DecidePinned implements Command {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>): boolean {
    return this.index < m.peers.length
  }
  run(m: Model, r: Real): void {
    const b = r.balancer
    const pinned = b.peers.find((p) => p.id === m.peers[this.index])!
    const usable = b.isUsable(pinned)
    const passiveOnly = !usable && !pinned.down && checkedOf(m, pinned.id) !== 'down'
    const d = b.decide(`route=${b.cookieValue(pinned)}`)
    if (d.peer !== null) assert.is.not(checkedOf(m, d.peer.id), 'down', 'never a checked-down peer')
    if (usable) {
      assert.is(d.peer, pinned, 'a usable pinned peer keeps its client')
    } else if (r.rule === 'persist' && passiveOnly) {
      assert.is(d.outcome, 'persisted')
    } else {
      assert.is.not(d.peer, pinned, `${r.rule}: an unusable pinned peer loses the request`)
    }
  }
  toString(): string {
    return `decidePinned(${this.index})`
  }
}
class SetPeers implements Command {
  constructor(readonly keep: readonly boolean[]) {}
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    // A list needs a primary: the first address (always a plain primary) joins when none is kept.
    const primary = ADDRESSES.some((address, i) => this.keep[i] && !r.backups.has(address))
    const next = ADDRESSES.filter((_, i) => this.keep[i] || (i === 0 && !primary))
    r.balancer.setPeers(next.map((address) => peerOptions(address, r.backups.has(address), m.drain.has(address))))
    for (const id of [...m.checked.keys()]) if (!next.includes(id as (typeof ADDRESSES)[number])) m.checked.delete(id)
    m.peers = [...next]
    assertAgrees(m, r)
  }
  toString(): string {
    return `setPeers(${this.keep.map((k) => (k ? 1 : 0)).join('')})`
  }
}

const index = fc.nat(ADDRESSES.length - 1)
const commands = fc.commands(
  [
    fc.tuple(index, fc.boolean()).map(([i, up]) => new SetChecked(i, up)),
    fc.tuple(index, fc.boolean()).map(([i, ok]) => new Report(i, ok)),
    fc.constantFrom(0, 1, 999, 1_000).map((ms) => new Wait(ms)),
    fc.constant(new DecideNew()),
    index.map((i) => new DecidePinned(i)),
    fc.array(fc.boolean(), { minLength: ADDRESSES.length, maxLength: ADDRESSES.length }).map((keep) => new SetPeers(keep)),
  ],
  { maxCommands: 60 },
)

const Machine = suite('Balancer.setChecked (model-based)')

Machine('should never route to a checked-down peer, and keep check state exactly as the model says', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...RULES),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ADDRESSES.length, maxLength: ADDRESSES.length }),
      commands,
      (rule, kinds, cmds) => {
        // kind 1: backup, 2: drain, else plain; the first peer stays a plain primary so the list is valid.
        const backups = new Set(ADDRESSES.filter((_, i) => i > 0 && kinds[i] === 1))
        const drain = new Set(ADDRESSES.filter((_, i) => i > 0 && kinds[i] === 2))
        fc.modelRun(() => {
          const clock = manualClock(0)
          const balancer = createBalancer({
            peers: ADDRESSES.map((a) => peerOptions(a, backups.has(a), drain.has(a))),
            failover: rule,
            now: clock.now,
          })
          return { model: { peers: [...ADDRESSES], drain, checked: new Map() }, real: { balancer, clock, rule, backups } }
        }, cmds)
      },
    ),
    fcParams(300),
  )
})

Machine('should route exactly as without checks when every check says up', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('new' as const) }),
    fc.record({ kind: fc.constant('pinned' as const), i: index }),
    fc.record({ kind: fc.constant('report' as const), i: index, ok: fc.boolean() }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(1, 1_000) }),
    fc.record({ kind: fc.constant('up' as const), i: index }),
  )
  fc.assert(
    fc.property(fc.constantFrom(...RULES), fc.array(step, { maxLength: 60 }), (rule, steps) => {
      const make = (clock: ManualClock): Balancer => createBalancer({ peers: ADDRESSES.map((a) => peerOptions(a)), failover: rule, now: clock.now })
      const [c1, c2] = [manualClock(0), manualClock(0)]
      const [checked, plain] = [make(c1), make(c2)]
      for (const s of steps) {
        switch (s.kind) {
          case 'new':
            assert.equal(checked.decide(undefined), plain.decide(undefined))
            break
          case 'pinned':
            assert.equal(checked.decide(`route=${checked.cookieValue(checked.peers[s.i]!)}`), plain.decide(`route=${plain.cookieValue(plain.peers[s.i]!)}`))
            break
          case 'report':
            checked.report(checked.peers[s.i]!, s.ok)
            plain.report(plain.peers[s.i]!, s.ok)
            break
          case 'wait':
            c1.advance(s.ms)
            c2.advance(s.ms)
            break
          case 'up':
            checked.setChecked(checked.peers[s.i]!, true)
            break
        }
      }
    }),
    fcParams(),
  )
})
Machine.run()
