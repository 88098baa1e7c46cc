/** The three parts of the reliability bench, in the order they run and appear on docs/reliability.md. */
export const RELIABILITY_PARTS = ['load', 'soak', 'pair'] as const

/** One part: `load` (load with a backend killed and restarted), `soak` (steady load, RSS) or `pair` (two proxies). */
export type ReliabilityPart = (typeof RELIABILITY_PARTS)[number]

/** How long and how hard each part pushes. Durations in milliseconds. */
export interface ReliabilityBudget {
  /** Concurrent keep-alive clients, each with its own cookie jar. */
  readonly clients: number
  /** Load with a fault: its length; a backend is killed at the middle. */
  readonly loadMs: number
  /** How long the killed backend stays down before it is started again. */
  readonly downMs: number
  /** The soak's length, warm-up included. */
  readonly soakMs: number
  /** The start of the soak that does not count for the RSS slope (heap growth, JIT, pools). */
  readonly warmupMs: number
  /** Two proxies: its length. */
  readonly pairMs: number
  /** How often the proxy's RSS is read during the soak. */
  readonly rssSampleMs: number
  /** Soak: a browser leaves after this many requests and a new one (no cookie, new connection) takes its place. */
  readonly soakSessionRequests: number
  /** Two proxies: a browser leaves after this many requests (alternating proxies), so new pins are made all along. */
  readonly pairSessionRequests: number
}

/** The budget `pnpm bench reliability` runs with: about seven minutes. */
export const FULL_RELIABILITY_BUDGET: ReliabilityBudget = {
  clients: 200,
  loadMs: 60_000,
  downMs: 3_000,
  soakMs: 300_000,
  warmupMs: 60_000,
  pairMs: 30_000,
  rssSampleMs: 1_000,
  soakSessionRequests: 100,
  pairSessionRequests: 50,
}

/** For `--quick`: proves the bench runs end to end; the numbers mean nothing. */
export const QUICK_RELIABILITY_BUDGET: ReliabilityBudget = {
  clients: 20,
  loadMs: 2_000,
  downMs: 500,
  soakMs: 2_000,
  warmupMs: 400,
  pairMs: 1_000,
  rssSampleMs: 100,
  soakSessionRequests: 10,
  pairSessionRequests: 6,
}

/** What `reliability` was asked to do. */
export interface ReliabilityRequest {
  /** The parts to run, in {@link RELIABILITY_PARTS} order (all of them when none was named). */
  readonly parts: readonly ReliabilityPart[]
  readonly budget: ReliabilityBudget
  /** `--quick`: tiny budgets; the numbers mean nothing. */
  readonly quick: boolean
  /** `--no-write`: print without rewriting docs/reliability.md. Implied by `--quick`. */
  readonly write: boolean
}

/** The environment variables read for a flag that is not given, e.g. `STICKY_RELIABILITY_LOAD=10s`. */
export const RELIABILITY_ENV: Readonly<Record<string, string>> = {
  '--load': 'STICKY_RELIABILITY_LOAD',
  '--down': 'STICKY_RELIABILITY_DOWN',
  '--soak': 'STICKY_RELIABILITY_SOAK',
  '--warmup': 'STICKY_RELIABILITY_WARMUP',
  '--pair': 'STICKY_RELIABILITY_PAIR',
  '--clients': 'STICKY_RELIABILITY_CLIENTS',
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/**
 * Milliseconds of a duration written `500ms`, `2s`, `5m`, `1h`, a combination from the largest unit
 * down (`1m30s`), or a bare number of seconds (`60`).
 * @throws RangeError for anything else, or a duration of zero.
 */
export function parseDuration(text: string): number {
  const bare = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) * 1_000 : undefined
  let ms = bare
  if (ms === undefined) {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/gy)]
    const consumed = parts.reduce((n, p) => n + p[0].length, 0)
    const order = parts.map((p) => UNITS[p[2]!]!)
    if (parts.length === 0 || consumed !== text.length || order.some((u, i) => i > 0 && u >= order[i - 1]!)) {
      throw new RangeError(`expected a duration like 60s, 5m, 500ms or 1m30s, got ${JSON.stringify(text)}`)
    }
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0)
  }
  if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`expected a positive duration, got ${JSON.stringify(text)}`)
  return Math.round(ms)
}

