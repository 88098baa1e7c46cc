import { PeerDeadline } from './deadline'

/** What {@link watchDownload} needs to tell the peer's faults from the client's. */
export interface DownloadWatch {
  /** `proxy.timeout`: how long the peer may stay silent while the client waits for the next chunk; 0 for no limit. */
  readonly timeout: number
  /** Aborts the upstream exchange (the peer went silent). */
  readonly abort: (reason: Error) => void
  /** Whether the client left (its signal aborted): a body cut then is the client's doing. */
  readonly clientGone: () => boolean
  /** The peer cut its response body (closed, reset, broke the framing, or went silent): `peer-cut-response`. */
  readonly peerCut: () => void
  /**
   * The body's length as the peer framed it (`Content-Length` of a body the runtime did not decode),
   * or `undefined`. Once that many bytes arrived the body is complete, whether or not the runtime
   * says so: workerd ends the body of an early answer (a 413 during an upload) only once the
   * upload is over, which, the upload being held, is never.
   */
  readonly length?: number | undefined
  /** Called once, when the body is over: relayed whole, cut by the peer, or given up by the client. */
  readonly finished?: ((how: DownloadEnd) => void) | undefined
}

/** How a relayed body ended. */
export type DownloadEnd = 'complete' | 'cut' | 'cancelled'

/**
 * The peer's response body as the client gets it, watched for the peer's faults after its head was
 * relayed (sticky-core's `peer-cut-response`): a body that fails is cut short for the client too, and
 * the peer blamed. The deadline runs only while the client waits for the next chunk (it pulled), so a
 * client that reads slowly never times out the peer, and a peer that trickles its body keeps a full
 * window per chunk. The high-water mark is 0: nothing is read ahead of the client.
 */
export function watchDownload(upstream: ReadableStream<Uint8Array>, watch: DownloadWatch): ReadableStream<Uint8Array> {
  const reader = upstream.getReader()
  let cancelled = false
  let delivered = 0
  let ended = false
  const end = (how: DownloadEnd): void => {
    if (ended) return
    ended = true
    watch.finished?.(how)
  }
  const deadline = new PeerDeadline(watch.timeout, () => watch.abort(new Error('sticky-fetch: the peer went silent mid-body')))
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (watch.length === 0) {
          cancelled = true
          end('complete')
          controller.close()
          return reader.cancel().catch(() => undefined)
        }
        deadline.arm()
        let read: ReadableStreamReadResult<Uint8Array>
        try {
          read = await reader.read()
        } catch (error) {
          deadline.stop()
          if (cancelled) return
          const byClient = watch.clientGone()
          if (!byClient) watch.peerCut()
          end(byClient ? 'cancelled' : 'cut')
          controller.error(error)
          return
        }
        if (read.done) {
          deadline.stop()
          end('complete')
          controller.close()
          return
        }
        deadline.suspend()
        controller.enqueue(read.value)
        delivered += read.value.byteLength
        if (watch.length !== undefined && delivered >= watch.length) {
          deadline.stop()
          cancelled = true
          end('complete')
          controller.close()
          reader.cancel().catch(() => undefined)
        }
      },
      cancel(reason) {
        // The client stopped reading: its doing, not the peer's. The upstream body is released too.
        cancelled = true
        deadline.stop()
        end('cancelled')
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}
