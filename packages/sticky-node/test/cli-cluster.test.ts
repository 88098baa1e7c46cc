import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CliProcess, get, type Reply, setCookieValue, startBackend, startCli } from './_cli-process'

const Cluster = suite('sticky-proxy --workers')

/** A port with nothing listening on it: a peer whose every connection is refused. */
async function deadAddress(): Promise<string> {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  const { port } = holder.address() as AddressInfo
  await new Promise<void>((resolve) => holder.close(() => resolve()))
  return `127.0.0.1:${port}`
}

/** Samples of `name` in Prometheus text whose labels include `peer="..."`, summed. */
function sampleOn(metricsText: string, name: string, peer: string): number {
  let total = 0
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(`peer="${peer}"`)) total += Number(line.split(' ').pop())
  }
  return total
}

/** One access-log line of the JSON log. */
interface Logged {
  readonly pid: number
  readonly path: string
  readonly peer: string | null
  readonly attempts: number
}

/**
 * Requests on fresh connections (so that node:cluster hands each to a worker of its choosing), each
 * on a path of its own, and the JSON log line of each: which worker (pid) answered, and how.
 */
function requester(cli: CliProcess & { port: number }): (headers?: Record<string, string>) => Promise<{ reply: Reply; line: Logged }> {
  let sent = 0
  return async (headers = {}) => {
    sent += 1
    const path = `/r/${sent}`
    const reply = await get(cli.port, path, headers)
    const match = await cli.waitFor(new RegExp(`^\\{.*"path":"${path}".*\\}$`, 'm'))
    return { reply, line: JSON.parse(match[0]) as Logged }
  }
}

