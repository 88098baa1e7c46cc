import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = resolve(__dirname, '..', '..', '..')
/** Package READMEs link absolutely (they are read on the registry's page): this is where they point. */
const REPOSITORY = 'https://github.com/sticky-lb/sticky/'

/** Every Markdown document a reader may follow links from. */
function documents(): string[] {
  const files = ['README.md', 'CONTRIBUTING.md'].map((f) => join(root, f)).filter((f) => existsSync(f))
  for (const name of readdirSync(join(root, 'docs'))) if (name.endsWith('.md')) files.push(join(root, 'docs', name))
  for (const name of readdirSync(join(root, 'packages'))) {
    const readme = join(root, 'packages', name, 'README.md')
    if (existsSync(readme)) files.push(readme)
  }
  return files
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')
}

function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  let fenced = false
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    const match = !fenced && /^#{1,6}\s+(.*)$/.exec(line)
    if (!match) continue
    const base = slug(match[1] ?? '')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

interface Link {
  readonly from: string
  readonly line: number
  readonly target: string
}

/** The inline links of `file`, outside code blocks and code spans. */
function linksOf(file: string): Link[] {
  const links: Link[] = []
  let fenced = false
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (/^\s*```/.test(line)) fenced = !fenced
      if (fenced) return
      const text = line.replace(/`[^`]*`/g, '')
      for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push({ from: file, line: index + 1, target: match[1] ?? '' })
    })
  return links
}

/** What is wrong with `link`, or undefined. External links other than the repository's are not fetched. */
function problem(link: Link): string | undefined {
  let target = link.target
  let base = dirname(link.from)
  if (target.startsWith(REPOSITORY)) {
    const path = target.slice(REPOSITORY.length).replace(/^(blob|tree)\/main\//, '')
    if (path === target.slice(REPOSITORY.length) && path !== '' && !path.startsWith('#') && !/^(issues|security)/.test(path))
      return 'not a blob or tree link of main'
    if (/^(issues|security)/.test(path)) return undefined
    target = path
    base = root
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return undefined
  }
  const [pathPart = '', anchor] = target.split('#')
  const file = pathPart === '' ? link.from : resolve(base, decodeURIComponent(pathPart))
  if (!file.startsWith(root)) return 'points outside the repository'
  if (!existsSync(file)) return `${relative(root, file)} does not exist`
  if (anchor !== undefined && anchor !== '' && file.endsWith('.md') && statSync(file).isFile()) {
    if (!anchorsOf(file).has(anchor)) return `${relative(root, file)} has no heading #${anchor}`
  }
  return undefined
}

const links = suite('documentation links')

links('should resolve every relative and repository link of README, CONTRIBUTING, docs and package READMEs to a file and heading', () => {
  const all = documents().flatMap(linksOf)
  assert.ok(all.length > 30, `only ${all.length} links found: is the scanner still reading the documents?`)
  const broken = all.flatMap((link) => {
    const why = problem(link)
    return why === undefined ? [] : [`${relative(root, link.from)}:${link.line} (${link.target}): ${why}`]
  })
  assert.equal(broken, [], `broken links:\n${broken.join('\n')}`)
})

links('should tell a broken link, a missing heading and a link out of the repository', () => {
  const from = join(root, 'README.md')
  assert.ok(problem({ from, line: 1, target: 'docs/no-such-file.md' }))
  assert.ok(problem({ from, line: 1, target: 'docs/how-it-works.md#no-such-heading' }))
  assert.ok(problem({ from, line: 1, target: '../outside.md' }))
  assert.ok(problem({ from, line: 1, target: `${REPOSITORY}blob/main/docs/nothing.md` }))
  assert.is(problem({ from, line: 1, target: 'docs/how-it-works.md' }), undefined)
  assert.is(problem({ from, line: 1, target: 'https://example.com/anything' }), undefined)
})

links('should build the API reference from the TSDoc (pnpm docs) without errors', () => {
  const out = mkdtempSync(join(tmpdir(), 'sticky-api-'))
  try {
    const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc')
    const run = spawnSync(process.execPath, [typedoc, '--options', 'typedoc.json', '--out', out], { cwd: root, encoding: 'utf8' })
    const output = `${run.stdout}\n${run.stderr}`
    assert.is(run.status, 0, output)
    assert.match(output, /Found 0 errors/)
    const index = readFileSync(join(out, 'index.html'), 'utf8')
    for (const name of ['sticky-core', 'sticky-node', 'sticky-fastify', 'sticky-fetch']) {
      assert.ok(index.includes(name), `the reference has no ${name}\n${output}`)
    }
    assert.ok(existsSync(join(out, 'functions')), 'no function pages')
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})

links.run()
