const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const

const MS_PER_DAY = 86_400_000

/** Earliest instant whose IMF-fixdate year has four digits: `0000-01-01T00:00:00.000Z`. */
export const HTTP_DATE_MIN: number = -62_167_219_200_000
/** Latest instant whose IMF-fixdate year has four digits: `9999-12-31T23:59:59.999Z`. */
export const HTTP_DATE_MAX: number = 253_402_300_799_999

/**
 * Formats an instant as an IMF-fixdate (RFC 9110 section 5.6.7), the preferred HTTP-date and the
 * form `Expires` takes in a `Set-Cookie` header, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
 *
 * The result equals `new Date(ms).toUTCString()` (specified in this format since ES2018) but is
 * computed with integer arithmetic: no `Date` is allocated on the request path and no engine's
 * formatting is trusted. Like `Date`, a fractional `ms` is truncated toward zero first; the
 * milliseconds are then dropped (rounded down to the second).
 *
 * @param ms - milliseconds since 1970-01-01T00:00:00Z, between {@link HTTP_DATE_MIN} and
 *   {@link HTTP_DATE_MAX} (the years an IMF-fixdate can spell with its four-digit `year`).
 * @throws RangeError when `ms` is not a finite number in that range.
 */
export function formatHttpDate(ms: number): string {
  const t = typeof ms === 'number' ? Math.trunc(ms) : Number.NaN
  if (!(t >= HTTP_DATE_MIN && t <= HTTP_DATE_MAX)) {
    throw new RangeError(`formatHttpDate: ${String(ms)} is outside the four-digit-year range of an IMF-fixdate`)
  }
  const days = Math.floor(t / MS_PER_DAY)
  const msOfDay = t - days * MS_PER_DAY
  const secondsOfDay = Math.floor(msOfDay / 1000)
  const hour = Math.floor(secondsOfDay / 3600)
  const minute = Math.floor((secondsOfDay % 3600) / 60)
  const second = secondsOfDay % 60

  // Civil date from a day count, in a calendar whose years start on 1 March so that the leap day
  // is the last day of the year; eras are the 400-year Gregorian cycles of 146 097 days.
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1
  const month = shiftedMonth < 10 ? shiftedMonth + 2 : shiftedMonth - 10
  const year = yearOfEra + era * 400 + (month <= 1 ? 1 : 0)
  // 1970-01-01 was a Thursday (index 4 with Sunday at 0).
  const weekday = (((days + 4) % 7) + 7) % 7

  return `${DAY_NAMES[weekday]}, ${pad2(day)} ${MONTH_NAMES[month]} ${String(year).padStart(4, '0')} ${pad2(hour)}:${pad2(minute)}:${pad2(second)} GMT`
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}