/** A backend whose health path passes or fails as the test says, counting the checks it gets. */
async function checkedBackend(name: string): Promise<{ address: string; healthy: boolean; checks: number; close(): Promise<void> }> {
  const state = { healthy: true, checks: 0 }
  const server: Server = createHttpServer((req, res) => {
    if (req.url === '/healthz') {
      state.checks += 1
      res.writeHead(state.healthy ? 200 : 503).end()
      return
    }
    res.writeHead(200, { 'x-backend': name }).end(`hello from ${name}\n`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  })
}

/** Scrapes until `done` holds (at most `tries` scrapes, 50 ms apart); the last scrape's text. */
async function scrapeUntil(metricsPort: number, done: (text: string) => boolean, tries = 200): Promise<string> {
  let text = ''
  for (let i = 0; i < tries; i += 1) {
    text = (await get(metricsPort, '/metrics')).body
    if (done(text)) return text
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`condition not met after ${tries} scrapes:\n${text}`)
}

Cluster('should honour in the other worker a failure that one worker saw', async () => {
  const alive = await startBackend('alive')
  const dead = await deadAddress()
  // Declared before the start, so that the backends are closed even when the command does not start.
  let running: CliProcess | undefined
  try {
    const cli = await startCli(['--upstream', dead, '--upstream', alive.address, '--workers', '2', '--metrics', '127.0.0.1:0', '--log-format', 'json'])
    running = cli
    const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    const send = requester(cli)
    // New clients until one was sent to the dead peer and retried on the live one: that worker blamed it.
    let blamer: number | undefined
    for (let i = 0; i < 40 && blamer === undefined; i += 1) {
      const { reply, line } = await send()
      assert.is(reply.status, 200)
      if (line.attempts === 2) blamer = line.pid
    }
    if (blamer === undefined) throw new Error('no request was sent to the dead peer')
    // New clients until the other worker took at least 10 of them: none of them reached the dead peer.
    let other = 0
    for (let i = 0; i < 400 && other < 10; i += 1) {
      const { reply, line } = await send()
      assert.is(reply.headers['x-backend'], 'alive')
      assert.is(line.attempts, 1)
      if (line.pid !== blamer) other += 1
    }
    assert.is(other, 10)
    assert.is(sampleOn((await get(metricsPort, '/metrics')).body, 'sticky_upstream_attempts_total', dead), 1)
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
  } finally {
    running?.kill()
    await alive.close()
  }
})

Cluster('should check each peer once for all workers, and take a failing peer out of every worker and bring it back', async () => {
  const checked = await checkedBackend('checked')
  const steady = await startBackend('steady')
  const interval = 100
  const started = Date.now()
  // Declared before the start, so that the backends are closed even when the command does not start.
  let running: CliProcess | undefined
  try {
    const cli = await startCli([
      ...['--upstream', checked.address, '--upstream', steady.address, '--workers', '2', '--metrics', '127.0.0.1:0', '--log-format', 'json'],
      ...['--health-check', '/healthz', '--health-interval', `${interval}ms`, '--health-rises', '1', '--health-falls', '1'],
    ])
    running = cli
    const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    const send = requester(cli)
    const usable = (text: string): number => sampleOn(text, 'sticky_peer_usable', checked.address)
    /** New clients until each of the workers (by pid) answered at least `each`; what they answered. */
    const spread = async (each: number, pids: ReadonlySet<number> | undefined = undefined): Promise<Map<number, string[]>> => {
      const seen = new Map<number, string[]>()
      const enough = (): boolean =>
        (pids === undefined ? seen.size >= 2 : [...pids].every((pid) => seen.has(pid))) && [...seen.values()].every((peers) => peers.length >= each)
      for (let i = 0; i < 400 && !enough(); i += 1) {
        const { reply, line } = await send()
        assert.is(reply.status, 200, JSON.stringify(line))
        seen.set(line.pid, [...(seen.get(line.pid) ?? []), String(reply.headers['x-backend'])])
      }
      assert.ok(enough(), `workers answered: ${JSON.stringify([...seen])}`)
      return seen
    }

    // A client pinned to the checked peer.
    let pinned: string | undefined
    for (let i = 0; i < 10 && pinned === undefined; i += 1) {
      const { reply } = await send()
      if (reply.headers['x-backend'] === 'checked') pinned = setCookieValue(reply, 'route')
    }
    if (pinned === undefined) throw new Error('no client was sent to the checked peer')

    // Its health path fails: every worker takes it out (the aggregated gauge is the minimum over workers).
    checked.healthy = false
    await scrapeUntil(metricsPort, (text) => usable(text) === 0)
    for (const peers of (await spread(5)).values())
      assert.ok(
        peers.every((peer) => peer === 'steady'),
        peers.join(),
      )
    assert.is((await send({ cookie: `route=${pinned}` })).reply.headers['x-backend'], 'steady')

    // A worker started while it is down (a replacement after a crash) is told before it takes requests.
    const before = await spread(1)
    const [victim] = [...before.keys()]
    if (victim === undefined) throw new Error('no worker')
    process.kill(victim, 'SIGKILL')
    await cli.waitFor(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`), 'stderr')
    let replacement: number | undefined
    for (let i = 0; i < 400 && replacement === undefined; i += 1) {
      const { reply, line } = await send().catch(() => ({ reply: undefined, line: undefined }))
      if (line === undefined || before.has(line.pid)) continue
      replacement = line.pid
      assert.is(reply?.headers['x-backend'], 'steady')
    }
    if (replacement === undefined) throw new Error('the replacement worker took no request')
    const survivor = [...before.keys()].find((pid) => pid !== victim) ?? 0
    for (const peers of (await spread(3, new Set([replacement, survivor]))).values())
      assert.ok(
        peers.every((peer) => peer === 'steady'),
        peers.join(),
      )

    // It passes again: every worker sends new clients to it again (round robin over the two peers).
    checked.healthy = true
    await scrapeUntil(metricsPort, (text) => usable(text) === 1)
    for (const peers of (await spread(4)).values()) assert.ok(peers.includes('checked'), peers.join())

    // One check per interval for the two workers together (each interval at least 90 % of the set one,
    // so at most elapsed / 0.9 intervals, and 2 more at the edges); two checkers would have done twice that.
    while (checked.checks < 30) await new Promise((resolve) => setTimeout(resolve, interval))
    const checks = checked.checks
    const intervals = (Date.now() - started) / (0.9 * interval)
    assert.ok(checks <= intervals + 2, `${checks} checks in ${intervals.toFixed(1)} intervals`)

    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
  } finally {
    running?.kill()
    await checked.close()
    await steady.close()
  }
})

Cluster('should check a peer that SIGHUP added, once, for every worker', async () => {
  const steady = await startBackend('steady')
  const sick = await checkedBackend('sick')
  sick.healthy = false
  const dir = mkdtempSync(join(tmpdir(), 'sticky-cli-cluster-'))
  const config = join(dir, 'proxy.yaml')
  const write = (peers: readonly string[]): void =>
    writeFileSync(
      config,
      `peers: [${peers.join(', ')}]\nworkers: 2\nmetrics: 127.0.0.1:0\nlog:\n  format: json\nhealthCheck:\n  path: /healthz\n  interval: 100ms\n  rises: 1\n  falls: 1\n`,
    )
  write([steady.address])
  // Declared before the start, so that the backends are closed even when the command does not start.
  let running: CliProcess | undefined
  try {
    const cli = await startCli(['--config', config])
    running = cli
    const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    write([steady.address, sick.address])
    cli.child.kill('SIGHUP')
    // Both workers have the new peer, and both were told it fails its checks (the gauge is their minimum).
    const sickUsable = (text: string): string | undefined =>
      text
        .split('\n')
        .find((line) => line.startsWith('sticky_peer_usable{') && line.includes(`peer="${sick.address}"`))
        ?.split(' ')
        .pop()
    await scrapeUntil(metricsPort, (text) => sickUsable(text) === '0')
    assert.ok(sick.checks > 0)
    const send = requester(cli)
    const seen = new Map<number, number>()
    for (let i = 0; i < 400 && (seen.size < 2 || [...seen.values()].some((count) => count < 5)); i += 1) {
      const { reply, line } = await send()
      assert.is(reply.headers['x-backend'], 'steady', `status ${reply.status}, peer ${String(line.peer)}, worker ${line.pid}`)
      seen.set(line.pid, (seen.get(line.pid) ?? 0) + 1)
    }
    assert.is(seen.size, 2)
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
  } finally {
    running?.kill()
    await steady.close()
    await sick.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

Cluster('should start a replacement worker from the configuration in effect, not the file as it is now', async () => {
  const served = await startBackend('served')
  const other = await startBackend('other')
  const dir = mkdtempSync(join(tmpdir(), 'sticky-cli-cluster-'))
  const config = join(dir, 'proxy.yaml')
  writeFileSync(config, `peers: [${served.address}]\nworkers: 2\nlog:\n  format: json\n`)
  // Declared before the start, so that the backends are closed even when the command does not start.
  let running: CliProcess | undefined
  try {
    const cli = await startCli(['--config', config])
    running = cli
    const send = requester(cli)
    const before = new Set<number>()
    for (let i = 0; i < 400 && before.size < 2; i += 1) before.add((await send()).line.pid)
    const [victim] = [...before]
    if (victim === undefined) throw new Error('no worker')
    // Edited, not yet reloaded: first with other peers, then broken. A replacement once read it, and
    // served other peers than its sibling, or failed at start again and again (exit 2, restarted).
    writeFileSync(config, `peers: [${other.address}]\nworkers: 2\nlog:\n  format: json\n`)
    process.kill(victim, 'SIGKILL')
    await cli.waitFor(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`), 'stderr')
    writeFileSync(config, 'peers: [\n')
    let replacement: number | undefined
    for (let i = 0; i < 400 && replacement === undefined; i += 1) {
      const { reply, line } = await send().catch(() => ({ reply: undefined, line: undefined }))
      if (line === undefined || before.has(line.pid)) continue
      replacement = line.pid
      assert.is(reply?.headers['x-backend'], 'served')
    }
    assert.ok(replacement !== undefined, 'the replacement worker took requests')
    assert.not.match(cli.stderr(), /exited \(code/)
    // The broken file is refused on SIGHUP once, by the primary; both workers keep serving.
    cli.child.kill('SIGHUP')
    await cli.waitFor(/SIGHUP: .*keeping the running configuration/, 'stderr')
    for (let i = 0; i < 6; i += 1) assert.is((await send()).reply.headers['x-backend'], 'served')
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
  } finally {
    running?.kill()
    await served.close()
    await other.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

Cluster.run()
