/** Bytes per message block of MD5, SHA-1 and SHA-256. */
export const BLOCK_BYTES = 64

/**
 * The parts in which MD5, SHA-1 and SHA-256 differ; the padding, the length field and the block
 * walk they share live in {@link digest}.
 */
export interface BlockHash {
  /** Chaining value before the first block, as 32-bit words. Its length is the digest length in words. */
  readonly initial: Int32Array
  /** Words of message schedule the compression needs (16, 80 or 64). */
  readonly scheduleWords: number
  /** MD5 reads and writes words little-endian; the SHA family big-endian. */
  readonly littleEndian: boolean
  /**
   * Folds the 64-byte block at `offset` into `state`. `schedule` is scratch space reused for every
   * block of one message, so the walk allocates nothing per block. Words are read byte by byte:
   * a `DataView` per message would cost more than hashing a short one.
   */
  compress(state: Int32Array, schedule: Int32Array, bytes: Uint8Array, offset: number): void
}

/**
 * Hashes `message`, optionally preceded by `prefix`, without concatenating them: HMAC passes its
 * padded key there so the data is never copied.
 *
 * @param prefix - whole blocks only (its length a multiple of {@link BLOCK_BYTES}).
 */
export function digest(hash: BlockHash, message: Uint8Array, prefix?: Uint8Array): Uint8Array {
  const state = new Int32Array(hash.initial)
  const schedule = new Int32Array(hash.scheduleWords)
  if (prefix !== undefined) compressBlocks(hash, state, schedule, prefix, prefix.length)
  const whole = message.length - (message.length % BLOCK_BYTES)
  compressBlocks(hash, state, schedule, message, whole)

  const rest = message.length - whole
  // The 0x80 marker and the 8-byte length must fit after the rest, else they spill into a second block.
  const tail = new Uint8Array(rest < BLOCK_BYTES - 8 ? BLOCK_BYTES : 2 * BLOCK_BYTES)
  // A loop, not set(subarray()): the rest is under 64 bytes and a view object costs more than copying it.
  for (let i = 0; i < rest; i++) tail[i] = message[whole + i]!
  tail[rest] = 0x80
  writeBitLength(tail, tail.length - 8, (prefix?.length ?? 0) + message.length, hash.littleEndian)
  compressBlocks(hash, state, schedule, tail, tail.length)

  const out = new Uint8Array(state.length * 4)
  for (let i = 0; i < state.length; i++) writeWord(out, i * 4, state[i]!, hash.littleEndian)
  return out
}

/**
 * Writes the message length in bits as the 64-bit field that ends the padding (RFC 1321 section
 * 3.2, FIPS 180-4 section 5.1.1). The bit count passes 2^32 at 512 MiB, so the high word is derived
 * by division: a 32-bit shift of the byte count would silently drop it.
 */
export function writeBitLength(target: Uint8Array, offset: number, byteLength: number, littleEndian: boolean): void {
  const low = (byteLength * 8) >>> 0
  const high = Math.floor(byteLength / 0x20000000) >>> 0
  writeWord(target, offset, littleEndian ? low : high, littleEndian)
  writeWord(target, offset + 4, littleEndian ? high : low, littleEndian)
}

function compressBlocks(hash: BlockHash, state: Int32Array, schedule: Int32Array, bytes: Uint8Array, end: number): void {
  for (let offset = 0; offset < end; offset += BLOCK_BYTES) hash.compress(state, schedule, bytes, offset)
}

function writeWord(target: Uint8Array, offset: number, word: number, littleEndian: boolean): void {
  for (let i = 0; i < 4; i++) target[offset + (littleEndian ? i : 3 - i)] = word >>> (8 * i)
}
