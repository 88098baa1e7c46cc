import { formatDuration, parseDuration } from './duration'
import { StickyConfigError } from './errors'
import type { PeerOptions } from './peers'

/**
 * Reads one peer written as nginx writes a `server` line of an `upstream` block, without the `server`
 * keyword and the semicolon: the address, then any of `weight=N`, `max_fails=N`, `fail_timeout=DURATION`,
 * `route=VALUE`, `backup`, `down`, `drain`, in any order, separated by whitespace. For example
 * `10.0.0.1:8080 weight=2 max_fails=3 fail_timeout=30s route=a backup`.
 *
 * It is the one reading of a peer line: sticky-fetch's `STICKY_PEERS` and the `sticky-proxy` config file
 * both use it, each naming its own source in errors. Only the syntax is checked here (numbers are integers,
 * durations parse); the address and the ranges are the balancer's to check, so that each rule lives once.
 *
 * @param line - the peer line (surrounding whitespace ignored)
 * @param option - what the line came from, named by the error (`STICKY_PEERS`, `routes[1].peers[0]`)
 * @returns the peer's options; `failTimeout` in milliseconds
 * @throws StickyConfigError naming `option` and the line, for an empty line, a missing address, an unknown
 * or repeated parameter, or a value that does not parse
 */
export function parsePeerLine(line: string, option: string): PeerOptions {
  const [address, ...params] = line.trim().split(/\s+/)
  const bad = (reason: string): StickyConfigError => new StickyConfigError(option, line, reason)
  if (address === undefined || address === '' || address.includes('=')) throw bad('each peer starts with its address')
  const peer: PeerOptions = { address }
  const seen = new Set<string>()
  for (const param of params) {
    const eq = param.indexOf('=')
    const key = eq === -1 ? param : param.slice(0, eq)
    const value = eq === -1 ? undefined : param.slice(eq + 1)
    // A repeated parameter is a typo or a merge gone wrong; nginx refuses it too ("duplicate").
    if (seen.has(key)) throw bad(`${key}${value === undefined ? '' : '='} given twice`)
    seen.add(key)
    if (value === undefined) {
      if (key === 'backup') peer.backup = true
      else if (key === 'down') peer.down = true
      else if (key === 'drain') peer.drain = true
      else throw bad(unknown(param))
    } else if (key === 'route') {
      if (value === '') throw bad('route= needs a value')
      peer.route = value
    } else if (key === 'weight' || key === 'max_fails') {
      if (!/^\d{1,9}$/.test(value)) throw bad(`${key}= expects a non-negative integer, got ${JSON.stringify(value)}`)
      if (key === 'weight') peer.weight = Number(value)
      else peer.maxFails = Number(value)
    } else if (key === 'fail_timeout') {
      peer.failTimeout = durationOf(value, bad)
    } else {
      throw bad(unknown(param))
    }
  }
  return peer
}

/**
 * Writes peer options as the line {@link parsePeerLine} reads back to the same options (`failTimeout`
 * as milliseconds): for generated configuration, and to show a peer in nginx's notation.
 *
 * @throws StickyConfigError naming `option` when a value has no notation in a line (an address or route
 * with whitespace or `=` at the start, a `failTimeout` that is not a duration)
 */
export function formatPeerLine(peer: PeerOptions, option = 'peer'): string {
  const bad = (reason: string): StickyConfigError => new StickyConfigError(option, peer, reason)
  if (peer.address === '' || /\s/.test(peer.address) || peer.address.includes('=')) throw bad('the address cannot be written in a peer line')
  const parts = [peer.address]
  if (peer.weight !== undefined) parts.push(`weight=${peer.weight}`)
  if (peer.maxFails !== undefined) parts.push(`max_fails=${peer.maxFails}`)
  if (peer.failTimeout !== undefined) {
    const ms = typeof peer.failTimeout === 'number' ? peer.failTimeout : durationOf(peer.failTimeout, bad)
    if (!Number.isSafeInteger(ms) || ms < 0) throw bad('failTimeout is not a duration')
    parts.push(`fail_timeout=${formatDuration(ms)}`)
  }
  if (peer.route !== undefined) {
    if (peer.route === '' || /\s/.test(peer.route)) throw bad('the route cannot be written in a peer line')
    parts.push(`route=${peer.route}`)
  }
  if (peer.backup === true) parts.push('backup')
  if (peer.down === true) parts.push('down')
  if (peer.drain === true) parts.push('drain')
  return parts.join(' ')
}

function durationOf(value: string, bad: (reason: string) => StickyConfigError): number {
  try {
    return parseDuration(value, 'fail_timeout')
  } catch (error) {
    if (error instanceof StickyConfigError) throw bad(`fail_timeout= expects a duration such as 10s, got ${JSON.stringify(value)}`)
    throw error
  }
}

function unknown(param: string): string {
  return `unknown parameter ${JSON.stringify(param)} (expected weight=, max_fails=, fail_timeout=, route=, backup, down or drain)`
}
