import autocannon from 'autocannon'
import { percentile } from './stats'

const SAMPLE_MS = 100

/** What one load run measured. */
export interface Load {
  /** Completed requests per second over the whole run. */
  readonly requestsPerSecond: number
  /** Milliseconds, of 2xx responses. */
  readonly p50: number
  /** Milliseconds, of 2xx responses. */
  readonly p99: number
  readonly completed: number
  /** Errors, timeouts and non-2xx responses together: any of them makes the run suspect. */
  readonly failures: number
}

/**
 * Closed-loop load on `GET <url>` from `connections` keep-alive connections for `seconds`.
 * Latencies are taken from autocannon's per-response events rather than its histogram, which rounds
 * to whole milliseconds: too coarse for a loopback hop.
 */
export async function load(url: string, connections: number, seconds: number, headers: Record<string, string> = {}): Promise<Load> {
  let latencies = new Float64Array(1 << 16)
  let count = 0
  // autocannon stops on its first sample after the duration: sample often so that runs end on time.
  const instance = autocannon({ url, connections, duration: seconds, sampleInt: SAMPLE_MS, pipelining: 1, headers, timeout: 10 })
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode > 299) return
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[count++] = responseTime
  })
  const result = await instance
  const measured = latencies.subarray(0, count)
  return {
    requestsPerSecond: result.requests.total / result.duration,
    p50: count === 0 ? Number.NaN : percentile(measured, 50),
    p99: count === 0 ? Number.NaN : percentile(measured, 99),
    completed: result.requests.total,
    failures: result.errors + result.timeouts + result.non2xx,
  }
}
