import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'
import { expectsStatus, INITIAL_CHECK_TALLY, observeCheck, resolveHealthCheck, type CheckTally, type HealthCheckOptions } from '../src/health-check'
import { expectConfigError } from './_balancer'
import { fcParams } from './_fc'

const MAX_TIMER = 2_147_483_647

// ---------------------------------------------------------------- options
const Options = suite('resolveHealthCheck')

Options('should fill in the defaults: 5s, 2s, 200-399, rises 2, falls 3, the peer host', () => {
  const check = resolveHealthCheck({ path: '/healthz' })
  assert.equal(check, { path: '/healthz', interval: 5_000, timeout: 2_000, expect: [[200, 399]], rises: 2, falls: 3, host: undefined })
  assert.ok(Object.isFrozen(check))
})

Options('should default the timeout to the interval when the interval is shorter than 2s', () => {
  assert.is(resolveHealthCheck({ path: '/', interval: 500 }).timeout, 500)
  assert.is(resolveHealthCheck({ path: '/', interval: '1s' }).timeout, 1_000)
})

Options('should read durations as milliseconds or text with units', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_TIMER }), fc.integer({ min: 1, max: MAX_TIMER }), (a, b) => {
      const [timeout, interval] = a <= b ? [a, b] : [b, a]
      const check = resolveHealthCheck({ path: '/h', interval, timeout })
      assert.is(check.interval, interval)
      assert.is(check.timeout, timeout)
    }),
    fcParams(),
  )
  assert.is(resolveHealthCheck({ path: '/h', interval: '1m30s', timeout: '500ms' }).interval, 90_000)
  assert.is(resolveHealthCheck({ path: '/h', interval: '1m30s', timeout: '500ms' }).timeout, 500)
})

Options('should refuse a timeout longer than the interval, naming healthCheck.timeout', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_TIMER - 1 }), fc.integer({ min: 1, max: 1000 }), (interval, more) => {
      const timeout = Math.min(MAX_TIMER, interval + more)
      expectConfigError(() => resolveHealthCheck({ path: '/', interval, timeout }), 'healthCheck.timeout')
    }),
    fcParams(),
  )
})

Options('should refuse every invalid value, naming its key', () => {
  const cases: readonly [Record<string, unknown>, string][] = [
    [{ path: 'healthz' }, 'healthCheck.path'],
    [{ path: '' }, 'healthCheck.path'],
    [{ path: '/a b' }, 'healthCheck.path'],
    [{ path: '/\u00e9' }, 'healthCheck.path'],
    [{ path: '/\r\nX: y' }, 'healthCheck.path'],
    [{ path: `/${'a'.repeat(2048)}` }, 'healthCheck.path'],
    [{}, 'healthCheck.path'],
    [{ path: 7 }, 'healthCheck.path'],
    [{ path: '/', interval: 0 }, 'healthCheck.interval'],
    [{ path: '/', interval: -5 }, 'healthCheck.interval'],
    [{ path: '/', interval: 1.5 }, 'healthCheck.interval'],
    [{ path: '/', interval: '5' }, 'healthCheck.interval'],
    [{ path: '/', interval: '5 s' }, 'healthCheck.interval'],
    [{ path: '/', interval: MAX_TIMER + 1 }, 'healthCheck.interval'],
    [{ path: '/', interval: '30d' }, 'healthCheck.interval'],
    [{ path: '/', interval: Number.NaN }, 'healthCheck.interval'],
    [{ path: '/', timeout: 0 }, 'healthCheck.timeout'],
    [{ path: '/', interval: '1s', timeout: '3s' }, 'healthCheck.timeout'],
    [{ path: '/', expect: 99 }, 'healthCheck.expect'],
    [{ path: '/', expect: 600 }, 'healthCheck.expect'],
    [{ path: '/', expect: 200.5 }, 'healthCheck.expect'],
    [{ path: '/', expect: [] }, 'healthCheck.expect'],
    [{ path: '/', expect: [200, '204'] }, 'healthCheck.expect'],
    [{ path: '/', expect: '' }, 'healthCheck.expect'],
    [{ path: '/', expect: '200-' }, 'healthCheck.expect'],
    [{ path: '/', expect: '399-200' }, 'healthCheck.expect'],
    [{ path: '/', expect: '200,,204' }, 'healthCheck.expect'],
    [{ path: '/', expect: '2xx' }, 'healthCheck.expect'],
    [{ path: '/', expect: true }, 'healthCheck.expect'],
    [{ path: '/', rises: 0 }, 'healthCheck.rises'],
    [{ path: '/', rises: 1.5 }, 'healthCheck.rises'],
    [{ path: '/', rises: '2' }, 'healthCheck.rises'],
    [{ path: '/', falls: 0 }, 'healthCheck.falls'],
    [{ path: '/', falls: -1 }, 'healthCheck.falls'],
    [{ path: '/', host: '' }, 'healthCheck.host'],
    [{ path: '/', host: 'a b' }, 'healthCheck.host'],
    [{ path: '/', host: 'a\r\nX-Evil: 1' }, 'healthCheck.host'],
    [{ path: '/', host: 'a/b' }, 'healthCheck.host'],
    // A comma would make the Host a list to every reader of list-valued fields.
    [{ path: '/', host: 'a,b' }, 'healthCheck.host'],
    [{ path: '/', host: `${'a'.repeat(253)}:80` }, 'healthCheck.host'],
    [{ path: '/', host: 80 }, 'healthCheck.host'],
    [{ path: '/', intervall: '5s' }, 'healthCheck.intervall'],
  ]
  for (const [options, option] of cases) {
    const error = expectConfigError(() => resolveHealthCheck(options as unknown as HealthCheckOptions), option)
    const key = option.slice('healthCheck.'.length)
    assert.ok(Object.is(error.value, options[key]), option)
  }
})

