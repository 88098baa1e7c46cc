// What a packed package's files point at: the files its manifest and modules load, and the links of
// its README.
import { posix } from 'node:path'
import type { Manifest } from './_pack'

/** Every path a manifest names as something to load: `exports` targets, `main`, `module`, `types` and `bin`. */
export function manifestEntries(manifest: Manifest): string[] {
  const entries: string[] = []
  const walk = (value: unknown): void => {
    if (typeof value === 'string') entries.push(value)
    else if (value !== null && typeof value === 'object') for (const inner of Object.values(value)) walk(inner)
  }
  walk(manifest.exports)
  walk(manifest.main)
  walk(manifest.module)
  walk(manifest.types)
  walk(manifest.bin)
  return entries.map((entry) => posix.normalize(entry))
}

// `from './x'`, `import './x'`, `import('./x')`, `require('./x')`, and a source map comment.
const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g
const SOURCE_MAP = /^\/\/# sourceMappingURL=(?!data:)(\S+)\s*$/gm
const LOADABLE = /\.(?:c|m)?js$|\.d\.(?:c|m)?ts$/

/**
 * The packed files reachable from the manifest's entries, following relative imports of modules and
 * declarations and their source map comments. `read` returns a packed file's text.
 */
export function reachableFiles(manifest: Manifest, files: readonly string[], read: (path: string) => string): Set<string> {
  const packed = new Set(files)
  const reached = new Set<string>()
  const queue = manifestEntries(manifest).filter((entry) => packed.has(entry))
  while (queue.length > 0) {
    const file = queue.pop()!
    if (reached.has(file)) continue
    reached.add(file)
    if (!LOADABLE.test(file)) continue
    const text = read(file)
    const targets = [...text.matchAll(RELATIVE_SPECIFIER)].map((m) => m[1]!)
    targets.push(...[...text.matchAll(SOURCE_MAP)].map((m) => `./${m[1]!}`))
    for (const target of targets) {
      const path = posix.normalize(posix.join(posix.dirname(file), target))
      // A declaration's `./x.js` names `./x.d.ts`; an extensionless specifier may name any of these.
      const candidates = [path, `${path}.js`, `${path}.cjs`, `${path}.d.ts`, `${path}.d.cts`, path.replace(/\.(c|m)?js$/, '.d.$1ts')]
      for (const candidate of candidates) if (packed.has(candidate) && !reached.has(candidate)) queue.push(candidate)
    }
  }
  return reached
}

/** The link targets of a Markdown text: inline links and images, reference definitions, and HTML `href`/`src`. */
export function markdownLinks(text: string): string[] {
  const withoutCode = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
  const links: string[] = []
  for (const m of withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push(m[1]!)
  for (const m of withoutCode.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) links.push(m[1]!)
  for (const m of withoutCode.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)) links.push(m[1]!)
  return links
}

/** Whether a link works wherever the README is shown: an absolute URL, or an anchor within the page. */
export function isAbsoluteLink(link: string): boolean {
  return /^(?:https?:\/\/|mailto:|#)/.test(link)
}
