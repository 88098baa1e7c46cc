import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { callHook } from '../src/hooks'
import { fcParams } from './_fc'

const Hooks = suite('callHook')

Hooks('should hand the event to the hook and tell onError nothing when it returns', () => {
  const seen: unknown[] = []
  const errors: unknown[] = []
  callHook(
    (event: { n: number }) => seen.push(event.n),
    { n: 7 },
    (error) => errors.push(error),
  )
  assert.equal(seen, [7])
  assert.equal(errors, [])
})

Hooks('should do nothing without a hook', () => {
  const errors: unknown[] = []
  callHook(undefined, 1, (error) => errors.push(error))
  assert.equal(errors, [])
})

Hooks('should route what the hook throws to onError', () => {
  const thrown = new Error('bug in onResponse')
  const errors: unknown[] = []
  callHook(
    () => {
      throw thrown
    },
    1,
    (error) => errors.push(error),
  )
  assert.equal(errors, [thrown])
})

Hooks('should drop what a throwing onError throws', () => {
  let called = 0
  callHook(
    () => {
      throw new Error('hook')
    },
    1,
    () => {
      called += 1
      throw new Error('onError too')
    },
  )
  assert.is(called, 1)
})

Hooks('should route the rejection of an async hook to onError, and drop a throwing onError then too', async () => {
  const reason = new Error('async bug')
  const errors: unknown[] = []
  callHook(
    async () => Promise.reject(reason),
    1,
    (error) => errors.push(error),
  )
  assert.equal(errors, [], 'returns at once, before the rejection')
  await new Promise((resolve) => setTimeout(resolve, 0))
  assert.equal(errors, [reason])
  // An unhandled rejection would fail this process: the rejection of onError's own throw is caught.
  callHook(
    async () => Promise.reject(reason),
    1,
    () => {
      throw new Error('onError too')
    },
  )
  await new Promise((resolve) => setTimeout(resolve, 0))
})

Hooks('should route a thenable whose then throws to onError', () => {
  const thrown = new Error('then')
  const errors: unknown[] = []
  const thenable = {
    // biome-ignore lint/suspicious/noThenProperty: a broken thenable is what this case is about
    then(): never {
      throw thrown
    },
  }
  callHook(
    () => thenable,
    1,
    (error) => errors.push(error),
  )
  assert.equal(errors, [thrown])
})

Hooks('property: never throws, and onError hears exactly what the hook threw', () => {
  fc.assert(
    fc.property(fc.anything(), fc.boolean(), fc.boolean(), fc.anything(), (thrown, hookThrows, onErrorThrows, event) => {
      const errors: unknown[] = []
      const seen: unknown[] = []
      callHook(
        (e: unknown) => {
          seen.push(e)
          if (hookThrows) throw thrown
        },
        event,
        (error) => {
          errors.push(error)
          if (onErrorThrows) throw new Error('onError')
        },
      )
      assert.equal(seen, [event])
      assert.equal(errors, hookThrows ? [thrown] : [])
    }),
    fcParams(),
  )
})

Hooks.run()
