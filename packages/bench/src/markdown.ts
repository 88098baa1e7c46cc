/** How a column is aligned in a Markdown table. */
export type Alignment = 'left' | 'right'

/** A column of a Markdown table: its header and alignment. */
export interface Column {
  readonly header: string
  readonly align: Alignment
}

/**
 * A GitHub-flavoured Markdown table. A `|` in a cell is escaped (it would split the cell) and a line
 * break becomes a space (it would end the table); backslashes are left alone so that code spans keep
 * their text. A row shorter than the header is padded with empty cells.
 * @throws RangeError when a row has more cells than there are columns.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`
  const rule = columns.map((c) => (c.align === 'right' ? '---:' : '---'))
  const body = rows.map((row) => {
    if (row.length > columns.length) throw new RangeError(`a row of ${row.length} cells in a table of ${columns.length} columns`)
    return line([...row, ...Array.from({ length: columns.length - row.length }, () => '')])
  })
  return [line(columns.map((c) => c.header)), `| ${rule.join(' | ')} |`, ...body].join('\n')
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r\n|\r|\n/g, ' ')
}
