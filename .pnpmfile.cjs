// Hooks pnpm runs in this workspace.
//
// beforePacking: the manifest `pnpm pack` and `pnpm publish` ship has no devDependencies. They mean
// nothing to whoever installs a published package, and here they name private workspace packages
// (sticky-conformance) that are not on the registry.
module.exports = {
  hooks: {
    beforePacking(manifest) {
      delete manifest.devDependencies
      return manifest
    },
  },
}
