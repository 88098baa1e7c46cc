import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'

/** One fenced TypeScript block of a Markdown document. */
export interface CodeBlock {
  /** `README.md:24`: the document, relative to the repository root, and the line of the opening fence. */
  readonly where: string
  /** A file name for the generated module, unique per block. */
  readonly fileName: string
  readonly code: string
}

export const repositoryRoot: string = join(__dirname, '..', '..', '..')

/** The documents whose examples users copy: the root README, docs/, and every package's README and CLI reference. */
export function documents(): string[] {
  const files = [join(repositoryRoot, 'README.md')]
  const docs = join(repositoryRoot, 'docs')
  if (existsSync(docs)) {
    for (const name of readdirSync(docs).sort()) if (name.endsWith('.md')) files.push(join(docs, name))
  }
  const packages = join(repositoryRoot, 'packages')
  for (const name of readdirSync(packages).sort()) {
    for (const doc of ['README.md', 'CLI.md']) {
      const file = join(packages, name, doc)
      if (existsSync(file)) files.push(file)
    }
  }
  return files
}

const OPENING = /^```(ts|typescript)\s*$/
/** A block preceded by this comment is prose-only (it names types from runtimes we do not install). */
const UNCHECKED = '<!-- unchecked -->'

/** Every ```ts block of a document, except those marked unchecked. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const where = relative(repositoryRoot, file)
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!OPENING.test(lines[i]!)) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!)
    const previous = lines.slice(Math.max(0, start - 2), start).join('\n')
    if (previous.includes(UNCHECKED)) continue
    blocks.push({
      where: `${where}:${start + 1}`,
      fileName: `${where.replace(/[^A-Za-z0-9]+/g, '_')}_${start + 1}.ts`,
      code: body.join('\n'),
    })
  }
  return blocks
}

/** A block is run when it only needs the core: pure, no sockets, so it runs anywhere in milliseconds. */
export function isRunnable(block: CodeBlock): boolean {
  const imports = [...block.code.matchAll(/from '([^']+)'/g)].map((m) => m[1])
  return imports.length > 0 && imports.every((name) => name === 'sticky-core' || name === 'node:assert/strict')
}

/**
 * The output a block promises: for each `console.log(...) // text` line, the text. Comparing it with what
 * the block prints keeps the comments in the docs true.
 */
export function promisedOutput(block: CodeBlock): string[] {
  const promised: string[] = []
  for (const line of block.code.split('\n')) {
    const match = /console\.log\(.*\)\s*\/\/\s?(.*)$/.exec(line)
    if (match) promised.push(match[1]!.trimEnd())
  }
  return promised
}
