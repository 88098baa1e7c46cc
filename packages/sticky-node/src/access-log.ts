import { pathOf, type Outcome } from 'sticky-core'

/**
 * The parts of a finished exchange that the access log shows: a subset of sticky-core's
 * `ExchangeEvent`, so the `onResponse` event of any sticky adapter can be passed as is.
 */
export interface AccessLogFields {
  readonly method: string
  /** The path without its query (`ExchangeEvent.path`); a query left in is dropped here too. */
  readonly path: string
  readonly outcome: Outcome
  readonly status: number
  readonly peer: { readonly id: string } | null
  readonly attempts: number
  readonly durationMs: number
  readonly error?: string | undefined
  readonly upgrade?: boolean | undefined
}

/**
 * One access log line, without the line break:
 * `2025-01-31T12:00:00.000Z GET /cart 200 hit 10.0.0.1:8080 attempts=1 12ms`
 * (time, method, path, status, outcome, peer id or `-`, attempts, duration; then `upgrade` and
 * `error=<reason>` when they apply).
 *
 * It never shows a cookie, a header or the query string: the sticky cookie and the query often carry
 * credentials. Bytes a terminal or a log parser could misread (controls, spaces, non-ASCII) are
 * percent-escaped, so one request is always exactly one line.
 */
export function formatAccessLog(fields: AccessLogFields, at: Date): string {
  const parts = [
    Number.isNaN(at.getTime()) ? '-' : at.toISOString(),
    printable(fields.method),
    printable(pathOf(fields.path)),
    String(fields.status),
    fields.outcome,
    fields.peer === null ? '-' : printable(fields.peer.id),
    `attempts=${fields.attempts}`,
    `${Math.max(0, Math.round(fields.durationMs))}ms`,
  ]
  if (fields.upgrade === true) parts.push('upgrade')
  if (fields.error !== undefined) parts.push(`error=${printable(fields.error)}`)
  return parts.join(' ')
}

/** The text with every byte outside visible ASCII percent-escaped; `-` for nothing, as in common log format. */
function printable(text: string): string {
  if (text === '') return '-'
  return text.replace(/[^\x21-\x7e]/g, (char) => {
    const code = char.charCodeAt(0)
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : `%u${code.toString(16).toUpperCase().padStart(4, '0')}`
  })
}
