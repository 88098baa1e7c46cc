/**
 * Lays out rows of text as aligned columns, for the demo's terminal output.
 *
 * Every column is as wide as its widest cell plus a gap of two spaces; trailing spaces are trimmed so that
 * copied output stays clean. Rows shorter than the header leave their last columns empty.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string[] {
  const all = [header, ...rows]
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)))
  return all.map((row) => (indent + header.map((_, column) => (row[column] ?? '').padEnd((widths[column] ?? 0) + 2)).join('')).trimEnd())
}
