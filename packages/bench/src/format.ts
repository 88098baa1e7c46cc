// Renders measurements for the Markdown tables. Every formatter prints "n/a" for a value that is not a
// finite number, so that a failed measurement is visible instead of printing "NaN" or "Infinity".

/** A ratio to two decimals with a multiplication sign, e.g. `1.07×`; three significant digits below 0.1. */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (value !== 0 && Math.abs(value) < 0.1) return `${value.toPrecision(2)}×`
  return `${value.toFixed(2)}×`
}

/** A duration given in nanoseconds, in the unit that keeps three significant digits readable. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a'
  const abs = Math.abs(ns)
  if (abs < 1_000) return `${ns.toFixed(abs < 10 ? 2 : 1)} ns`
  if (abs < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`
  if (abs < 1_000_000_000) return `${(ns / 1_000_000).toFixed(2)} ms`
  // toFixed switches to exponent notation from 1e21 on anyway; say so plainly instead.
  if (abs >= 1e18) return `${(ns / 1_000_000_000).toExponential(2)} s`
  return `${(ns / 1_000_000_000).toFixed(2)} s`
}

/** A byte count in binary units (KiB, MiB), signed, e.g. `+1.5 MiB` when `signed` is set. */
export function formatBytes(bytes: number, signed = false): string {
  if (!Number.isFinite(bytes)) return 'n/a'
  const sign = signed && bytes > 0 ? '+' : ''
  const abs = Math.abs(bytes)
  if (abs < 1024) return `${sign}${bytes.toFixed(Number.isInteger(bytes) ? 0 : 1)} B`
  if (abs < 1024 * 1024) return `${sign}${(bytes / 1024).toFixed(1)} KiB`
  return `${sign}${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/** A count with thousands separators and no decimals, e.g. `12 345`. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const rounded = Math.round(value)
  const digits = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')
  return rounded < 0 ? `-${digits}` : digits
}

/** `count` and a noun, plural unless the count is exactly one: `1 round`, `3 rounds`. */
export function formatPlural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
