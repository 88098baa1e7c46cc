/**
 * Marks every {@link StickyConfigError}. A registered symbol (`Symbol.for`) is the same in every copy of
 * the package: the ESM and the CommonJS builds, two installed versions, another realm. A class identity is
 * not, so `instanceof` checks this mark rather than the prototype chain.
 */
const BRAND: unique symbol = Symbol.for('sticky.StickyConfigError') as never

/**
 * Thrown at configuration time for every invalid option. It is a `TypeError`
 * so that `catch (e) { if (e instanceof TypeError) ... }` keeps working, and it
 * names the offending option and the value it was given.
 *
 * `error instanceof StickyConfigError` holds for an error thrown by any copy of sticky-core (its ESM
 * and CommonJS builds alike, as when an application imports sticky-core and an adapter requires it):
 * instances carry a `Symbol.for('sticky.StickyConfigError')` mark that `instanceof` checks.
 *
 * Request-time input (cookie headers) never throws: a bad cookie is an absent cookie.
 */
export class StickyConfigError extends TypeError {
  /** Dotted path of the offending option, e.g. `cookie.sameSite` or `peers[2].weight`. */
  readonly option: string
  /** The value that was rejected, as given. */
  readonly value: unknown
  /**
   * Why it was rejected, without the option and value the message starts with (`expects a whole number
   * from 1 to 999999`): for a caller that names the option its own way, e.g. as a line of a config file.
   */
  readonly reason: string

  constructor(option: string, value: unknown, reason: string) {
    super(`sticky: invalid ${option} (${describe(value)}): ${reason}`)
    this.name = 'StickyConfigError'
    this.option = option
    this.value = value
    this.reason = reason
    // Not enumerable: the mark stays out of logs, JSON and deep-equality checks.
    Object.defineProperty(this, BRAND, { value: true })
  }

  /**
   * `instanceof` by the mark, so that an error from the other build (ESM or CommonJS) of sticky-core is
   * recognised. A subclass keeps the ordinary prototype check: the mark says nothing about subclasses.
   */
  static override [Symbol.hasInstance](value: unknown): value is StickyConfigError {
    if (this !== StickyConfigError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true
  }
}

/** A short, safe rendering of a rejected value for the error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value
    return JSON.stringify(shown)
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`
  if (Array.isArray(value)) return `array(${value.length})`
  return typeof value
}
