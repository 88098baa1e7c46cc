/**
 * nginx's notation for times and sizes, as configuration written for nginx uses it (`fail_timeout=10s`,
 * `expires=1h`, `client_body_buffer_size=16k`). Both parsers return `undefined` for anything else and
 * never throw.
 */

const TIME_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
const TIME_ORDER: readonly string[] = ['d', 'h', 'm', 's', 'ms']

/**
 * Milliseconds of a duration such as `10s`, `500ms`, `1h30m`; a bare number is seconds, as in nginx.
 * Units appear largest first, each at most once.
 */
export function parseDuration(text: string): number | undefined {
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1_000
  const parts = /^(?:(\d{1,12})d)?(?:(\d{1,12})h)?(?:(\d{1,12})m(?!s))?(?:(\d{1,12})s)?(?:(\d{1,12})ms)?$/.exec(text)
  if (parts === null || text === '') return undefined
  let total = 0
  TIME_ORDER.forEach((unit, i) => {
    const amount = parts[i + 1]
    if (amount !== undefined) total += Number(amount) * TIME_MS[unit as keyof typeof TIME_MS]
  })
  return Number.isSafeInteger(total) ? total : undefined
}

/** Bytes of a size such as `65536`, `64k`, `1m` (nginx: `k` and `m` are binary multiples). */
export function parseSize(text: string): number | undefined {
  const match = /^(\d{1,12})([kKmM]?)$/.exec(text)
  if (match === null) return undefined
  const unit = match[2]?.toLowerCase()
  return Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1)
}
