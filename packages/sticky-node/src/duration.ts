/**
 * Durations as nginx writes them (`10s`, `500ms`, `2m`, `1h`, `1h30m`), converted to milliseconds.
 *
 * Units: `ms`, `s`, `m`, `h`, `d`. Parts may be combined, largest unit first, each unit at most once
 * (`1m30s`). A bare number means seconds, as in nginx (`fail_timeout=10`).
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
type Unit = keyof typeof UNIT_MS

/** Largest first: the order both the parser enforces and the formatter writes. */
const UNITS: readonly Unit[] = ['d', 'h', 'm', 's', 'ms']

/**
 * Parses a duration such as `10s`, `500ms`, `2m`, `1h` or `1h30m` into milliseconds.
 *
 * Mirrors nginx's time syntax (the `fail_timeout=` and `expires=` parameters), minus the units a proxy
 * never needs (`w`, `M`, `y`).
 *
 * @returns the duration in milliseconds, or `undefined` when `text` is not a duration (never throws).
 */
export function parseDuration(text: string): number | undefined {
  if (/^\d{1,15}$/.test(text)) return Number(text) * 1_000
  if (text.length === 0 || text.length > 64) return undefined
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
  return Number.isSafeInteger(total) ? total : undefined
}

/**
 * Writes milliseconds in the shortest form {@link parseDuration} reads back (`90000` -> `1m30s`).
 *
 * @param ms - a non-negative safe integer
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`not a duration in milliseconds: ${ms}`)
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
