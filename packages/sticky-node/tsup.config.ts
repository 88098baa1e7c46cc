import { defineConfig } from 'tsup'

// One build for both entries, so that the library and the command line share their chunks. The
// command line is only ever run as `dist/cli.js` (package.json `bin`): its declarations are not
// emitted, and its CommonJS build is left out of the package by `files`.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  target: 'es2022',
  sourcemap: true,
  removeNodeProtocol: false,
  // lazy-require.ts reads the module's own location in both formats (import.meta.url, __filename).
  shims: true,
})
