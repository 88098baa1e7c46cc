import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyFetch } from '../src/index'
import { clientRequest, deadAddress, onRequestHead, pinnedTo, rawPeer, scriptedBody, signalled } from './_client'
import { closeAfterEach, echoBackend, listen, readBody, resettingBackend } from './_servers'
import type { Echo } from './_servers'

/** How the handler acts on sticky-core's verdicts: credit, blame, the retry budget, replayable bodies. */
const test = suite('createStickyFetch: attempts judged by sticky-core')
const started = closeAfterEach(test)

test("should credit a peer that answers: a probe's success clears its failures", async () => {
  let failing = true
  const peer = await started(
    listen((req, res) => {
      if (failing) req.socket.destroy()
      else res.end('back')
    }),
  )
  const other = await started(echoBackend('other'))
  let now = 0
  const handler = createStickyFetch({
    peers: [{ address: peer.address, maxFails: 1, failTimeout: 1_000 }, other.address],
    now: () => now,
    proxy: { retries: 0 },
  })
  const cookie = pinnedTo(handler, peer)
  assert.is((await handler(clientRequest('/', { headers: { cookie } }))).status, 502, 'the reset is blamed')
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned', 'one failure takes the peer out')

  now = 2_000
  failing = false
  const probe = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(await probe.text(), 'back', 'after failTimeout the pinned client probes the peer')
  // Without the credit the probe leaves the peer out for another failTimeout.
  assert.is(handler.balancer.decide(cookie).outcome, 'hit', 'the success was reported: the peer is back at once')
})

test('should try every peer once by default (sticky-core attemptBudget)', async () => {
  const broken = await Promise.all([0, 1, 2, 3].map(() => started(resettingBackend())))
  const handler = createStickyFetch({ peers: broken.map((b) => b.address) })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 502)
  assert.equal(
    broken.map((b) => b.connections()),
    [1, 1, 1, 1],
    'each peer once, none twice',
  )
})

test('should reach the one live peer behind three dead ones by default', async () => {
  const broken = await Promise.all([0, 1, 2].map(() => started(resettingBackend())))
  const live = await started(echoBackend('live'))
  const handler = createStickyFetch({ peers: [...broken.map((b) => b.address), live.address] })
  const response = await handler(clientRequest('/', { headers: { cookie: pinnedTo(handler, broken[0] as { address: string }) } }))
  assert.is(response.status, 200)
  assert.is(((await response.json()) as Echo).name, 'live')
})

test('should follow the budget of the peers configured when the request comes (setPeers)', async () => {
  const broken = await Promise.all([0, 1, 2].map(() => started(resettingBackend())))
  const handler = createStickyFetch({ peers: [broken[0]?.address ?? ''] })
  handler.balancer.setPeers(broken.map((b) => b.address))
  assert.is((await handler(clientRequest('/'))).status, 502)
  assert.equal(
    broken.map((b) => b.connections()),
    [1, 1, 1],
  )
})

test('should send an idempotent request on when no byte of its body has left the client yet', async () => {
  // The first peer refuses the connection while the client has not sent a byte of its body.
  const dead = await deadAddress()
  const connected = signalled('a connection to the second peer')
  const second = await started(
    listen(
      async (req, res) => res.end(`${req.method} ${await readBody(req)}`),
      () => connected.signal(),
    ),
  )
  const handler = createStickyFetch({ peers: [dead, second.address] })
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'PUT', headers: { cookie: pinnedTo(handler, { address: dead }) }, body: body.stream, duplex: 'half' }))
  await connected.done
  body.send('late ')
  body.send('body')
  body.end()
  const response = await answer
  assert.is(await response.text(), 'PUT late body', 'the whole body reached the second peer, from one reader')
  assert.is(handler.balancer.decide(pinnedTo(handler, { address: dead })).outcome, 'repinned', 'the refusing peer is blamed')
})

test('should not send a request on once a chunk of its body went to a peer', async () => {
  const chunkIn = signalled('the first chunk reaching the peer')
  const first = await started(
    rawPeer((socket) => {
      let received = ''
      socket.on('data', (data: Buffer) => {
        received += data.toString('latin1')
        if (received.includes('first')) chunkIn.signal()
      })
    }),
  )
  const second = await started(echoBackend('second'))
  const handler = createStickyFetch({ peers: [first.address, second.address], proxy: { timeout: 0 } })
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'PUT', headers: { cookie: pinnedTo(handler, first) }, body: body.stream, duplex: 'half' }))
  body.send('first')
  await chunkIn.done
  await first.close()
  const response = await answer
  assert.is(response.status, 502)
  assert.is(second.connections(), 0, 'a body that was partly sent is never sent again')
  // A close while the upload was under way is most often a peer refusing what the client sent: not counted.
  assert.is(handler.balancer.decide(pinnedTo(handler, first)).outcome, 'hit', 'the close during the upload is not counted against the peer')
})

test('should never send a POST to another peer, and blame the peer that failed it', async () => {
  const broken = await started(resettingBackend())
  const live = await started(echoBackend('live'))
  const handler = createStickyFetch({ peers: [broken.address, live.address] })
  const cookie = pinnedTo(handler, broken)
  const response = await handler(clientRequest('/', { method: 'POST', headers: { cookie } }))
  assert.is(response.status, 502)
  assert.is(live.connections(), 0)
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned')
})

test('should answer 502 without trying another peer when the peer answers something that is not HTTP', async () => {
  const garbage = await started(rawPeer((socket) => onRequestHead(socket, () => socket.end('garbage\r\n\r\n'))))
  const live = await started(echoBackend('live'))
  const handler = createStickyFetch({ peers: [garbage.address, live.address] })
  const cookie = pinnedTo(handler, garbage)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(response.status, 502)
  assert.is(live.connections(), 0, "a protocol error is the peer's answer, not a failed connection (Node's fetch tells)")
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned', 'the peer is blamed')
})

test.run()