Options('should refuse a value that is not an object, and name the option path it is given', () => {
  for (const value of [undefined, null, '/healthz', ['/'], 5])
    expectConfigError(() => resolveHealthCheck(value as unknown as HealthCheckOptions), 'healthCheck')
  expectConfigError(() => resolveHealthCheck({ path: 'x' }, 'routes[1].healthCheck'), 'routes[1].healthCheck.path')
})

Options('should accept host names, addresses and ports for host', () => {
  for (const host of ['app.internal', 'app.internal:8080', '10.0.0.1', '[::1]:9000', 'localhost']) {
    assert.is(resolveHealthCheck({ path: '/', host }).host, host)
  }
})

Options('should never accept a path or host that could break the request line or headers', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
      for (const [key, value] of [
        ['path', `/${text}`],
        ['host', text],
      ] as const) {
        try {
          const check = resolveHealthCheck({ path: '/', [key]: value })
          assert.not.match(String(check[key]), /[\s\x00-\x1f\x7f-\uffff]/)
        } catch (error) {
          assert.instance(error, StickyConfigError)
          assert.is((error as StickyConfigError).option, `healthCheck.${key}`)
        }
      }
    }),
    fcParams(),
  )
})
Options('should accept a path of 2048 characters and a host of 255, and refuse one more', () => {
  assert.is(resolveHealthCheck({ path: `/${'p'.repeat(2047)}` }).path.length, 2048)
  expectConfigError(() => resolveHealthCheck({ path: `/${'p'.repeat(2048)}` }), 'healthCheck.path')
  assert.is(resolveHealthCheck({ path: '/', host: 'h'.repeat(255) }).host, 'h'.repeat(255))
  expectConfigError(() => resolveHealthCheck({ path: '/', host: 'h'.repeat(256) }), 'healthCheck.host')
})

Options('should refuse a host port that is not 1 to 5 digits', () => {
  for (const host of ['app.internal:http', 'app.internal:123456', 'app.internal:', '[::1]:x'])
    expectConfigError(() => resolveHealthCheck({ path: '/', host }), 'healthCheck.host')
})

Options('should refuse expect text longer than 1024 characters, however valid its statuses', () => {
  const long = Array.from({ length: 300 }, () => '200').join(',')
  assert.ok(long.length > 1024)
  expectConfigError(() => resolveHealthCheck({ path: '/', expect: long }), 'healthCheck.expect')
  assert.equal(resolveHealthCheck({ path: '/', expect: long.slice(0, 1023) }).expect[0], [200, 200])
})

Options.run()

// ---------------------------------------------------------------- expect
const Expect = suite('expectsStatus')

