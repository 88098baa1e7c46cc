import type { Logger } from 'pino'
import { type Outcome, pathOf } from 'sticky-core'
import { type AccessLogFields, formatAccessLog } from './access-log'
import { lazyRequire } from './lazy-require'

const pinoModule = lazyRequire<typeof import('pino').default>('pino')

/** How the access log is written: `--log-format` and `--quiet`. */
export interface LogSettings {
  readonly format: 'text' | 'json'
  readonly quiet: boolean
}

/** What one access-log entry is made of: the library's `onResponse` event, plus the route it took. */
export interface RequestLogFields extends Omit<AccessLogFields, 'outcome'> {
  /** sticky-core's `Outcome`, or `-` for a request no route took (the runner's 404). */
  readonly outcome: Outcome | '-'
  readonly requestId?: string | undefined
  /** The route prefix (`routes[].path`) that served the request. */
  readonly route?: string | undefined
}

/**
 * The command line's stdout: one access-log entry per request, and the start-up notice, as text or
 * as JSON lines (pino). Settings can change while running (SIGHUP); {@link RequestLog.flush} writes
 * what is buffered before the process exits, so a request that completed during shutdown keeps its line.
 */
export interface RequestLog {
  request(fields: RequestLogFields): void
  /** Whether request lines are written (not `--quiet`): a caller need not build one otherwise. */
  readonly enabled: boolean
  /** A line for the operator on stdout: in JSON mode an object with `msg`. */
  notice(message: string): void
  apply(settings: LogSettings): void
  flush(): void
}

/** Where JSON lines go: a pino destination (sonic-boom), asynchronous, with a synchronous flush. */
export type JsonDestination = ReturnType<typeof import('pino').destination>

/**
 * Writes to file descriptor 1 through `write` (text) or a pino destination (JSON), as the settings say.
 *
 * @param openJson opens the JSON destination, at the first JSON line (tests pass one on a file).
 */
export function createRequestLog(
  initial: LogSettings,
  write: (line: string) => void = (line) => process.stdout.write(line),
  openJson: () => JsonDestination = () => pinoModule().destination({ dest: 1, sync: false }),
): RequestLog {
  let settings = initial
  let json: { logger: Logger; flush: () => void } | undefined

  const jsonLogger = (): Logger => {
    if (json === undefined) {
      // Asynchronous writes (pino's fast path); flushSync before exit keeps the last lines.
      const destination = openJson()
      const pino = pinoModule()
      const logger = pino(
        {
          base: { pid: process.pid },
          timestamp: pino.stdTimeFunctions.isoTime,
          formatters: { level: (label) => ({ level: label }) },
        },
        destination,
      )
      json = {
        logger,
        flush: () => {
          try {
            destination.flushSync()
          } catch {
            // A closed stdout (EPIPE) or a destination not yet open: nothing more can be written.
          }
        },
      }
    }
    return json.logger
  }

  return {
    get enabled() {
      return !settings.quiet
    },
    request(fields) {
      if (settings.quiet) return
      if (settings.format === 'text') {
        // The text line prints the outcome as it is, `-` included.
        write(`${formatAccessLog(fields as AccessLogFields, new Date())}\n`)
        return
      }
      // Only these fields: never a header, a cookie or the query string.
      jsonLogger().info(
        {
          method: fields.method,
          path: pathOf(fields.path),
          status: fields.status,
          outcome: fields.outcome,
          peer: fields.peer === null ? null : fields.peer.id,
          attempts: fields.attempts,
          durationMs: Math.round(fields.durationMs * 1000) / 1000,
          ...(fields.requestId === undefined ? {} : { requestId: fields.requestId }),
          ...(fields.route === undefined ? {} : { route: fields.route }),
          ...(fields.error === undefined ? {} : { error: fields.error }),
          ...(fields.upgrade === true ? { upgrade: true } : {}),
        },
        'request',
      )
    },
    notice(message) {
      if (settings.format === 'text') write(`${message}\n`)
      else jsonLogger().info(message)
    },
    apply(next) {
      if (settings.format === 'json' && next.format === 'text') json?.flush()
      settings = next
    },
    flush() {
      json?.flush()
    },
  }
}
