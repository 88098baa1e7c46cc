// What the reliability bench's raw records mean: who was pinned where when the backend died, who
// moved and why, how the proxy's RSS evolved. Pure functions of the fleet's records, so that the tests
// can feed them made-up runs.
import type { BackendChange, FleetResult, SessionRecord } from './reliability-fleet'
import { slopePerMinute, type RssSample } from './rss'

/** When the fault happened, in milliseconds since the fleet started. */
export interface FaultTimes {
  /** The backend killed (its index in the proxy's peer list). */
  readonly backend: number
  /** Just before SIGKILL was sent. */
  readonly killedAt: number
  /** When the new process was started. */
  readonly restartedAt: number
  /** When the new process listened on the same port again. */
  readonly listeningAt: number
  /** Processes started until one could listen on the port (more than 1: the port was briefly taken). */
  readonly restartTries: number
}

/** A backend change of one client, with the client. */
export interface ClientChange extends BackendChange {
  readonly client: number
}

/** What the load with a fault showed. */
export interface LoadAnalysis {
  /** Clients that completed at least one request. */
  readonly clients: number
  /** Clients per backend just before the kill (their latest backend then). */
  readonly pinnedAtKill: readonly number[]
  /** The clients on the killed backend at the kill. */
  readonly killedClients: number
  /** For the killed backend's clients: how many backend changes each made after the kill, as `[changes, clients]`, ascending. */
  readonly repins: ReadonlyArray<readonly [changes: number, clients: number]>
  /** Killed backend's clients that changed backend exactly once after the kill (target: all of them). */
  readonly repinnedOnce: number
  /** Where the killed backend's clients went first, per backend. */
  readonly movedTo: readonly number[]
  /** Milliseconds from the kill to each killed client's first response from its new backend: the largest and the median. */
  readonly repinDelay: { readonly max: number; readonly median: number } | undefined
  /** Changes that did not start on the killed backend after the kill: a client moved while its backend lived. */
  readonly strayChanges: readonly ClientChange[]
  /** Clients with at least one such change (target 0). */
  readonly strayClients: number
  /** Complete responses per second over the whole run. */
  readonly throughput: number
}

/** The backend a session was on just before `time`: that of its latest success before then, if any. */
export function backendAt(session: SessionRecord, time: number): number | undefined {
  if (session.first === undefined || session.firstAt >= time) return undefined
  let backend = session.first
  for (const change of session.changes) {
    if (change.at >= time) break
    backend = change.to
  }
  return backend
}

/** Reads a load run with a fault: see {@link LoadAnalysis}. `backends` is how many backends the proxy had. */
export function analyzeLoad(fleet: FleetResult, fault: FaultTimes, backends: number): LoadAnalysis {
  const pinnedAtKill = new Array<number>(backends).fill(0)
  const movedTo = new Array<number>(backends).fill(0)
  const repinCounts = new Map<number, number>()
  const delays: number[] = []
  const strayChanges: ClientChange[] = []
  const strayClients = new Set<number>()
  let clients = 0
  let killedClients = 0
  for (const session of fleet.sessions) {
    if (session.first !== undefined) clients += 1
    const atKill = backendAt(session, fault.killedAt)
    if (atKill !== undefined) pinnedAtKill[atKill]! += 1
    for (const change of session.changes) {
      const expected = change.from === fault.backend && change.at >= fault.killedAt
      if (!expected) {
        strayChanges.push({ ...change, client: session.client })
        strayClients.add(session.client)
      }
    }
    if (atKill !== fault.backend) continue
    killedClients += 1
    const after = session.changes.filter((c) => c.at >= fault.killedAt)
    repinCounts.set(after.length, (repinCounts.get(after.length) ?? 0) + 1)
    const first = after[0]
    if (first !== undefined) {
      movedTo[first.to]! += 1
      delays.push(first.at - fault.killedAt)
    }
  }
  delays.sort((a, b) => a - b)
  return {
    clients,
    pinnedAtKill,
    killedClients,
    repins: [...repinCounts].sort((a, b) => a[0] - b[0]),
    repinnedOnce: repinCounts.get(1) ?? 0,
    movedTo,
    repinDelay: delays.length === 0 ? undefined : { max: delays.at(-1)!, median: delays[delays.length >> 1]! },
    strayChanges,
    strayClients: strayClients.size,
    throughput: fleet.completed / (fleet.elapsedMs / 1000),
  }
}

