import { readdir, readFile } from 'node:fs/promises'
import { readRss } from './rss'

/** The fields of a `/proc/<pid>/stat` line the proxy comparison needs. */
export interface ProcStat {
  readonly pid: number
  readonly ppid: number
  /** User-mode CPU time in clock ticks. */
  readonly utime: number
  /** Kernel-mode CPU time in clock ticks. */
  readonly stime: number
}

/** Clock ticks per second of `/proc` times: the kernel's USER_HZ, 100 on every Linux architecture Node runs on. */
export const CLOCK_TICKS = 100

/**
 * Reads one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may itself hold
 * spaces and parentheses, so the fields are counted from its last closing parenthesis.
 * @throws RangeError for a line that is not a stat line.
 */
export function parseProcStat(line: string): ProcStat {
  const open = line.indexOf(' (')
  const close = line.lastIndexOf(')')
  if (open < 1 || close < open) throw new RangeError(`not a /proc/<pid>/stat line: ${JSON.stringify(line.slice(0, 80))}`)
  const pid = Number(line.slice(0, open))
  // After the name: state(3) ppid(4) ... utime(14) stime(15), so index 0 here is field 3.
  const rest = line
    .slice(close + 2)
    .trim()
    .split(/\s+/)
  const ppid = Number(rest[1])
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (![pid, ppid, utime, stime].every(Number.isSafeInteger)) throw new RangeError(`not a /proc/<pid>/stat line: ${JSON.stringify(line.slice(0, 80))}`)
  return { pid, ppid, utime, stime }
}

/** `root` and every process descending from it in `stats` (any order), root first. */
export function processTree(stats: readonly ProcStat[], root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>()
  for (const s of stats) {
    const list = children.get(s.ppid)
    if (list === undefined) children.set(s.ppid, [s])
    else list.push(s)
  }
  const tree: ProcStat[] = []
  const own = stats.find((s) => s.pid === root)
  if (own === undefined) return tree
  const queue = [own]
  const seen = new Set<number>()
  while (queue.length > 0) {
    const next = queue.shift()!
    if (seen.has(next.pid)) continue
    seen.add(next.pid)
    tree.push(next)
    queue.push(...(children.get(next.pid) ?? []))
  }
  return tree
}

/** CPU seconds (user + kernel) of a set of processes. */
export function cpuSeconds(stats: readonly ProcStat[]): number {
  let ticks = 0
  for (const s of stats) ticks += s.utime + s.stime
  return ticks / CLOCK_TICKS
}

async function readAllStats(): Promise<ProcStat[]> {
  const stats: ProcStat[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    // A process may end between the listing and the read: it is simply not part of any tree then.
    const line = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined)
    if (line !== undefined) stats.push(parseProcStat(line))
  }
  return stats
}

/** The live process tree of `pid` (a proxy's master and its workers or threads' process). */
export async function readTree(pid: number): Promise<ProcStat[]> {
  return processTree(await readAllStats(), pid)
}

/** CPU seconds used so far by `pid` and its descendants. */
export async function treeCpuSeconds(pid: number): Promise<number> {
  return cpuSeconds(await readTree(pid))
}

/** Resident set size of `pid` and its descendants, in bytes (shared pages counted once per process). */
export async function treeRss(pid: number): Promise<number> {
  let total = 0
  for (const s of await readTree(pid)) total += await readRss(s.pid).catch(() => 0)
  return total
}
