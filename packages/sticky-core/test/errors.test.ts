import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runInNewContext } from 'node:vm'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'

const root = join(__dirname, '..')
const cjsPath = join(root, 'dist', 'index.cjs')
const esmPath = join(root, 'dist', 'index.js')

type CoreModule = { StickyConfigError: typeof StickyConfigError; createBalancer: (options: unknown) => unknown }

// A real dynamic import, left alone by the TypeScript-to-CommonJS transform that runs the tests.
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<CoreModule>

function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const Errors = suite('StickyConfigError')

Errors('should be a TypeError that names the option and the value', () => {
  const error = new StickyConfigError('cookie.path', 'x;y', 'bad')
  assert.instance(error, TypeError)
  assert.instance(error, StickyConfigError)
  assert.is(error.name, 'StickyConfigError')
  assert.is(error.option, 'cookie.path')
  assert.is(error.value, 'x;y')
  assert.is(error.message, 'sticky: invalid cookie.path ("x;y"): bad')
  assert.is(error.reason, 'bad')
})

Errors('should keep its mark out of enumeration and JSON', () => {
  const error = new StickyConfigError('hash', 'crc', 'bad')
  assert.equal(Object.keys(error).sort(), ['name', 'option', 'reason', 'value'])
  assert.is(Object.getOwnPropertySymbols(error).length, 1)
  assert.equal(JSON.parse(JSON.stringify(error)), { name: 'StickyConfigError', option: 'hash', value: 'crc', reason: 'bad' })
  assert.is((error as unknown as Record<symbol, unknown>)[Symbol.for('sticky.StickyConfigError')], true)
})

Errors('should not take other errors, look-alikes or primitives for one', () => {
  const lookAlike = Object.assign(new TypeError('x'), { name: 'StickyConfigError', option: 'a', value: 1 })
  for (const value of [lookAlike, new Error('x'), null, undefined, 'StickyConfigError', 1, {}, Object.create(StickyConfigError.prototype)]) {
    assert.not.ok((value as unknown) instanceof StickyConfigError, String(value))
  }
  // A forged mark is a mark: the check is for copies of this library, not a security boundary.
  const other = runInNewContext(`({ [Symbol.for('sticky.StickyConfigError')]: true })`) as unknown
  assert.ok(other instanceof StickyConfigError)
})

Errors('should keep the ordinary instanceof for subclasses', () => {
  class Sub extends StickyConfigError {}
  assert.ok(new Sub('a', 1, 'b') instanceof StickyConfigError)
  assert.ok(new Sub('a', 1, 'b') instanceof Sub)
  assert.not.ok(new StickyConfigError('a', 1, 'b') instanceof Sub)
})

const Builds = suite('StickyConfigError across the ESM and CommonJS builds')

Builds.before(() => {
  assert.ok(existsSync(cjsPath) && existsSync(esmPath), 'dist is missing: build the package first (npx tsup)')
})

Builds("should recognise an error of either build with the other build's class", async () => {
  const cjs = require(cjsPath) as CoreModule
  const esm = await importEsm(pathToFileURL(esmPath).href)
  assert.is.not(cjs.StickyConfigError, esm.StickyConfigError, 'two builds, two classes')
  const fromCjs = thrownBy(() => cjs.createBalancer({ peers: [] }))
  const fromEsm = thrownBy(() => esm.createBalancer({ peers: [] }))
  for (const error of [fromCjs, fromEsm]) {
    assert.ok(error instanceof cjs.StickyConfigError)
    assert.ok(error instanceof esm.StickyConfigError)
    assert.ok(error instanceof StickyConfigError, "and the sources' class")
    assert.ok(error instanceof TypeError)
  }
  assert.ok(new StickyConfigError('a', 1, 'b') instanceof cjs.StickyConfigError)
  assert.ok(new StickyConfigError('a', 1, 'b') instanceof esm.StickyConfigError)
  assert.not.ok(new TypeError('x') instanceof cjs.StickyConfigError)
  assert.not.ok(new TypeError('x') instanceof esm.StickyConfigError)
})

Errors.run()
Builds.run()
