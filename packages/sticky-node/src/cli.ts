#!/usr/bin/env node
// The `sticky-proxy` command: parses the command line, then runs the proxy or the demo.
// Exit codes: 0 done, 1 runtime failure, 2 bad command line or configuration.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StickyConfigError } from 'sticky-core'
import { version } from '../package.json'
import { formatAccessLog } from './access-log'
import { CliUsageError, USAGE, balancerOptionsFrom, flagForOption, parseCommandLine, readHmacKey, readTokenKeys, type ServeConfig } from './args'
import { runDemo } from './demo'
import { createStickyProxy, type StickyProxy } from './proxy'

/** How long a shutdown waits for requests in flight before it cuts them. */
const SHUTDOWN_GRACE_MS = 10_000

const EXIT_FAILURE = 1
const EXIT_USAGE = 2

function out(line: string): void {
  process.stdout.write(`${line}\n`)
}

function fail(code: number, message: string): never {
  process.stderr.write(`sticky-proxy: ${message}\n`)
  process.exit(code)
}

function main(argv: readonly string[]): void {
  // A closed stdout (`sticky-proxy | head`) must not crash the proxy through an unhandled EPIPE.
  process.stdout.on('error', () => {})
  let command: ReturnType<typeof parseCommandLine>
  try {
    command = parseCommandLine(argv)
  } catch (error) {
    if (error instanceof CliUsageError) fail(EXIT_USAGE, error.message)
    throw error
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE)
      return
    case 'version':
      out(`sticky-proxy ${version}`)
      return
    case 'demo':
      runDemo(out).then(
        () => process.exit(0),
        (error: unknown) => fail(EXIT_FAILURE, `demo failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      return
    case 'serve':
      serve(command.config)
  }
}

function createProxy(config: ServeConfig): StickyProxy {
  let hmacKey: string | Uint8Array | undefined
  let tokenKeys: ReturnType<typeof readTokenKeys> | undefined
  try {
    const reader = { env: process.env, readFile: (path: string) => readFileSync(path) }
    hmacKey = config.hmac === undefined ? undefined : readHmacKey(config.hmac.key, reader)
    tokenKeys = config.token === undefined ? undefined : readTokenKeys(config.token.keys, reader)
  } catch (error) {
    if (error instanceof CliUsageError) fail(EXIT_USAGE, error.message)
    throw error
  }
  try {
    return createStickyProxy({
      ...balancerOptionsFrom(config, hmacKey, tokenKeys),
      proxy: {
        ...(config.timeout === undefined ? {} : { timeout: config.timeout }),
        ...(config.retries === undefined ? {} : { retries: config.retries }),
      },
      ...(config.quiet ? {} : { onResponse: (event) => out(formatAccessLog(event, new Date())) }),
    })
  } catch (error) {
    if (error instanceof StickyConfigError) {
      const flag = flagForOption(error.option)
      const message = error.message.replace(/^sticky: /, '')
      fail(EXIT_USAGE, flag === undefined ? message : `${flag}: ${message}`)
    }
    throw error
  }
}

function serve(config: ServeConfig): void {
  const proxy = createProxy(config)
  let inFlight = 0
  let stopping = false
  let graceTimer: NodeJS.Timeout | undefined

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1
    res.once('close', () => {
      inFlight -= 1
      if (stopping && inFlight === 0) finish()
    })
    // A request that arrives on a kept-alive connection during shutdown is served, then its connection
    // closed. Not through a header: a header set here would make node:http keep one value per name of
    // the peer's (one Set-Cookie of several).
    if (stopping) res.shouldKeepAlive = false
    proxy(req, res)
  })
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => proxy.upgrade(req, socket, head))

  function finish(): void {
    if (graceTimer !== undefined) clearTimeout(graceTimer)
    const cut = inFlight
    server.closeAllConnections()
    proxy.close()
    if (cut > 0) process.stderr.write(`sticky-proxy: grace period over, ${cut} request(s) cut\n`)
    process.exit(0)
  }

  function stop(signal: NodeJS.Signals): void {
    if (stopping) {
      // A second signal means "now": the operator does not want to wait for the grace period.
      server.closeAllConnections()
      proxy.close()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    stopping = true
    // Closed before the notice is written, so that whoever reads the notice finds the port closed.
    server.close()
    server.closeIdleConnections()
    process.stderr.write(`sticky-proxy: ${signal}: no new connections; waiting for ${inFlight} request(s) in flight\n`)
    if (inFlight === 0) {
      finish()
      return
    }
    graceTimer = setTimeout(finish, SHUTDOWN_GRACE_MS)
  }

  server.once('error', (error: NodeJS.ErrnoException) => {
    proxy.close()
    const where = `${config.listen.host}:${config.listen.port}`
    fail(EXIT_FAILURE, `cannot listen on ${where}: ${error.code ?? error.message}`)
  })
  server.listen(config.listen.port, config.listen.host, () => {
    const address = server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    const upstreams = proxy.balancer.peers.map((peer) => peer.id).join(', ')
    out(`sticky-proxy listening on http://${host}:${address.port} (upstreams: ${upstreams})`)
  })
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main(process.argv.slice(2))