/** What the soak showed about the proxy's RSS. */
export interface SoakAnalysis {
  /** The first sample at or after the warm-up. */
  readonly afterWarmup: RssSample | undefined
  /** The last sample. */
  readonly end: RssSample | undefined
  /** Extremes after the warm-up, bytes. */
  readonly min: number
  readonly max: number
  /** Least-squares slope after the warm-up, bytes per minute (target: flat). */
  readonly slope: number
  /** The same over the first and the second half of the time after the warm-up: a leak keeps its slope, a settling heap flattens. */
  readonly slopeFirstHalf: number
  readonly slopeSecondHalf: number
  /** Samples after the warm-up. */
  readonly measured: number
  /** Sessions that changed backend (no backend failed: target 0). */
  readonly strayClients: number
  readonly throughput: number
}

/** Reads a soak: see {@link SoakAnalysis}. */
export function analyzeSoak(fleet: FleetResult, samples: readonly RssSample[], warmupMs: number): SoakAnalysis {
  const after = samples.filter((s) => s.at >= warmupMs)
  const last = samples.at(-1)
  const middle = last === undefined ? warmupMs : (warmupMs + last.at) / 2
  return {
    afterWarmup: after[0],
    end: last,
    min: after.length === 0 ? Number.NaN : Math.min(...after.map((s) => s.rss)),
    max: after.length === 0 ? Number.NaN : Math.max(...after.map((s) => s.rss)),
    slope: slopePerMinute(after),
    slopeFirstHalf: slopePerMinute(after.filter((s) => s.at <= middle)),
    slopeSecondHalf: slopePerMinute(after.filter((s) => s.at >= middle)),
    measured: after.length,
    strayClients: fleet.sessions.filter((s) => s.changes.length > 0).length,
    throughput: fleet.completed / (fleet.elapsedMs / 1000),
  }
}

/** What the two proxies showed. */
export interface PairAnalysis {
  /** Sessions (browsers) that completed at least one request. */
  readonly clients: number
  /** Sessions that sent requests through both proxies and got an answer. */
  readonly throughBoth: number
  /** Sessions that saw two backends or more (target 0). */
  readonly sawTwoBackends: number
  /** Sessions whose pin cookie was set by each proxy. */
  readonly pinnedVia: readonly number[]
  readonly throughput: number
}

/** Reads a run through two proxies: see {@link PairAnalysis}. */
export function analyzePair(fleet: FleetResult): PairAnalysis {
  const answered = fleet.sessions.filter((s) => s.first !== undefined)
  const pinnedVia = fleet.perOrigin.map(() => 0)
  for (const s of answered) if (s.pinnedVia !== undefined) pinnedVia[s.pinnedVia]! += 1
  return {
    clients: answered.length,
    throughBoth: answered.filter((s) => s.perOrigin.every((n) => n > 0)).length,
    sawTwoBackends: answered.filter((s) => s.changes.length > 0).length,
    pinnedVia,
    throughput: fleet.completed / (fleet.elapsedMs / 1000),
  }
}

/** One target and whether the run met it. */
export interface Verdict {
  readonly measure: string
  readonly result: string
  readonly target: string
  readonly met: boolean
}

/** The soak's RSS counts as flat when its least-squares slope after the warm-up is at most this, bytes per minute. */
export const FLAT_RSS_SLOPE = 1024 * 1024
