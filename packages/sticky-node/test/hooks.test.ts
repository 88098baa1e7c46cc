import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listenProxy } from './_server'
import { fetchOnce, httpUpstream, until } from './_upstream'

const hooks = suite('hooks (sticky-core callHook)')

// An unhandled rejection ends a Node process as a throw does: an async hook's must reach onError.
hooks('should hand the rejection of an async onResponse and onAttempt to onError, and keep serving', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await httpUpstream((_req, res) => res.end('fine')), (u) => u.close())
    const errors: unknown[] = []
    const proxy = scope.defer(
      await listenProxy({
        peers: [peer.address],
        onResponse: async () => {
          throw new Error('async access log')
        },
        onAttempt: async () => {
          throw new Error('async metrics')
        },
        onError: (error) => errors.push(error),
      }),
      (p) => p.close(),
    )
    for (let i = 0; i < 2; i += 1) assert.is((await fetchOnce(proxy.url)).status, 200)
    await until(() => errors.length === 4, 'four rejections handed to onError')
    assert.equal(errors.map(String).sort(), ['Error: async access log', 'Error: async access log', 'Error: async metrics', 'Error: async metrics'])
  }),
)

hooks.run()
