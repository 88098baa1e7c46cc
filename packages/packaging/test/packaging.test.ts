// Checks each published package as npm would ship it: the packed tarball, not the work tree.
// The packages must be built first (the repository's test command builds before it tests).
import { sep } from 'node:path'
import type { ResolutionKind } from '@arethetypeswrong/core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { load } from './_exports'
import { isAbsoluteLink, markdownLinks, reachableFiles } from './_files'
import { tools } from './_tools'
import {
  DEPENDENCY_FIELDS,
  pack,
  packedFile,
  readRootManifest,
  readSourceManifest,
  workspaceManifests,
  workspaceVersions,
  type Manifest,
  type Packed,
} from './_pack'

interface Published {
  /** Folder under `packages/`, also the package name. */
  name: string
  /** Runtime exports the design names: present in both builds, whatever else is added. */
  contract: string[]
  /** Commands the package installs, and the file each runs. */
  bin: Record<string, string>
  /** Files outside dist/ the package ships on purpose (data for tools, like a JSON Schema). */
  data?: string[]
}

const PUBLISHED: Published[] = [
  {
    name: 'sticky-core',
    contract: ['createBalancer', 'StickyConfigError', 'md5', 'sha1', 'sha256', 'hmac', 'parseCookie', 'serializeCookie'],
    bin: {},
  },
  {
    name: 'sticky-node',
    contract: ['createStickyProxy'],
    bin: { 'sticky-proxy': 'dist/cli.js' },
    // The config file's schema, for editors (`# yaml-language-server: $schema=...`) and validators.
    data: ['schema/sticky-proxy.schema.json'],
  },
  // `fastify.register(stickyProxy)`: the plugin is both the default and a named export.
  { name: 'sticky-fastify', contract: ['default', 'stickyProxy'], bin: {} },
  { name: 'sticky-fetch', contract: ['createStickyFetch'], bin: {} },
]

// The root entry point per resolution mode: `types`/`main` for node10, the `require` and `import`
// conditions of `exports["."]` for the others.
const RESOLUTIONS: { kind: ResolutionKind; types: string; implementation: string }[] = [
  { kind: 'node10', types: 'dist/index.d.ts', implementation: 'dist/index.cjs' },
  { kind: 'node16-cjs', types: 'dist/index.d.cts', implementation: 'dist/index.cjs' },
  { kind: 'node16-esm', types: 'dist/index.d.ts', implementation: 'dist/index.js' },
  { kind: 'bundler', types: 'dist/index.d.ts', implementation: 'dist/index.js' },
]

const TOP_LEVEL_FILES = new Set(['package.json', 'README.md', 'LICENSE', 'LICENSE.md'])

// The four packs run at once (each spawns pnpm); every suite waits for its own.
let packing: Promise<Map<string, PromiseSettledResult<Packed>>> | undefined
async function packed(name: string): Promise<Packed> {
  packing ??= Promise.allSettled(PUBLISHED.map((p) => pack(p.name))).then((results) => new Map(PUBLISHED.map((p, i) => [p.name, results[i]!])))
  const result = (await packing).get(name)
  if (result === undefined) throw new Error(`${name} is not in the list of published packages`)
  if (result.status === 'rejected') throw result.reason
  return result.value
}

/** The repository's web address, from the root manifest's `repository` (`git+https://host/owner/name.git`). */
function repositoryWeb(root: Manifest): string {
  const url = typeof root.repository === 'string' ? root.repository : root.repository?.url
  if (url === undefined) throw new Error('the root package.json has no repository.url')
  return url.replace(/^git\+/, '').replace(/\.git$/, '')
}

/** `exports` without its `development` conditions: what the work tree's map must become once packed. */
function withoutDevelopment(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'development')
      .map(([key, inner]) => [key, withoutDevelopment(inner)]),
  )
}

/** What a `workspace:` range must become once packed (pnpm's rule). */
function publishedRange(range: string, version: string): string {
  const spec = range.slice('workspace:'.length)
  if (spec === '*') return version
  if (spec === '^' || spec === '~') return `${spec}${version}`
  return spec
}

