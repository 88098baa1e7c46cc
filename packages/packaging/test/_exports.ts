// Loads a built package in a fresh Node process, through its own name and `exports` map, and
// describes what it exports, so that the CommonJS and ES module builds can be compared.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PACKAGES_DIR } from './_pack'

const run = promisify(execFile)

/** One export as seen from outside: its kind, its arity, and the export it is the same object as. */
export interface ExportShape {
  name: string
  type: string
  length: number | null
  sameAs: string | null
}

/** What a consumer got: the file the name resolved to and the exports' shapes. */
export interface Loaded {
  file: string
  exports: ExportShape[]
}

// Runs inside the child, so it is source text; it must read the same in both module systems.
const SHAPE = `(m) => {
  const names = Object.keys(m).sort()
  return names.map((name) => {
    const value = m[name]
    const first = names.find((other) => m[other] === value)
    return { name, type: typeof value, length: typeof value === 'function' ? value.length : null, sameAs: first === name ? null : first }
  })
}`

const REQUIRE = `const shape = ${SHAPE}
const name = process.argv[1]
process.stdout.write(JSON.stringify({ file: require.resolve(name), exports: shape(require(name)) }))`

const IMPORT = `import { fileURLToPath } from 'node:url'
const shape = ${SHAPE}
const name = process.argv[1]
const m = await import(name)
process.stdout.write(JSON.stringify({ file: fileURLToPath(import.meta.resolve(name)), exports: shape(m) }))`

/**
 * Loads package `name` from inside its own folder (Node resolves a package's own name through its
 * `exports`), with `require()` or `import()`. The child gets no NODE_OPTIONS so that no loader of
 * the test runner changes what a plain `node` would load.
 */
export async function load(dir: string, name: string, how: 'require' | 'import'): Promise<Loaded> {
  const args = how === 'require' ? ['-e', REQUIRE, name] : ['--input-type=module', '-e', IMPORT, name]
  const env = { ...process.env }
  delete env['NODE_OPTIONS']
  const { stdout } = await run(process.execPath, args, { cwd: join(PACKAGES_DIR, dir), env, encoding: 'utf8' })
  return JSON.parse(stdout) as Loaded
}
