import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { encodeResult, type Samples } from './_scenario'
import { CORE_PATH } from './_server'

/** The scenario as plain ECMAScript: types erased, nothing bundled, so the page runs the same statements as Node. */
export function scenarioScript(): string {
  const source = readFileSync(join(__dirname, '_scenario.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    fileName: '_scenario.ts',
  })
  // The page hands the core in; an import here would load something Node's run did not.
  if (/^\s*import\b/m.test(outputText)) throw new Error('the scenario must not import anything at runtime')
  // Inlined into a script element, whose content ends at the first `</script`.
  if (/<\/script/i.test(outputText)) throw new Error('the scenario must not contain "</script"')
  return outputText
}

/** Marks the text the page writes, so that a dump with anything else in the element is recognisably not a result. */
export const RESULT_PREFIX = 'RESULT '
/** Marks an exception thrown in the page. */
export const ERROR_PREFIX = 'ERROR '
/** The element's text until the module script runs. */
export const PENDING = 'PENDING'

/**
 * The test page: one module script that imports the built core, runs the scenario and writes its
 * result, or the error it threw, into `<pre id="out">` as ASCII JSON.
 */
export function renderPage(scenario: string, samples: Samples): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>sticky-core in the browser</title></head>
<body>
<pre id="out">${PENDING}</pre>
<script type="module">
import * as core from '${CORE_PATH}'
${scenario}
const out = document.getElementById('out')
try {
  const environment = { userAgent: navigator.userAgent, hasDocument: typeof document === 'object' }
  out.textContent = '${RESULT_PREFIX}' + encodeResult({ environment, result: runScenario(core, ${encodeResult(samples)}) })
} catch (error) {
  out.textContent = '${ERROR_PREFIX}' + encodeResult(error instanceof Error ? String(error.stack || error) : String(error))
}
</script>
</body>
</html>
`
}

/** Where the page ran: proves the result came from a browser. */
export interface PageEnvironment {
  readonly userAgent: string
  readonly hasDocument: boolean
}

/** What the page wrote, parsed. */
export type PageOutput =
  | { readonly kind: 'result'; readonly environment: PageEnvironment; readonly result: unknown }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'missing'; readonly text: string }

/** Reads `<pre id="out">` from a dumped DOM; never throws: anything but a well-formed result or error is `missing`. */
export function readPageOutput(html: string): PageOutput {
  const match = /<pre id="out">([^<]*)<\/pre>/.exec(html)
  const text = match?.[1] ?? ''
  const missing: PageOutput = { kind: 'missing', text: match === null ? html.slice(0, 500) : text.slice(0, 500) }
  try {
    if (text.startsWith(RESULT_PREFIX)) {
      const parsed: unknown = JSON.parse(text.slice(RESULT_PREFIX.length))
      if (typeof parsed !== 'object' || parsed === null || !('environment' in parsed) || !('result' in parsed)) return missing
      const { environment, result } = parsed as { environment: PageEnvironment; result: unknown }
      return { kind: 'result', environment, result }
    }
    if (text.startsWith(ERROR_PREFIX)) {
      const message: unknown = JSON.parse(text.slice(ERROR_PREFIX.length))
      return typeof message === 'string' ? { kind: 'error', message } : missing
    }
  } catch {
    // A truncated or garbled dump: report what was there.
  }
  return missing
}
