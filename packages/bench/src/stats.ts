/**
 * The median of a non-empty list (the mean of the two middle values for an even length).
 * @throws RangeError for an empty list: a statistic of nothing is a bug in the caller.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * The smallest value of a non-empty list: the best of several rounds, the one least disturbed by
 * whatever else the machine was doing.
 * @throws RangeError for an empty list.
 */
export function best(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('best of an empty list')
  let min = values[0]!
  for (const value of values) if (value < min) min = value
  return min
}

/**
 * `value / baseline`, the only way results are compared: both come from the same run on the same
 * machine. NaN when either is not a finite number or the baseline is not positive, so that a broken
 * measurement shows as "n/a" rather than as a plausible ratio.
 */
export function ratio(value: number, baseline: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return Number.NaN
  return value / baseline
}

/**
 * The `p`-th percentile (0 to 100) of a non-empty list, nearest-rank: the smallest value with at
 * least `p` percent of the list at or below it, as latency percentiles are usually read.
 * @throws RangeError for an empty list or `p` outside 0 to 100.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list')
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0 to 100`)
  const sorted = Float64Array.from(values).sort()
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}
