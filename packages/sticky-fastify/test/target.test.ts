import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Peer } from 'sticky-core'
import { gatewayCode, StickyGatewayError } from '../src/gateway-error'
import { targetUrl } from '../src/target'
import { checkProperty } from './_seed'

const target = suite('targetUrl')

function peer(target: Peer['target']): Peer {
  return { id: 'x', address: 'x', route: undefined, weight: 1, backup: false, down: false, drain: false, maxFails: 1, failTimeout: 10_000, target }
}

target('should join a TCP origin and the path, even a path that looks like a host', () => {
  const tcp = peer({ kind: 'tcp', protocol: 'http:', host: '127.0.0.1', port: 9001, origin: 'http://127.0.0.1:9001' })
  assert.is(targetUrl(tcp, '/a?b'), 'http://127.0.0.1:9001/a?b')
  const url = new URL(targetUrl(tcp, '//evil.example/x'))
  assert.is(url.host, '127.0.0.1:9001')
  assert.is(url.pathname, '//evil.example/x')
})

target("should address a unix socket in reply-from's unix+http form", () => {
  const unix = peer({ kind: 'unix', protocol: 'http:', socketPath: '/run/app.sock', origin: 'http://localhost' })
  assert.is(targetUrl(unix, '/x'), 'unix+http://%2Frun%2Fapp.sock/x')
})

target("should keep the peer's host for every path", () => {
  const tcp = peer({ kind: 'tcp', protocol: 'http:', host: '127.0.0.1', port: 8080, origin: 'http://127.0.0.1:8080' })
  const path = fc.array(fc.stringMatching(/^[a-zA-Z0-9._~@:-]{0,6}$/), { maxLength: 4 }).map((p) => `/${p.join('/')}`)
  checkProperty('targetUrl', path, (p) => {
    assert.is(new URL(targetUrl(tcp, p)).host, '127.0.0.1:8080')
  })
})

target.run()

const gateway = suite('StickyGatewayError')

gateway('should carry the status and code Fastify renders, and no peer address', () => {
  const cause = new Error('connect ECONNREFUSED 127.0.0.1:9001')
  const error = new StickyGatewayError(502, 'STICKY_UPSTREAM_FAILED', { cause })
  assert.instance(error, Error)
  assert.is(error.statusCode, 502)
  assert.is(error.code, 'STICKY_UPSTREAM_FAILED')
  assert.is(error.cause, cause)
  assert.not.match(error.message, /127\.0\.0\.1/)
})

gateway('should name a code for every error the core reports', () => {
  const errors = [undefined, 'connect', 'timeout', 'protocol', 'upstream-aborted', 'client-aborted', 'client-body'] as const
  const codes = errors.map((e) => gatewayCode(e))
  assert.equal(codes, [
    'STICKY_UPSTREAM_FAILED',
    'STICKY_UPSTREAM_FAILED',
    'STICKY_UPSTREAM_TIMEOUT',
    'STICKY_UPSTREAM_INVALID',
    'STICKY_UPSTREAM_INVALID',
    'STICKY_BAD_BODY',
    'STICKY_BAD_BODY',
  ])
})

gateway.run()
