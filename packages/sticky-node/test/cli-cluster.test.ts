import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { get, startBackend, startCli } from './_cli-process'

const Cluster = suite('sticky-proxy --workers')

/** A port with nothing listening on it: a peer whose every connection is refused. */
async function deadAddress(): Promise<string> {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  const { port } = holder.address() as AddressInfo
  await new Promise<void>((resolve) => holder.close(() => resolve()))
  return `127.0.0.1:${port}`
}

function attemptsOn(metricsText: string, peer: string): number {
  let total = 0
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('sticky_upstream_attempts_total{') && line.includes(`peer="${peer}"`)) total += Number(line.split(' ').pop())
  }
  return total
}

Cluster('should honour in every worker a failure that one worker saw', async () => {
  const alive = await startBackend('alive')
  const dead = await deadAddress()
  const cli = await startCli(['--upstream', dead, '--upstream', alive.address, '--workers', '2', '--metrics', '127.0.0.1:0', '--quiet'])
  try {
    const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    // New clients until one was sent to the dead peer (and retried on the live one): one worker blamed it.
    let blamed = 0
    for (let i = 0; i < 20 && blamed === 0; i += 1) {
      assert.is((await get(cli.port, '/')).status, 200)
      blamed = attemptsOn((await get(metricsPort, '/metrics')).body, dead)
    }
    assert.is(blamed, 1)
    // Both workers (connections alternate between them) now send every new client to the live peer.
    for (let i = 0; i < 20; i += 1) assert.is((await get(cli.port, '/')).headers['x-backend'], 'alive')
    assert.is(attemptsOn((await get(metricsPort, '/metrics')).body, dead), 1)
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
  } finally {
    cli.kill()
    await alive.close()
  }
})

Cluster.run()
