// Reads the demo's tables back: which backend served each browser, and where it was re-pinned.
import * as assert from 'uvu/assert'

export interface DemoRow {
  readonly browser: number
  /** Backend letters in the order of the row's cells; `-` stands for "not pinned yet". */
  readonly backends: readonly string[]
  readonly repinned: boolean
  readonly newCookie: boolean
}

/** The demo's tables, in order: runs of lines that start with `browser N`. */
export function demoTables(output: string): DemoRow[][] {
  const tables: DemoRow[][] = []
  let current: DemoRow[] | undefined
  for (const line of output.split('\n')) {
    const match = /^\s+browser (\d+)\s+(.*)$/.exec(line)
    if (match === null) {
      current = undefined
      continue
    }
    if (current === undefined) {
      current = []
      tables.push(current)
    }
    const tokens = (match[2] ?? '').split(/\s+/)
    current.push({
      browser: Number(match[1]),
      backends: tokens.filter((token) => /^[A-Z]$|^-$/.test(token)),
      repinned: tokens.includes('re-pinned'),
      newCookie: tokens.includes('new'),
    })
  }
  return tables
}

/**
 * Checks what the demo claims to show: pinning, re-pinning of exactly the stopped backend's browsers, the
 * restarted backend left out during fail-timeout, and taking new browsers after it.
 */
export function assertDemoStory(output: string): void {
  const tables = demoTables(output)
  assert.is(tables.length, 4, `four tables in:\n${output}`)
  const [pinning = [], failover = [], resting = [], recovered = []] = tables

  assert.ok(pinning.length >= 3)
  const pinnedTo = new Map<number, string>()
  for (const row of pinning) {
    const [first, ...rest] = row.backends
    assert.ok(first !== undefined && rest.length > 0)
    assert.ok(
      rest.every((b) => b === first),
      `browser ${row.browser} stays pinned: ${row.backends.join(' ')}`,
    )
    assert.ok(row.newCookie)
    pinnedTo.set(row.browser, first)
  }
  assert.ok(new Set(pinnedTo.values()).size >= 3, 'new browsers are spread over the three backends')

  const servedAfterStop = new Set(failover.flatMap((row) => row.backends.slice(1)))
  const stopped = [...new Set(pinnedTo.values())].filter((b) => !servedAfterStop.has(b))
  assert.is(stopped.length, 1, `exactly one backend disappears after the stop: ${stopped.join(',')}`)
  const victim = stopped[0] ?? ''
  const movedTo = new Map<number, string>()
  for (const row of failover) {
    const [before, ...after] = row.backends
    assert.is(before, pinnedTo.get(row.browser))
    if (before === victim) {
      assert.ok(row.repinned, `browser ${row.browser} of the stopped backend is re-pinned`)
      assert.ok(
        after.every((b) => b !== victim && b === after[0]),
        `browser ${row.browser} moves once: ${after.join(' ')}`,
      )
      movedTo.set(row.browser, after[0] ?? '')
    } else {
      assert.not.ok(row.repinned, `browser ${row.browser} is not re-pinned`)
      assert.ok(
        after.every((b) => b === before),
        `browser ${row.browser} stays on ${String(before)}: ${after.join(' ')}`,
      )
    }
  }
  assert.ok(movedTo.size > 0, 'some browsers were pinned to the stopped backend')

  assert.ok(resting.length > 0)
  for (const row of resting) assert.ok(row.newCookie && !row.backends.includes(victim), `browser ${row.browser} avoids the resting backend`)

  let taken = 0
  for (const row of recovered) {
    const [before, ...after] = row.backends
    if (before === '-') {
      assert.ok(row.newCookie)
      if (after[0] === victim) taken += 1
    } else {
      const expected = movedTo.get(row.browser) ?? pinnedTo.get(row.browser)
      assert.ok(
        after.every((b) => b === expected),
        `browser ${row.browser} stays on ${String(expected)}: ${after.join(' ')}`,
      )
      assert.not.ok(row.repinned)
    }
  }
  assert.ok(taken > 0, 'the restarted backend takes new browsers after fail-timeout')
}
