import { digest, BLOCK_BYTES } from './merkle-damgard'
import { SHA256 } from './sha256'

/** RFC 2104 section 2: `ipad` and `opad`, repeated over the block. */
const INNER_PAD = 0x36
const OUTER_PAD = 0x5c
/** Bytes of a SHA-256 digest. */
const DIGEST_BYTES = 32
/** The longest message that fits one block with SHA-256's padding: the 0x80 marker and the 8-byte length follow it. */
export const ONE_BLOCK_MESSAGE_BYTES: number = BLOCK_BYTES - 9

/**
 * An HMAC-SHA-256 key with its two padded key blocks already compressed (RFC 2104 section 4 suggests
 * exactly this precomputation). HMAC of a message that fits one block then costs two compressions, the
 * inner and the outer one, instead of four; with the scratch space held here, none of them allocates.
 *
 * Not safe for re-entrant use: the scratch space is shared by every call on this key. The core is
 * synchronous, so one call always finishes before the next starts.
 */
export interface HmacSha256Key {
  /** SHA-256 state after the block `key XOR ipad`. */
  readonly inner: Int32Array
  /** SHA-256 state after the block `key XOR opad`. */
  readonly outer: Int32Array
  /** The state being computed; after {@link macOneBlock} its first words are the MAC. */
  readonly state: Int32Array
  /** SHA-256 message schedule scratch. */
  readonly schedule: Int32Array
  /** The outer message block: the inner digest, then padding for a 64 + 32-byte message, preset. */
  readonly outerBlock: Uint8Array
}

/**
 * Precomputes an HMAC-SHA-256 key. A key longer than the block is hashed first and a shorter one
 * zero-padded, as RFC 2104 section 2 says, so the MACs equal `hmac('sha256', secret, message)`.
 */
export function hmacSha256Key(secret: Uint8Array): HmacSha256Key {
  const pad = new Uint8Array(BLOCK_BYTES)
  pad.set(secret.length > BLOCK_BYTES ? digest(SHA256, secret) : secret)
  const schedule = new Int32Array(SHA256.scheduleWords)
  const inner = new Int32Array(SHA256.initial)
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] = pad[i]! ^ INNER_PAD
  SHA256.compress(inner, schedule, pad, 0)
  const outer = new Int32Array(SHA256.initial)
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] = pad[i]! ^ (INNER_PAD ^ OUTER_PAD)
  SHA256.compress(outer, schedule, pad, 0)
  // The padded key is no longer needed: do not leave it lying in memory longer than necessary.
  pad.fill(0)
  const outerBlock = new Uint8Array(BLOCK_BYTES)
  finishBlock(outerBlock, DIGEST_BYTES)
  return { inner, outer, state: new Int32Array(8), schedule, outerBlock }
}

/**
 * Writes SHA-256's padding after a `messageLength`-byte message that starts a one-block message, the
 * key block before it counted in the length (FIPS 180-4 section 5.1.1). The caller writes the message
 * bytes themselves, once or on every use.
 */
export function finishBlock(block: Uint8Array, messageLength: number): void {
  if (messageLength > ONE_BLOCK_MESSAGE_BYTES) throw new RangeError(`${messageLength} bytes do not fit one block with padding`)
  block.fill(0, messageLength)
  block[messageLength] = 0x80
  const bits = (BLOCK_BYTES + messageLength) * 8
  block[BLOCK_BYTES - 2] = bits >>> 8
  block[BLOCK_BYTES - 1] = bits
}

/**
 * HMAC-SHA-256 of a one-block message: `block` holds the message and its padding (see
 * {@link finishBlock}). The MAC is left in `key.state` as eight big-endian words, so a caller that
 * compares it needs no byte array either. Two compressions, no allocation.
 */
export function macOneBlock(key: HmacSha256Key, block: Uint8Array): Int32Array {
  const { state, schedule, outerBlock } = key
  state.set(key.inner)
  SHA256.compress(state, schedule, block, 0)
  for (let i = 0; i < 8; i++) {
    const word = state[i]!
    outerBlock[i * 4] = word >>> 24
    outerBlock[i * 4 + 1] = word >>> 16
    outerBlock[i * 4 + 2] = word >>> 8
    outerBlock[i * 4 + 3] = word
  }
  state.set(key.outer)
  SHA256.compress(state, schedule, outerBlock, 0)
  return state
}
