// Packs a workspace package the way it would be published, and reads the tarball back.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import type { Package } from '@arethetypeswrong/core'
import { tools } from './_tools'

const run = promisify(execFile)

/** The workspace's `packages/` folder. */
export const PACKAGES_DIR: string = join(__dirname, '..', '..')

/** The fields of a manifest these checks read. */
export interface Manifest {
  name?: string
  version?: string
  private?: boolean
  type?: string
  main?: string
  module?: string
  types?: string
  sideEffects?: boolean | string[]
  engines?: Record<string, string>
  bin?: string | Record<string, string>
  exports?: unknown
  files?: string[]
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  keywords?: string[]
  homepage?: string
  bugs?: string | { url?: string; email?: string }
  repository?: string | { type?: string; url?: string; directory?: string }
  publishConfig?: Record<string, unknown>
}

/** The dependency fields whose ranges a published manifest carries (devDependencies are left out when packing). */
export const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const

/** One package as the registry would receive it. */
export interface Packed {
  /** Paths inside the package, as the packer reported them (`dist/index.js`, `package.json`). */
  readonly files: readonly string[]
  /** The `.tgz` bytes. */
  readonly tarball: Uint8Array
  /** The tarball unpacked in memory, as are-the-types-wrong sees it. */
  readonly contents: Package
  /** The packed `package.json`, which is not the one in the work tree. */
  readonly manifest: Manifest
}

/** Reads `packages/<dir>/package.json` from the work tree. */
export async function readSourceManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(PACKAGES_DIR, dir, 'package.json'), 'utf8')) as Manifest
}

/** Reads the workspace root's `package.json`. */
export async function readRootManifest(): Promise<Manifest> {
  return JSON.parse(await readFile(join(PACKAGES_DIR, '..', 'package.json'), 'utf8')) as Manifest
}

/** Name to manifest of every package in the workspace. */
export async function workspaceManifests(): Promise<Map<string, Manifest>> {
  const manifests = new Map<string, Manifest>()
  for (const entry of await readdir(PACKAGES_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const manifest = await readSourceManifest(entry.name).catch(() => undefined)
    if (manifest?.name !== undefined) manifests.set(manifest.name, manifest)
  }
  return manifests
}

/** Name to version of every package in the workspace: what `workspace:` ranges are replaced with. */
export async function workspaceVersions(): Promise<Map<string, string>> {
  const versions = new Map<string, string>()
  for (const [name, manifest] of await workspaceManifests()) {
    if (manifest.version !== undefined) versions.set(name, manifest.version)
  }
  return versions
}

/**
 * pnpm, not npm, packs: only pnpm rewrites `workspace:` ranges into the published manifest. Under
 * `pnpm run`, the pnpm that runs us is reused; run directly, the project's pinned pnpm.
 */
function pnpmCommand(): [string, string[]] {
  const execPath = process.env['npm_execpath']
  if (execPath !== undefined && basename(execPath).startsWith('pnpm')) return [process.execPath, [execPath]]
  return ['npx', ['--yes', 'pnpm@10.34.9']]
}

/** Reads a file from the in-memory tarball by its path inside the package. */
export function packedFile(packed: Packed, path: string): string {
  return packed.contents.readFile(`/node_modules/${packed.contents.packageName}/${path}`)
}

/** Packs `packages/<dir>` into a temporary folder, keeps the bytes, and removes the folder. */
export async function pack(dir: string): Promise<Packed> {
  const destination = await mkdtemp(join(tmpdir(), 'sticky-pack-'))
  try {
    const [command, prefix] = pnpmCommand()
    const { stdout } = await run(command, [...prefix, 'pack', '--json', '--pack-destination', destination], {
      cwd: join(PACKAGES_DIR, dir),
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    })
    const report = JSON.parse(stdout) as { filename: string; files: { path: string }[] }
    const tarball = new Uint8Array(await readFile(report.filename))
    const contents = (await tools()).attw.createPackageFromTarballData(tarball)
    const packed: Packed = { files: report.files.map((file) => file.path).sort(), tarball, contents, manifest: {} }
    return { ...packed, manifest: JSON.parse(packedFile(packed, 'package.json')) as Manifest }
  } finally {
    await rm(destination, { recursive: true, force: true })
  }
}
