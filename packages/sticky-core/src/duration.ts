import { StickyConfigError } from './errors'

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
type Unit = keyof typeof UNIT_MS

/** A unit of {@link DurationText}: milliseconds, seconds, minutes, hours, days. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

/**
 * A duration written with units, as nginx writes them: `'500ms'`, `'30s'`, `'2m'`, `'1h'`, `'1h30m'`,
 * `'1d12h'`. Integers only, each unit at most once, largest first (checked when the options are read;
 * the type lets through some text the check refuses, such as `'1.5s'`).
 */
export type DurationText =
  | `${number}${DurationUnit}`
  | `${number}${DurationUnit}${number}${DurationUnit}`
  | `${number}${DurationUnit}${number}${DurationUnit}${number}${DurationUnit}`

/**
 * A duration option: a number in the unit the option documents (milliseconds for timeouts and
 * `failTimeout`, seconds for `cookie.expires`), or a {@link DurationText} such as `'30s'` whatever the
 * option's unit. A string needs its unit: `'30'` is refused, since it would read as seconds in an option
 * whose numbers are milliseconds.
 */
export type Duration = number | DurationText

/** Largest first: the order the parser enforces and the formatter writes. */
const UNITS: readonly Unit[] = ['d', 'h', 'm', 's', 'ms']

/** Longer text is no duration anyone writes; the bound keeps the scan cheap on hostile input. */
const MAX_LENGTH = 64

/**
 * Reads a duration in nginx's time notation (`10s`, `500ms`, `2m`, `1h`, `1h30m`) as milliseconds.
 *
 * Units are `ms`, `s`, `m`, `h` and `d`; parts combine largest unit first, each unit at most once
 * (`1m30s`, not `30s1m`). A bare number is seconds, as nginx reads `fail_timeout=10`. nginx's `w`,
 * `M` and `y` are left out: no option here needs them. `0` and `0s` read as 0; what 0 means is up to
 * the option.
 *
 * Mirrors nginx's time parameters (`fail_timeout=`, `expires=`, `proxy_read_timeout`).
 *
 * @param text - the duration as written
 * @param option - the option or variable it came from, named by the error
 * @returns milliseconds, a safe integer
 * @throws StickyConfigError naming `option` and `text` when `text` is not a duration
 */
export function parseDuration(text: string, option: string): number {
  const ms = typeof text === 'string' ? readDuration(text) : undefined
  if (ms === undefined) {
    throw new StickyConfigError(option, text, 'expected a duration such as 10s, 500ms or 1h30m (a bare number is seconds)')
  }
  return ms
}

/**
 * Reads a duration option ({@link Duration}) as a count of `unit` (`'ms'` or `'s'`): a number is taken
 * as already in `unit`; a string must carry units, and must come out a whole number of `unit`.
 *
 * @returns the count, or `undefined` when `value` is not a duration; range checks are the caller's
 */
export function durationIn(value: unknown, unit: 'ms' | 's'): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string' || /^\d+$/.test(value)) return undefined
  const ms = readDuration(value)
  if (ms === undefined) return undefined
  const size = UNIT_MS[unit]
  return ms % size === 0 ? ms / size : undefined
}

function readDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > MAX_LENGTH) return undefined
  if (/^\d+$/.test(text)) return safe(Number(text) * UNIT_MS.s)
  // Built per call: a sticky regex carries `lastIndex`, which must not be shared between calls.
  // `ms` comes before `m` in the alternation so that `500ms` is not read as `500m` + `s`.
  const part = /(\d+)(ms|d|h|m|s)/y
  let total = 0
  let position = 0
  let lastRank = -1
  while (position < text.length) {
    part.lastIndex = position
    const match = part.exec(text)
    if (match === null) return undefined
    const unit = match[2] as Unit
    const rank = UNITS.indexOf(unit)
    if (rank <= lastRank) return undefined
    lastRank = rank
    total += Number(match[1]) * UNIT_MS[unit]
    position = part.lastIndex
  }
  return safe(total)
}

function safe(ms: number): number | undefined {
  return Number.isSafeInteger(ms) ? ms : undefined
}

/**
 * Writes milliseconds in the shortest notation {@link parseDuration} reads back: `90000` is `1m30s`,
 * `1500` is `1s500ms`, `0` is `0s`.
 *
 * @param ms - a non-negative safe integer
 * @throws RangeError for anything else (a programming error, not configuration)
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`not a duration in milliseconds: ${String(ms)}`)
  if (ms === 0) return '0s'
  let rest = ms
  let text = ''
  for (const unit of UNITS) {
    const size = UNIT_MS[unit]
    const count = Math.floor(rest / size)
    if (count > 0) {
      text += `${count}${unit}`
      rest -= count * size
    }
  }
  return text
}
