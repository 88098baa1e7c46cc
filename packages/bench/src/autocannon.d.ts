// The part of autocannon's API this package uses: it ships no type declarations.
declare module 'autocannon' {
  interface Options {
    url: string
    connections?: number
    /** Seconds. */
    duration?: number
    pipelining?: number
    method?: string
    headers?: Record<string, string>
    /** Milliseconds between samples; a run ends on the first sample after `duration`. */
    sampleInt?: number
    /** Seconds before a request counts as timed out. */
    timeout?: number
  }

  interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p99: number
  }

  interface Result {
    /** Seconds. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    '2xx': number
    /** Milliseconds. */
    latency: Histogram
    /** Per-second samples; `total` counts completed requests. */
    requests: Histogram & { sent: number }
    throughput: Histogram
  }

  /** A running load: a promise of its result, and an emitter of per-response events. */
  interface Instance extends PromiseLike<Result> {
    /** Every response; `responseTime` in milliseconds, with sub-millisecond precision. */
    on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this
  }

  function autocannon(options: Options): Instance
  export default autocannon
}