const arbitraryStatus = fc.integer({ min: 100, max: 599 })
const arbitraryRanges = fc.array(
  fc.tuple(arbitraryStatus, arbitraryStatus).map(([a, b]) => (a <= b ? ([a, b] as const) : ([b, a] as const))),
  { minLength: 1, maxLength: 5 },
)

Expect('should pass exactly the statuses inside one of the ranges written as text', () => {
  fc.assert(
    fc.property(arbitraryRanges, fc.integer({ min: 0, max: 999 }), fc.constantFrom(',', ', ', ' , '), (ranges, status, comma) => {
      const text = ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(comma)
      const { expect } = resolveHealthCheck({ path: '/', expect: text })
      assert.is(
        expectsStatus(expect, status),
        ranges.some(([a, b]) => status >= a && status <= b),
        text,
      )
    }),
    fcParams(),
  )
})

Expect('should pass exactly the statuses listed in an array or given as a number', () => {
  fc.assert(
    fc.property(fc.array(arbitraryStatus, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 999 }), (list, status) => {
      assert.is(expectsStatus(resolveHealthCheck({ path: '/', expect: list }).expect, status), list.includes(status))
      assert.is(expectsStatus(resolveHealthCheck({ path: '/', expect: list[0]! }).expect, status), status === list[0])
    }),
    fcParams(),
  )
})

Expect('should pass 200 to 399 by default, and not 199, 400 or 503', () => {
  const { expect } = resolveHealthCheck({ path: '/' })
  for (const status of [200, 204, 301, 399]) assert.ok(expectsStatus(expect, status), String(status))
  for (const status of [0, 101, 199, 400, 404, 500, 503]) assert.not.ok(expectsStatus(expect, status), String(status))
})
Expect.run()

// ---------------------------------------------------------------- rises and falls
const Tally = suite('observeCheck')

const arbitraryPolicy = fc.record({ rises: fc.integer({ min: 1, max: 5 }), falls: fc.integer({ min: 1, max: 5 }) })

function run(results: readonly boolean[], policy: { rises: number; falls: number }): { tallies: CheckTally[]; changes: number[] } {
  const tallies: CheckTally[] = []
  const changes: number[] = []
  let tally = INITIAL_CHECK_TALLY
  results.forEach((passed, i) => {
    const observed = observeCheck(tally, passed, policy)
    if (observed.changed) changes.push(i)
    assert.is(observed.changed, observed.tally.up !== tally.up, 'changed says whether up changed')
    tally = observed.tally
    tallies.push(tally)
  })
  return { tallies, changes }
}

Tally('should start up and change only after falls failures or rises passes in a row', () => {
  fc.assert(
    fc.property(arbitraryPolicy, fc.array(fc.boolean(), { maxLength: 40 }), (policy, results) => {
      const { tallies, changes } = run(results, policy)
      let up = true
      for (let i = 0; i < results.length; i++) {
        const changed = changes.includes(i)
        if (changed) {
          // The change is the first moment the last `need` results all went against the state.
          const need = up ? policy.falls : policy.rises
          assert.ok(i + 1 >= need, 'enough results seen')
          for (let k = i - need + 1; k <= i; k++) assert.is(results[k], !up, `result ${k} went against the state`)
          up = !up
        }
        assert.is(tallies[i]!.up, up)
      }
    }),
    fcParams(),
  )
})

Tally('should be down after falls failures in a row and up after rises passes in a row, from any tally', () => {
  fc.assert(
    fc.property(arbitraryPolicy, fc.array(fc.boolean(), { maxLength: 20 }), fc.boolean(), (policy, prefix, passed) => {
      const n = passed ? policy.rises : policy.falls
      const { tallies } = run([...prefix, ...Array<boolean>(n).fill(passed)], policy)
      assert.is(tallies.at(-1)!.up, passed)
    }),
    fcParams(),
  )
})

Tally('should clear the streak against the state when a result agrees with it', () => {
  const policy = { rises: 2, falls: 3 }
  const { tallies } = run([false, false, true, false, false], policy)
  assert.ok(
    tallies.every((t) => t.up),
    'two failures, a pass, two failures: never three in a row',
  )
  assert.is(run([false, false, false], policy).tallies.at(-1)!.up, false)
  const back = run([false, false, false, true, false, true, true], policy).tallies.map((t) => t.up)
  assert.equal(back, [true, true, false, false, false, false, true])
})
Tally.run()
