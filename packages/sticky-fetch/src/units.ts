/**
 * nginx's notation for sizes, as configuration written for nginx uses it (`client_body_buffer_size=16k`).
 * Durations (`10s`, `1h30m`) are sticky-core's `parseDuration`.
 */

/**
 * Bytes of a size such as `65536`, `64k`, `1m` (nginx: `k` and `m` are binary multiples).
 *
 * @returns the size in bytes, or `undefined` when `text` is not a size (never throws)
 */
export function parseSize(text: string): number | undefined {
  const match = /^(\d{1,12})([kKmM]?)$/.exec(text)
  if (match === null) return undefined
  const unit = match[2]?.toLowerCase()
  return Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1)
}
