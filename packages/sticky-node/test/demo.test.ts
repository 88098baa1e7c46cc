import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runDemo } from '../src/demo'
import { assertDemoStory, demoTables } from './_cli-demo'
import { runCli } from './_cli-process'

const Bin = suite('sticky-proxy demo')

Bin('should exit 0 after showing pinning, re-pinning and recovery', async () => {
  const { code, stdout, stderr } = await runCli(['demo'], {}, 60_000)
  assert.is(stderr, '')
  assert.is(code, 0)
  assertDemoStory(stdout)
})

Bin.run()

const RunDemo = suite('runDemo')

function openHandles(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind.startsWith('TCP') || kind === 'Timeout') counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return counts
}

RunDemo('should tell the story in-process and leave no server, socket or timer behind', async () => {
  const before = openHandles()
  const lines: string[] = []
  await runDemo((line) => lines.push(line), { failTimeout: 300 })
  assert.ok(lines.every((line) => !line.includes('\n')))
  assertDemoStory(lines.join('\n'))
  // Closed sockets leave the handle list on a later turn of the event loop.
  let after = openHandles()
  for (let turn = 0; turn < 50 && JSON.stringify([...after].sort()) !== JSON.stringify([...before].sort()); turn += 1) {
    await new Promise((resolve) => setImmediate(resolve))
    after = openHandles()
  }
  assert.equal(Object.fromEntries(after), Object.fromEntries(before))
})

RunDemo.run()

const DemoTables = suite('demoTables')

DemoTables('should read the browsers rows of each table', () => {
  const tables = demoTables(['x', '   request 1', '  browser 1  A  new cookie  A', '  browser 2  B  re-pinned', '', '  browser 3  -  C'].join('\n'))
  assert.equal(tables, [
    [
      { browser: 1, backends: ['A', 'A'], repinned: false, newCookie: true },
      { browser: 2, backends: ['B'], repinned: true, newCookie: false },
    ],
    [{ browser: 3, backends: ['-', 'C'], repinned: false, newCookie: false }],
  ])
})

DemoTables.run()
