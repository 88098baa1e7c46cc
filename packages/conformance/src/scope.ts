/** Something that must be released when a test ends, pass or fail. */
export type Closer = () => Promise<void> | void

/**
 * Collects what a test starts (servers, adapters, sockets) and releases all of it, newest first,
 * even when the test failed half-way. Errors while closing are collected and rethrown together so
 * that one failing close does not leak the rest.
 */
export class Scope {
  readonly #closers: Closer[] = []

  /** Registers `closer(value)` to run when the scope closes; returns `value` for chaining. */
  defer<T>(value: T, closer: (value: T) => Promise<void> | void): T {
    this.#closers.push(() => closer(value))
    return value
  }

  async close(): Promise<void> {
    const errors: unknown[] = []
    for (let closer = this.#closers.pop(); closer !== undefined; closer = this.#closers.pop()) {
      try {
        await closer()
      } catch (error) {
        errors.push(error)
      }
    }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, 'several resources failed to close')
  }
}

/** Runs `body` with a fresh scope and always closes it. */
export async function withScope<T>(body: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope()
  try {
    return await body(scope)
  } finally {
    await scope.close()
  }
}
