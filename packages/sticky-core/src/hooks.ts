/**
 * How every adapter calls a user's hook (`onResponse`, `onAttempt`, `onHealthChange`, a health
 * checker's `onChange`), written once. A hook runs inside the proxy's own callbacks: an exception
 * thrown there is the application's bug, not the request's, and must never reach the runtime's event
 * loop, where it would take every other request down with the process.
 *
 * @packageDocumentation
 */

/**
 * Calls `hook(event)`; what it throws goes to `onError`, and so does the rejection of a promise it
 * returns (an `async` hook is a function returning `void` to TypeScript, and an unhandled rejection
 * ends a Node process as a throw does). If `onError` throws too, that error is dropped: the
 * application's own error handler failed, and nothing is left to tell. Never throws; returns at once,
 * without waiting for a promise the hook returned. Does nothing when `hook` is `undefined`.
 *
 * Each adapter passes its runtime's default `onError` when the user gave none (a process warning, the
 * framework's logger, the console).
 *
 * @example
 * ```ts
 * callHook(options.onResponse, event, options.onError ?? console.error)
 * ```
 */
export function callHook<E>(hook: ((event: E) => unknown) | undefined, event: E, onError: (error: unknown) => void): void {
  if (hook === undefined) return
  let result: unknown
  try {
    result = hook(event)
  } catch (error) {
    report(onError, error)
    return
  }
  if (isThenable(result)) {
    try {
      result.then(undefined, (error: unknown) => report(onError, error))
    } catch (error) {
      // A thenable whose `then` throws is as much the hook's fault as a throw.
      report(onError, error)
    }
  }
}

/** Hands `error` to `onError`, dropping what `onError` throws itself. */
function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error)
  } catch {
    // The application's own error handler failed: nothing is left to tell.
  }
}

function isThenable(value: unknown): value is { then(onFulfilled: undefined, onRejected: (error: unknown) => void): unknown } {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
