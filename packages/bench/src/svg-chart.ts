// A horizontal grouped bar chart as a standalone SVG document: a pure function of its numbers, so the
// committed chart is reproducible and needs no plotting dependency.

/** One series of bars: one value per category, drawn in `color`. */
export interface BarSeries {
  readonly name: string
  readonly color: string
  /** One per category; a value that is not a finite non-negative number draws no bar and prints "n/a". */
  readonly values: readonly number[]
}

/** What the chart shows. */
export interface BarChart {
  readonly title: string
  /** Printed after each value, e.g. `req/CPU-s`. */
  readonly unit: string
  readonly categories: readonly string[]
  readonly series: readonly BarSeries[]
}

const WIDTH = 760
const LABEL_WIDTH = 230
const VALUE_WIDTH = 130
const BAR = 14
const GAP = 10
const TOP = 48

/** Text made safe inside an SVG element or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function formatValue(value: number): string {
  return Number.isFinite(value) && value >= 0 ? String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ') : 'n/a'
}

/**
 * The chart as an SVG document. Bars are scaled to the largest value of any series, so bars of
 * different categories and series compare by length.
 * @throws RangeError when a series does not have one value per category.
 */
export function renderBarChart(chart: BarChart): string {
  for (const s of chart.series)
    if (s.values.length !== chart.categories.length)
      throw new RangeError(`series ${s.name} has ${s.values.length} values for ${chart.categories.length} categories`)
  const drawable = (v: number): boolean => Number.isFinite(v) && v >= 0
  const max = Math.max(0, ...chart.series.flatMap((s) => s.values.filter(drawable)))
  const span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
  const group = chart.series.length * BAR + GAP
  const legendY = TOP + chart.categories.length * group + 8
  const height = legendY + 24
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    // Read aloud by screen readers and shown as a tooltip: the chart's title.
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="24" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ]
  chart.categories.forEach((category, c) => {
    const y0 = TOP + c * group
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y0 + (chart.series.length * BAR) / 2 + 4}" text-anchor="end">${escapeXml(category)}</text>`)
    chart.series.forEach((s, i) => {
      const value = s.values[c]!
      const width = drawable(value) && max > 0 ? (value / max) * span : 0
      const y = y0 + i * BAR
      parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR - 2}" fill="${escapeXml(s.color)}"/>`)
      parts.push(
        `<text x="${(LABEL_WIDTH + width + 4).toFixed(1)}" y="${y + BAR - 3}" font-size="10">${escapeXml(`${formatValue(value)} ${chart.unit}`)}</text>`,
      )
    })
  })
  let x = LABEL_WIDTH
  for (const s of chart.series) {
    parts.push(`<rect x="${x}" y="${legendY}" width="12" height="12" fill="${escapeXml(s.color)}"/>`)
    parts.push(`<text x="${x + 16}" y="${legendY + 10}">${escapeXml(s.name)}</text>`)
    x += 24 + s.name.length * 7
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