for (const published of PUBLISHED) {
  const { name } = published
  const Package = suite(`${name} as packed`)
  let tarball: Packed | undefined
  const get = (): Packed => {
    if (tarball === undefined) throw new Error(`${name} was not packed`)
    return tarball
  }

  Package.before(async () => {
    tarball = await packed(name)
  })

  Package('should pack with a real version range wherever the work tree says workspace:', async () => {
    const source = await readSourceManifest(name)
    const versions = await workspaceVersions()
    const { manifest } = get()
    assert.is(manifest.name, name)
    assert.is(manifest.version, source.version)
    for (const field of DEPENDENCY_FIELDS) {
      for (const [dependency, range] of Object.entries(source[field] ?? {})) {
        const shipped = manifest[field]?.[dependency]
        assert.type(shipped, 'string', `${field}.${dependency} is missing from the packed manifest`)
        assert.not.match(shipped!, /^workspace:/, `${field}.${dependency} still says ${shipped}`)
        if (!range.startsWith('workspace:')) continue
        const version = versions.get(dependency)
        assert.type(version, 'string', `${dependency} is not a workspace package`)
        assert.is(shipped, publishedRange(range, version!), `${field}.${dependency}`)
      }
    }
  })

  Package('should list no devDependencies and no private workspace package in the packed manifest', async () => {
    const { manifest } = get()
    assert.is(manifest.devDependencies, undefined, `devDependencies shipped: ${JSON.stringify(manifest.devDependencies)}`)
    const manifests = await workspaceManifests()
    for (const field of DEPENDENCY_FIELDS) {
      for (const dependency of Object.keys(manifest[field] ?? {})) {
        assert.not.ok(manifests.get(dependency)?.private, `${field}.${dependency} is a private workspace package`)
      }
    }
  })

  Package('should say where it comes from: repository with its directory, homepage, bugs and keywords', async () => {
    const { manifest } = get()
    const root = await readRootManifest()
    const web = repositoryWeb(root)
    assert.equal(manifest.repository, { type: 'git', url: `git+${web}.git`, directory: `packages/${name}` })
    assert.is(manifest.homepage, `${web}/tree/main/packages/${name}#readme`)
    assert.equal(manifest.bugs, { url: `${web}/issues` })
    assert.ok(Array.isArray(manifest.keywords) && manifest.keywords.length > 0, 'no keywords')
    assert.ok(
      manifest.keywords!.every((keyword) => /^[a-z0-9][a-z0-9-]*$/.test(keyword)),
      `keywords: ${manifest.keywords!.join(', ')}`,
    )
  })

  Package('should link the README only to absolute URLs, the repository by its one address', async () => {
    const web = repositoryWeb(await readRootManifest())
    const links = markdownLinks(packedFile(get(), 'README.md'))
    const relative = links.filter((link) => !isAbsoluteLink(link))
    assert.equal(relative, [], `relative links break on the registry page: ${relative.join(', ')}`)
    const repositoryName = web.slice(web.lastIndexOf('/') + 1)
    const sameName = new RegExp(`^https://github\\.com/[^/]+/${repositoryName}(?:[/#]|$)`)
    const elsewhere = links.filter((link) => sameName.test(link) && !link.startsWith(`${web}/`))
    assert.equal(elsewhere, [], `links to the repository under another address: ${elsewhere.join(', ')}`)
  })

  Package('should ship no file that neither the manifest nor a shipped module loads', () => {
    const packedTarball = get()
    const reached = reachableFiles(packedTarball.manifest, packedTarball.files, (path) => packedFile(packedTarball, path))
    const unused = packedTarball.files.filter((file) => file.startsWith('dist/') && !reached.has(file))
    assert.equal(unused, [], `shipped but never loaded: ${unused.join(', ')}`)
  })

  Package('should ship the exports map of the work tree without its development condition', async () => {
    const source = await readSourceManifest(name)
    const { manifest } = get()
    assert.equal(manifest.exports, withoutDevelopment(source.exports))
    assert.not.equal(source.exports, manifest.exports, 'the work tree has no development condition for the tests to use')
    assert.not.match(JSON.stringify(manifest), /"\.\/src\//, 'the packed manifest points into src/')
  })

  Package('should pack only dist/**, package.json, README.md, a licence and the data files it names', () => {
    const { files, contents } = get()
    const data = published.data ?? []
    const outside = files.filter((file) => !file.startsWith('dist/') && !TOP_LEVEL_FILES.has(file) && !data.includes(file))
    assert.equal(outside, [], `files outside dist/: ${outside.join(', ')}`)
    for (const file of data) {
      assert.ok(files.includes(file), `${file} is not packed`)
      if (file.endsWith('.json')) JSON.parse(packedFile(get(), file))
    }
    for (const required of ['package.json', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      assert.ok(files.includes(required), `${required} is not packed`)
    }
    // The packer's report and the tarball itself must agree.
    const prefix = `/node_modules/${name}/`
    const inTarball = contents
      .listFiles()
      .map((file) => file.slice(prefix.length))
      .sort()
    assert.equal(inTarball, [...files])
  })

  Package('should ship ES modules without side effects for the Node versions the workspace root names', async () => {
    const { manifest } = get()
    const root = await readRootManifest()
    assert.is(manifest.type, 'module')
    assert.is(manifest.sideEffects, false)
    assert.match(manifest.engines?.['node'] ?? '', /^>=\s*20(\.\d+){0,2}$/)
    assert.is(manifest.engines?.['node'], root.engines?.['node'], 'engines.node differs from the root package.json')
    assert.is(manifest.private, undefined, 'a private package cannot be published')
  })

  Package('should install exactly the commands it documents, each starting with a node shebang', () => {
    const { manifest, files } = get()
    const bin = typeof manifest.bin === 'string' ? { [name]: manifest.bin } : (manifest.bin ?? {})
    const normalized = Object.fromEntries(Object.entries(bin).map(([command, file]) => [command, file.replace(/^\.\//, '')]))
    assert.equal(normalized, published.bin)
    for (const file of Object.values(normalized)) {
      assert.ok(files.includes(file), `${file} is not packed`)
      assert.ok(packedFile(get(), file).startsWith('#!/usr/bin/env node\n'), `${file} lacks #!/usr/bin/env node`)
    }
  })

  Package('should pass publint with no errors and no warnings', async () => {
    const packedTarball = get().tarball
    const { publint, publintUtils } = await tools()
    const { messages, pkg } = await publint.publint({ pack: { tarball: new Uint8Array(packedTarball).buffer }, level: 'suggestion' })
    const text = (type: string): string[] =>
      messages.filter((m) => m.type === type).map((m) => `${m.code}: ${publintUtils.formatMessage(m, pkg, { color: false }) ?? ''}`)
    for (const suggestion of text('suggestion')) console.log(`  publint suggestion for ${name}: ${suggestion}`)
    assert.equal(text('error'), [])
    assert.equal(text('warning'), [])
  })

  Package('should have no type problems under node10, node16 (CJS and ESM) and bundler resolution', async () => {
    const { attw, attwProblems } = await tools()
    const analysis = await attw.checkPackage(get().contents)
    if (analysis.types === false) return assert.unreachable(`${name} ships no types`)
    assert.is(analysis.types.kind, 'included')
    const problems = analysis.problems.map((p) => `${p.kind} (${attwProblems.problemKindInfo[p.kind].title}): ${JSON.stringify(p)}`)
    assert.equal(problems, [])
    assert.equal(Object.keys(analysis.entrypoints), ['.'], 'one "." export only')
    const root = analysis.entrypoints['.']!
    for (const { kind, types, implementation } of RESOLUTIONS) {
      const resolution = root.resolutions[kind]
      assert.is(resolution.resolution?.fileName, `/node_modules/${name}/${types}`, `${kind} types`)
      assert.is(resolution.implementationResolution?.fileName, `/node_modules/${name}/${implementation}`, `${kind} code`)
    }
  })

  if (name === 'sticky-core') {
    Package('should have no dependencies key at all', () => {
      assert.not.ok('dependencies' in get().manifest, 'sticky-core must have no dependencies key')
    })
  }

  Package('should export the same names from require() and import(), through the exports map', async () => {
    const [required, imported] = await Promise.all([load(name, name, 'require'), load(name, name, 'import')])
    assert.ok(required.file.endsWith(`${sep}dist${sep}index.cjs`), `require() loaded ${required.file}`)
    assert.ok(imported.file.endsWith(`${sep}dist${sep}index.js`), `import() loaded ${imported.file}`)
    assert.equal(required.exports, imported.exports)
    const names = imported.exports.map((shape) => shape.name)
    for (const contracted of published.contract) assert.ok(names.includes(contracted), `${contracted} is not exported`)
    assert.not.ok(names.includes('__esModule'), 'the CommonJS interop marker leaked into the exports')
  })

  Package.run()
}
