import { createRequire } from 'node:module'

// The command line's optional parts (prom-client for --metrics, pino for JSON logs, yaml for
// --config) are loaded at their first use rather than at start: together they hold about 25 MiB of
// a process that, without them, is a proxy of some 60 MiB. Loaded synchronously, because the first
// use can come from a reload (SIGHUP turning JSON logs on) deep in synchronous code.
const requireHere = createRequire(typeof __filename === 'string' ? __filename : import.meta.url)

/** A getter that requires `id` on its first call and returns the same module after. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined
  return () => {
    loaded ??= requireHere(id) as T
    return loaded
  }
}
