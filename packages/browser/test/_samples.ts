import fc from 'fast-check'
import type { Samples } from './_scenario'

/**
 * One seed per test run, printed so that a run can be replayed with `FC_SEED=<seed>`: the browser and
 * Node both compute over inputs drawn from it.
 */
export const seed: number =
  process.env.FC_SEED !== undefined && process.env.FC_SEED !== '' ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x100000000)) | 0

process.stdout.write(`fast-check seed ${seed} (replay with FC_SEED=${seed})\n`)

/** Any UTF-16 code unit sequence: whole code points, with lone surrogates mixed in. */
export const arbitraryText: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)) },
  ),
  maxLength: 80,
})

/** `Cookie` header candidates built from the characters that matter to a parser, and any others. */
export const arbitraryHeader: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(fc.constantFrom('route', 'r', '=', ';', ' ', '\t', '"', 'a', '1', ','), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 40,
})

/** `ip:port` peers: every IPv4 address, every non-zero port. */
export const arbitraryAddress: fc.Arbitrary<string> = fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `${ip}:${port}`)

/** The inputs both runs share, drawn from `seed`. */
export function drawSamples(runSeed: number): Samples {
  return {
    texts: fc.sample(arbitraryText, { seed: runSeed, numRuns: 100 }),
    bytes: fc.sample(fc.uint8Array({ maxLength: 200 }), { seed: runSeed + 1, numRuns: 50 }).map((bytes) => Array.from(bytes)),
    headers: fc.sample(arbitraryHeader, { seed: runSeed + 2, numRuns: 100 }),
    addresses: fc.sample(arbitraryAddress, { seed: runSeed + 3, numRuns: 50 }),
  }
}
