import { formatBytes, formatCount, formatRatio } from './format'
import { startChild } from './ipc'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import type { Allocation } from './memory-probe'
import { ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'

const CALLS = 1_000_000
const QUICK_CALLS = 10_000
/** MiB per semi-space: one million calls allocating up to a few hundred bytes each fit without a scavenge. */
const SEMI_SPACE_MIB = 512

/**
 * Runs the allocation probe in a child process with a garbage collector to call and a young
 * generation large enough for `calls` calls of every case.
 */
export async function measureAllocations(calls: number): Promise<Allocation[]> {
  const flags = ['--expose-gc', `--max-semi-space-size=${SEMI_SPACE_MIB}`, `--min-semi-space-size=${SEMI_SPACE_MIB}`]
  const probe = await startChild(new URL('./memory-probe.ts', import.meta.url), [String(calls)], flags)
  await probe.close()
  return probe.ready as Allocation[]
}

/** Heap bytes allocated per `decide`, next to a loop that only parses the cookie and looks it up. */
export const memoryBench: BenchSubject = {
  name: 'memory',
  async run(options: BenchOptions): Promise<string> {
    const machine = describeMachine()
    const calls = options.quick ? QUICK_CALLS : CALLS
    const results = await measureAllocations(calls)
    for (const r of results) options.log(`  ${r.name}: ${r.bytesPerCall.toFixed(1)} B/call, ${r.collections} GC`)
    const base = results.find((r) => r.name.startsWith('baseline'))
    if (base === undefined) throw new Error('memory probe returned no baseline')
    const table = renderTable(
      [
        { header: 'loop body', align: 'left' },
        { header: 'heap bytes/call', align: 'right' },
        { header: '× baseline', align: 'right' },
        { header: 'GCs during loop', align: 'right' },
      ],
      results.map((r) => [r.name, formatBytes(r.bytesPerCall), formatRatio(ratio(tenths(r.bytesPerCall), tenths(base.bytesPerCall))), String(r.collections)]),
    )
    return renderSection({
      title: 'memory',
      machine,
      method:
        `Heap growth over ${formatCount(calls)} calls in a child process (\`--expose-gc\`, ${SEMI_SPACE_MIB} MiB semi-spaces so that ` +
        'no collection runs during a loop; two `gc()` before each), after 100 000 warm-up calls. Baseline: `parseCookie` ' +
        'plus `Map.get`, which allocates the cookie value it returns. A GC count above 0 makes that row a lower bound.',
      body: [table],
    })
  },
}

/** Bytes per call as printed (one decimal), so that the ratio matches the bytes shown beside it. */
function tenths(bytes: number): number {
  return Math.round(bytes * 10) / 10
}
