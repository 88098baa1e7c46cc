import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createStickyProxy, type StickyProxy, type StickyProxyOptions } from '../src/proxy'

/** A proxy listening on an ephemeral loopback port, and everything needed to stop it. */
export interface ListeningProxy {
  readonly proxy: StickyProxy
  readonly server: Server
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Closes the server, every connection it holds, and the proxy's pools. */
  close(): Promise<void>
}

/** Starts `createStickyProxy(options)` on a real `http.createServer`, upgrades included. */
export async function listenProxy(options: StickyProxyOptions): Promise<ListeningProxy> {
  const proxy = createStickyProxy(options)
  const server = createServer(proxy)
  server.on('upgrade', proxy.upgrade)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    proxy,
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      proxy.close()
      await closed
    },
  }
}
