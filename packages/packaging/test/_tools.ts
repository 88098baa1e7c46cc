// The linters are ES modules only, and some of their dependencies cannot be require()d: they are
// loaded with a real import(), which the test runner's CommonJS transform leaves alone.
import type * as Attw from '@arethetypeswrong/core'
import type * as AttwProblems from '@arethetypeswrong/core/problems'
import type * as Publint from 'publint'
import type * as PublintUtils from 'publint/utils'

/** The linters' entry points, loaded once. */
export interface Tools {
  attw: typeof Attw
  attwProblems: typeof AttwProblems
  publint: typeof Publint
  publintUtils: typeof PublintUtils
}

let loading: Promise<Tools> | undefined

/** Loads publint and are-the-types-wrong (once per process). */
export function tools(): Promise<Tools> {
  loading ??= Promise.all([import('@arethetypeswrong/core'), import('@arethetypeswrong/core/problems'), import('publint'), import('publint/utils')]).then(
    ([attw, attwProblems, publint, publintUtils]) => ({ attw, attwProblems, publint, publintUtils }),
  )
  return loading
}
