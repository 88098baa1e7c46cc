/**
 * Thrown at configuration time for every invalid option. It is a `TypeError`
 * so that `catch (e) { if (e instanceof TypeError) ... }` keeps working, and it
 * names the offending option and the value it was given.
 *
 * Request-time input (cookie headers) never throws: a bad cookie is an absent cookie.
 */
export class StickyConfigError extends TypeError {
  /** Dotted path of the offending option, e.g. `cookie.sameSite` or `peers[2].weight`. */
  readonly option: string
  /** The value that was rejected, as given. */
  readonly value: unknown

  constructor(option: string, value: unknown, reason: string) {
    super(`sticky: invalid ${option} (${describe(value)}): ${reason}`)
    this.name = 'StickyConfigError'
    this.option = option
    this.value = value
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
