// Every sticky-proxy config file the documentation shows (YAML or JSON code blocks of the READMEs and
// docs/, and the files under deploy/) is valid under the published JSON Schema and loads through
// loadServePlan, so that the docs cannot drift from what the command accepts.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import Ajv2020 from 'ajv/dist/2020'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isMap, parseAllDocuments } from 'yaml'
import { CliUsageError } from '../src/args'
import { loadServePlan, type ServePlan } from '../src/serve-plan'

const ROOT = join(__dirname, '..', '..', '..')
const SCHEMA_FILE = join(__dirname, '..', 'schema', 'sticky-proxy.schema.json')
const validateSchema = new Ajv2020({ strict: true, strictRequired: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')))
// What a config names by reference (hmac.keyFile/keyEnv, token.keysFile/keysEnv): good as an HMAC key and as token keys.
const SECRET = `a:${'k'.repeat(32)}\n`

interface Example {
  /** `docs/migration.md:120` */
  readonly where: string
  readonly text: string
}

/** A sticky-proxy config: a map with peers or routes at the top (a Kubernetes manifest or a package.json is not). */
function looksLikeConfig(text: string): boolean {
  const documents = parseAllDocuments(text)
  if (!Array.isArray(documents) || documents.length !== 1) return false
  const contents = documents[0]?.contents
  return isMap(contents) && (contents.has('peers') || contents.has('routes'))
}

/** The YAML and JSON code blocks of a Markdown file that are sticky-proxy configs. */
function markdownExamples(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const found: Example[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(yaml|yml|json|jsonc)\s*$/.exec(lines[i] ?? '')
    if (open === null) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end] ?? '')) end++
    const text = lines.slice(start, end).join('\n')
    if (looksLikeConfig(text)) found.push({ where: `${relative(ROOT, file)}:${start + 1}`, text })
    i = end
  }
  return found
}

/** deploy/: config files, and the configs a manifest carries (a ConfigMap's data). */
function deployExamples(): Example[] {
  const dir = join(ROOT, 'deploy')
  const found: Example[] = []
  for (const name of readdirSync(dir).filter((entry) => /\.(ya?ml|json)$/.test(entry))) {
    const file = join(dir, name)
    const text = readFileSync(file, 'utf8')
    if (looksLikeConfig(text)) {
      found.push({ where: relative(ROOT, file), text })
      continue
    }
    for (const document of parseAllDocuments(text)) {
      const data = (document.toJS() as { data?: Record<string, unknown> } | null)?.data
      for (const [key, value] of Object.entries(data ?? {})) {
        if (typeof value === 'string' && /\.(ya?ml|json)$/.test(key) && looksLikeConfig(value)) {
          found.push({ where: `${relative(ROOT, file)} (${key})`, text: value })
        }
      }
    }
  }
  return found
}

function markdownFiles(): string[] {
  const files = [join(ROOT, 'README.md'), join(ROOT, 'CONTRIBUTING.md')]
  for (const name of readdirSync(join(ROOT, 'docs'))) if (name.endsWith('.md')) files.push(join(ROOT, 'docs', name))
  for (const name of readdirSync(join(ROOT, 'packages'))) {
    const readme = join(ROOT, 'packages', name, 'README.md')
    try {
      readFileSync(readme)
      files.push(readme)
    } catch {
      // a package without a README
    }
  }
  return files
}

const EXAMPLES: Example[] = [...markdownFiles().flatMap(markdownExamples), ...deployExamples()]

function load(text: string, argv: readonly string[] = []): ServePlan {
  return loadServePlan(['--config', 'proxy.yaml', ...argv], {
    env: new Proxy({}, { get: () => SECRET }),
    readFile: (path) => Buffer.from(path === 'proxy.yaml' ? text : SECRET),
    cpus: () => 4,
  })
}

const Docs = suite('config examples of the documentation')

Docs('should find the examples of the sticky-node README, the migration guide and deploy/', () => {
  const places = new Set(EXAMPLES.map((example) => example.where.replace(/[:( ].*$/, '')))
  for (const place of ['packages/sticky-node/README.md', 'docs/migration.md', 'deploy/proxy.yaml', 'deploy/kubernetes.yaml']) {
    assert.ok(places.has(place), `no config example found in ${place} (found: ${[...places].join(', ')})`)
  }
})

for (const example of EXAMPLES) {
  Docs(`${example.where}: should be valid under the published schema`, () => {
    const documents = parseAllDocuments(example.text)
    const value = Array.isArray(documents) ? documents[0]?.toJS() : undefined
    const valid = validateSchema(value)
    assert.ok(valid, JSON.stringify(validateSchema.errors))
  })

  Docs(`${example.where}: should load, with every route's library options accepted`, () => {
    let plan: ServePlan
    try {
      plan = load(example.text)
    } catch (error) {
      if (error instanceof CliUsageError) assert.unreachable(`${example.where}: ${error.message}`)
      throw error
    }
    assert.ok(plan.routes.length > 0)
    for (const route of plan.routes) assert.ok(route.options.peers.length > 0, route.path)
  })

  if (/^\s*#/.test(example.text) || example.text.includes('$schema')) {
    Docs(`${example.where}: should name the schema the package ships, if it names one`, () => {
      const named = /\$schema=(\S+)/.exec(example.text)?.[1]
      if (named !== undefined) assert.match(named, /sticky-node\/schema\/sticky-proxy\.schema\.json$/)
    })
  }
}

Docs('the README error example should be what a misspelt parameter in its config example gives', () => {
  const readme = readFileSync(join(ROOT, 'packages', 'sticky-node', 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Config file'))
  const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1]
  const shown = /^sticky-proxy: (proxy\.yaml:\d+: .*wieght=2.*)$/m.exec(section)?.[1]
  assert.ok(example !== undefined && shown !== undefined, 'the Config file section lost its example or its error line')
  const misspelt = example.replace('weight=2', 'wieght=2')
  assert.is.not(misspelt, example)
  try {
    load(misspelt)
  } catch (error) {
    assert.instance(error, CliUsageError)
    assert.is((error as CliUsageError).message, shown)
    return
  }
  assert.unreachable('the misspelt example loaded')
})

Docs('flags should override the README example, route by route, as its Precedence paragraph says', () => {
  const readme = readFileSync(join(ROOT, 'packages', 'sticky-node', 'README.md'), 'utf8')
  const example = /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### Config file')))?.[1] ?? ''
  const plan = load(example, ['--log-format', 'text', '--timeout', '5s'])
  assert.is(plan.log.format, 'text')
  for (const route of plan.routes) assert.is(route.options.proxy?.timeout, 5_000)
  assert.is(load(example).routes[0]?.options.proxy?.timeout, '30s')
  assert.throws(
    () => load(example, ['--upstream', '127.0.0.1:9001']),
    (error: unknown) => error instanceof CliUsageError && error.flag === '--upstream',
  )
})

Docs.run()
