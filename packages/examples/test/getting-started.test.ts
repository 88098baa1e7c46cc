// docs/getting-started.md, run as a reader would: its backends.ts, its sticky-proxy command, proxy.ts,
// fastify.ts and the Worker's src/index.ts, each started from the text of the page (its ports swapped for
// free ones), then a browser's cookie jar checks that it is pinned. (docs.test.ts type-checks the same
// blocks.)
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { md5 } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { codeBlocks, repositoryRoot } from './_blocks'
import { Browser } from './_backends'

const page = join(repositoryRoot, 'docs', 'getting-started.md')
const packageDir = join(__dirname, '..')
/** Where the rewritten blocks are written: inside the package, so that they resolve its dependencies. */
const runDir = join(packageDir, 'generated-getting-started')

/** The TypeScript block whose first line is `// <file>`. */
function block(file: string): string {
  const found = codeBlocks(page).filter((b) => b.code.split('\n', 1)[0] === `// ${file}`)
  assert.is(found.length, 1, `docs/getting-started.md has one block starting "// ${file}"`)
  return found[0]!.code
}

/** The `npx sticky-proxy ...` line of the page's shell blocks. */
function cliLine(): string {
  const lines = readFileSync(page, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('npx sticky-proxy '))
  assert.is(lines.length, 1, 'docs/getting-started.md has one "npx sticky-proxy" line')
  return lines[0]!
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The page's ports, each replaced by a free one for this run. */
type Ports = Record<'9001' | '9002' | '8080' | '3000', number>

async function freePorts(): Promise<Ports> {
  return { '9001': await freePort(), '9002': await freePort(), '8080': await freePort(), '3000': await freePort() }
}

function withPorts(text: string, ports: Ports): string {
  return text.replace(/\b(9001|9002|8080|3000)\b/g, (port) => String(ports[port as keyof Ports]))
}

const children: ChildProcess[] = []

/** Starts `node` with `args` and resolves once its output has shown `lines` lines containing `listening`. */
function start(args: string[], lines: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let output = ''
    let seen = 0
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      seen = output.split('\n').filter((line) => line.includes('listening')).length
      if (seen >= lines) resolve(child)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before listening:\n${output}`)))
  })
}

/** Writes a block, its ports swapped, as a file of this package, and runs it with tsx. */
function run(file: string, ports: Ports, lines: number): Promise<ChildProcess> {
  const path = join(runDir, file.replace(/\//g, '_'))
  writeFileSync(path, withPorts(block(file), ports))
  return start(['--import', 'tsx', path], lines)
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGKILL')
        }),
    ),
  )
}

/**
 * Two browsers: the first goes to the backend on the page's 9001, the second to 9002 (round robin); each
 * cookie names its backend, and every later request of each reaches that backend.
 */
async function assertPinned(fetchFrom: (browser: Browser, path: string) => Promise<Response>, ports: Ports, seenPath: (path: string) => string): Promise<void> {
  const answer = async (browser: Browser, path: string): Promise<string> => {
    const response = await fetchFrom(browser, path)
    assert.is(response.status, 200)
    return response.text()
  }
  const alice = new Browser()
  const bob = new Browser()
  assert.is(await answer(alice, '/'), `backend ${ports['9001']} got GET ${seenPath('/')}\n`)
  assert.is(alice.cookies.get('route'), md5(`127.0.0.1:${ports['9001']}`))
  assert.is(await answer(bob, '/'), `backend ${ports['9002']} got GET ${seenPath('/')}\n`)
  assert.is(bob.cookies.get('route'), md5(`127.0.0.1:${ports['9002']}`))
  for (const [browser, port] of [
    [alice, ports['9001']],
    [bob, ports['9002']],
  ] as const) {
    for (const path of ['/cart', '/cart?item=1', '/checkout']) {
      assert.is(await answer(browser, path), `backend ${port} got GET ${seenPath(path)}\n`)
    }
  }
}

const Page = suite('docs/getting-started.md, run')

Page.before(() => {
  rmSync(runDir, { recursive: true, force: true })
  mkdirSync(runDir, { recursive: true })
})
Page.after.each(stopAll)
Page.after(() => rmSync(runDir, { recursive: true, force: true }))

Page('should pin a browser with the sticky-proxy command of the page', async () => {
  const ports = await freePorts()
  await run('backends.ts', ports, 2)
  // What `npx sticky-proxy` runs: the package's bin.
  const cli = join(packageDir, 'node_modules', 'sticky-node', 'dist', 'cli.js')
  const args = withPorts(cliLine(), ports).split(/\s+/).slice(2)
  await start([cli, ...args], 1)
  await assertPinned(
    (browser, path) => browser.fetch(`http://127.0.0.1:${ports['8080']}${path}`),
    ports,
    (path) => path,
  )
})

Page('should pin a browser with proxy.ts (sticky-node)', async () => {
  const ports = await freePorts()
  await run('backends.ts', ports, 2)
  await run('proxy.ts', ports, 1)
  await assertPinned(
    (browser, path) => browser.fetch(`http://127.0.0.1:${ports['8080']}${path}`),
    ports,
    (path) => path,
  )
})

Page('should pin a browser with fastify.ts (sticky-fastify), the prefix stripped', async () => {
  const ports = await freePorts()
  await run('backends.ts', ports, 2)
  await run('fastify.ts', ports, 1)
  const base = `http://127.0.0.1:${ports['3000']}`
  await assertPinned(
    (browser, path) => browser.fetch(`${base}/app${path}`),
    ports,
    (path) => path,
  )
  const health = await fetch(`${base}/health`)
  assert.equal(await health.json(), { ok: true })
  assert.is(health.headers.get('set-cookie'), null)
})

Page("should pin a browser with the Worker's src/index.ts (sticky-fetch, run under Node's fetch)", async () => {
  const ports = await freePorts()
  await run('backends.ts', ports, 2)
  const path = join(runDir, 'worker.ts')
  writeFileSync(path, withPorts(block('src/index.ts'), ports))
  const worker = (require(path) as { default: { fetch: (request: Request) => Promise<Response> } }).default
  // The Worker's own origin: what wrangler dev would serve it on.
  await assertPinned(
    (browser, p) => browser.fetch(`http://127.0.0.1:8787${p}`, {}, worker.fetch),
    ports,
    (p) => p,
  )
})

Page.run()
