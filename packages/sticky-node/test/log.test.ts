import { appendFileSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import pino from 'pino'
import { fastCheckSeed, type Scope, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { formatAccessLog } from '../src/access-log'
import { createRequestLog, type JsonDestination, type RequestLogFields } from '../src/log'
import type { ProxyResponseEvent } from '../src/proxy'
import { listenProxy } from './_server'
import { EventLog, fetchOnce, httpUpstream } from './_upstream'

const seed = fastCheckSeed('log.test')

/**
 * stdout as a file: the JSON destination appends to it and buffers until flushed (a `minLength` larger
 * than a test writes between flushes, so that what reaches the file is deterministic), and `write` (the text lines)
 * appends to it at once, as text on stdout does.
 */
function stdoutFile(scope: Scope) {
  const dir = scope.defer(mkdtempSync(join(tmpdir(), 'sticky-log-')), (d) => rmSync(d, { recursive: true, force: true }))
  const path = join(dir, 'stdout')
  appendFileSync(path, '')
  let destination: JsonDestination | undefined
  scope.defer(null, () => destination?.destroy())
  return {
    openJson: (): JsonDestination => {
      destination = pino.destination({ dest: openSync(path, 'a'), sync: false, minLength: 4096 })
      return destination
    },
    write: (line: string) => appendFileSync(path, line),
    lines: () =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
    json: () =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

function fields(overrides: Partial<RequestLogFields> = {}): RequestLogFields {
  return {
    method: 'GET',
    path: '/cart',
    outcome: 'hit',
    status: 200,
    peer: { id: '10.0.0.1:8080' },
    attempts: 1,
    durationMs: 2.4171234,
    error: undefined,
    upgrade: false,
    route: '/',
    ...overrides,
  }
}

const Log = suite('createRequestLog')

Log('should write a real onResponse event as one JSON object: no query, durationMs to the microsecond, the route', () =>
  withScope(async (scope) => {
    const up = scope.defer(await httpUpstream((_req, res) => res.end('ok')), (u) => u.close())
    const responses = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [up.address], onResponse: responses.push }), (p) => p.close())
    await fetchOnce(`${proxy.url}/cart?token=secret`, { headers: { cookie: 'session=secret' } })
    const [event] = await responses.first(1)
    const out = stdoutFile(scope)
    const log = createRequestLog({ format: 'json', quiet: false }, out.write, out.openJson)
    log.request({ ...event!, route: '/' })
    log.flush()
    const [line] = out.json()
    const { time, pid, ...rest } = line ?? {}
    assert.type(time, 'string')
    assert.is(pid, process.pid)
    assert.equal(rest, {
      level: 'info',
      method: 'GET',
      path: '/cart',
      status: 200,
      outcome: 'new',
      peer: up.address,
      attempts: 1,
      durationMs: Math.round(event!.durationMs * 1000) / 1000,
      route: '/',
      msg: 'request',
    })
    assert.not.match(JSON.stringify(line), /secret/)
  }),
)

Log('should round durationMs to three decimals in JSON', () =>
  withScope(async (scope) => {
    const out = stdoutFile(scope)
    const log = createRequestLog({ format: 'json', quiet: false }, out.write, out.openJson)
    log.request(fields({ durationMs: 2.4171234 }))
    log.flush()
    assert.is(out.json()[0]?.durationMs, 2.417)
    // Any duration: the logged value is the one rounded to the microsecond.
    const durations = fc.sample(fc.double({ min: 0, max: 1e7, noNaN: true }), { seed, numRuns: 40 })
    for (const durationMs of durations) {
      log.request(fields({ durationMs }))
      // Each line on its own: forty would pass the destination's minLength and start a write of their own.
      log.flush()
    }
    assert.equal(
      out
        .json()
        .slice(1)
        .map((line) => line.durationMs),
      durations.map((d) => Math.round(d * 1000) / 1000),
    )
  }),
)

Log('should write no access log when quiet, in text and in JSON, the notices still', () =>
  withScope(async (scope) => {
    const text = stdoutFile(scope)
    const quietText = createRequestLog({ format: 'text', quiet: true }, text.write, text.openJson)
    quietText.request(fields())
    quietText.notice('sticky-proxy listening')
    assert.equal(text.lines(), ['sticky-proxy listening'])

    const json = stdoutFile(scope)
    const quietJson = createRequestLog({ format: 'json', quiet: true }, json.write, json.openJson)
    quietJson.request(fields())
    quietJson.notice('sticky-proxy listening')
    quietJson.flush()
    assert.equal(
      json.json().map((line) => line.msg),
      ['sticky-proxy listening'],
    )

    // A reload that turns quiet on stops the lines; off again, they come back.
    const live = stdoutFile(scope)
    const log = createRequestLog({ format: 'text', quiet: false }, live.write, live.openJson)
    log.request(fields({ path: '/one' }))
    log.apply({ format: 'text', quiet: true })
    log.request(fields({ path: '/two' }))
    log.apply({ format: 'text', quiet: false })
    log.request(fields({ path: '/three' }))
    assert.equal(
      live.lines().map((line) => line.split(' ')[2]),
      ['/one', '/three'],
    )
  }),
)

Log('should write the buffered JSON lines at flush (the exit), in order', () =>
  withScope(async (scope) => {
    const out = stdoutFile(scope)
    const log = createRequestLog({ format: 'json', quiet: false }, out.write, out.openJson)
    for (const path of ['/a', '/b', '/c']) log.request(fields({ path }))
    assert.equal(out.lines(), [], 'the destination buffers')
    log.flush()
    assert.equal(
      out.json().map((line) => line.path),
      ['/a', '/b', '/c'],
    )
  }),
)

Log('should write the buffered JSON lines before the first text line when a reload switches to text', () =>
  withScope(async (scope) => {
    const out = stdoutFile(scope)
    const log = createRequestLog({ format: 'json', quiet: false }, out.write, out.openJson)
    log.request(fields({ path: '/json-1' }))
    log.request(fields({ path: '/json-2' }))
    log.apply({ format: 'text', quiet: false })
    log.request(fields({ path: '/text' }))
    const at = new Date()
    const lines = out.lines()
    assert.equal(
      lines.slice(0, 2).map((line) => (JSON.parse(line) as { path: string }).path),
      ['/json-1', '/json-2'],
    )
    assert.is(lines.length, 3)
    assert.is(lines[2]?.slice(24), formatAccessLog({ ...fields({ path: '/text' }), outcome: 'hit' }, at).slice(24))
  }),
)

Log.run()
