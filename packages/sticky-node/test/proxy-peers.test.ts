import { Agent } from 'node:http'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listenProxy } from './_server'
import { fetchOnce, httpUpstream, until } from './_upstream'

/** A peer that keeps idle connections open for long, so that only the proxy can close them. */
async function patientPeer(name: string, delayMs = 0): Promise<Awaited<ReturnType<typeof httpUpstream>>> {
  const up = await httpUpstream((req, res) => {
    req.resume()
    setTimeout(() => res.end(name), delayMs)
  })
  up.server.keepAliveTimeout = 60_000
  return up
}

const removed = suite('createStickyProxy: peers removed by setPeers')

removed('should close the pooled connections of a removed peer and keep the others', () =>
  withScope(async (scope) => {
    const a = scope.defer(await patientPeer('a'), (u) => u.close())
    const b = scope.defer(await patientPeer('b'), (u) => u.close())
    // A long idle timeout: the connections may only close because the peer was removed.
    const proxy = scope.defer(await listenProxy({ peers: [a.address, b.address], proxy: { agent: () => ({ timeout: 60_000 }) } }), (p) => p.close())
    const balancer = proxy.proxy.balancer
    const cookieFor = (address: string): string => {
      const peer = balancer.peers.find((p) => p.id === address)
      if (peer === undefined) throw new Error(`${address} not configured`)
      return `route=${balancer.cookieValue(peer)}`
    }
    const toA = cookieFor(a.address)
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: toA } })).body.toString(), 'a')
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: cookieFor(b.address) } })).body.toString(), 'b')
    assert.is(b.sockets.size, 1)

    balancer.setPeers([a.address])
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: toA } })).body.toString(), 'a')
    await until(() => b.sockets.size === 0, 'the removed peer to lose its pooled connection')
    assert.is(a.sockets.size, 1, 'the remaining peer keeps its pooled connection')
    assert.is(a.connections, 1)
  }),
)

removed('should let a request in flight to a removed peer finish, then close its connection', () =>
  withScope(async (scope) => {
    const a = scope.defer(await patientPeer('a'), (u) => u.close())
    const b = scope.defer(await patientPeer('b', 200), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [a.address, b.address], proxy: { agent: () => ({ timeout: 60_000 }) } }), (p) => p.close())
    const balancer = proxy.proxy.balancer
    const peerB = balancer.peers.find((p) => p.id === b.address)
    if (peerB === undefined) throw new Error('peers not configured')
    const inFlight = fetchOnce(proxy.url, { headers: { cookie: `route=${balancer.cookieValue(peerB)}` } })
    await until(() => b.sockets.size === 1, 'the request to reach the peer')
    balancer.setPeers([a.address])
    assert.is((await fetchOnce(proxy.url)).body.toString(), 'a')
    const answer = await inFlight
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'b')
    await until(() => b.sockets.size === 0, 'the removed peer to lose its pooled connection')
  }),
)

removed('should forget, not destroy, an agent the agent option returned', () =>
  withScope(async (scope) => {
    const a = scope.defer(await patientPeer('a'), (u) => u.close())
    const b = scope.defer(await patientPeer('b'), (u) => u.close())
    const agent = scope.defer(new Agent({ keepAlive: true }), (x) => x.destroy())
    const asked: string[] = []
    const proxy = scope.defer(await listenProxy({ peers: [a.address, b.address], proxy: { agent: (peer) => (asked.push(peer.id), agent) } }), (p) => p.close())
    const balancer = proxy.proxy.balancer
    const peerB = balancer.peers.find((p) => p.id === b.address)
    if (peerB === undefined) throw new Error('peers not configured')
    await fetchOnce(proxy.url, { headers: { cookie: `route=${balancer.cookieValue(peerB)}` } })
    balancer.setPeers([a.address])
    await fetchOnce(proxy.url)
    balancer.setPeers([a.address, b.address])
    await fetchOnce(proxy.url, { headers: { cookie: `route=${balancer.cookieValue(peerB)}` } })
    assert.equal(asked, [b.address, a.address, b.address], 'the removed peer is asked again once re-added')
    assert.is(b.connections, 1, 'the given agent kept its connection to the removed peer')
  }),
)

removed.run()