/**
 * Reads `reliability`'s arguments (the word `reliability` itself and a lone `--` are skipped): part
 * names (`load`, `soak`, `pair`), `--load D`, `--down D`, `--soak D`, `--warmup D`, `--pair D`,
 * `--clients N` (also as `--flag=value`), `--quick`, `--no-write`. A flag not given is read from its
 * environment variable ({@link RELIABILITY_ENV}), then from the full (or, with `--quick`, the quick)
 * budget. A soak shorter than the default warm-up gets a fifth of its length as warm-up, and a load
 * shorter than four times the default downtime a quarter of its length as downtime, unless given.
 * @throws RangeError naming the argument that is not understood.
 */
export function parseReliabilityArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ReliabilityRequest {
  const parts = new Set<ReliabilityPart>()
  const given = new Map<string, string>()
  let quick = false
  let write = true
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--' || arg === 'reliability') continue
    if (arg === '--quick') quick = true
    else if (arg === '--no-write') write = false
    else if ((RELIABILITY_PARTS as readonly string[]).includes(arg)) parts.add(arg as ReliabilityPart)
    else {
      const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
      if (!Object.hasOwn(RELIABILITY_ENV, flag)) {
        const flags = Object.keys(RELIABILITY_ENV).join(', ')
        throw new RangeError(`unknown argument ${JSON.stringify(arg)} for reliability: expected load, soak, pair, ${flags}, --quick or --no-write`)
      }
      const value = inline ?? args[++i]
      if (value === undefined) throw new RangeError(`${flag} needs a value`)
      given.set(flag, value)
    }
  }
  const base = quick ? QUICK_RELIABILITY_BUDGET : FULL_RELIABILITY_BUDGET
  const read = (flag: string): string | undefined => given.get(flag) ?? nonEmpty(env[RELIABILITY_ENV[flag]!])
  const duration = (flag: string): number | undefined => {
    const text = read(flag)
    if (text === undefined) return undefined
    try {
      return parseDuration(text)
    } catch (error) {
      throw new RangeError(`${flag}: ${(error as Error).message}`)
    }
  }
  const clientsText = read('--clients')
  const clients = clientsText === undefined ? base.clients : Number(clientsText)
  if (!Number.isSafeInteger(clients) || clients < 1)
    throw new RangeError(`--clients: expected a whole number of at least 1, got ${JSON.stringify(clientsText)}`)
  const loadMs = duration('--load') ?? base.loadMs
  const soakMs = duration('--soak') ?? base.soakMs
  const budget: ReliabilityBudget = {
    clients,
    loadMs,
    downMs: duration('--down') ?? Math.min(base.downMs, Math.round(loadMs / 4)),
    soakMs,
    warmupMs: duration('--warmup') ?? Math.min(base.warmupMs, Math.round(soakMs / 5)),
    pairMs: duration('--pair') ?? base.pairMs,
    rssSampleMs: base.rssSampleMs,
    soakSessionRequests: base.soakSessionRequests,
    pairSessionRequests: base.pairSessionRequests,
  }
  if (budget.downMs >= budget.loadMs / 2) {
    throw new RangeError(`--down (${budget.downMs} ms) must be shorter than half of --load (${budget.loadMs} ms): the backend is killed at the middle`)
  }
  if (budget.warmupMs >= budget.soakMs) throw new RangeError(`--warmup (${budget.warmupMs} ms) must be shorter than --soak (${budget.soakMs} ms)`)
  return { parts: RELIABILITY_PARTS.filter((p) => parts.size === 0 || parts.has(p)), budget, quick, write: write && !quick }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
