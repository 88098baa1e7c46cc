// Placeholder: being written. The entry point will be:
//   export function runConformance(name: string, factory: AdapterFactory, capabilities?: Partial<Capabilities>): void
export type { AdapterFactory, AdapterOptions, Capabilities, RunningProxy } from './types'
