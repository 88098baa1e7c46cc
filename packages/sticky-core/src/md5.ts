import type { BlockHash } from './merkle-damgard'

/** floor(abs(sin(i + 1)) * 2^32), RFC 1321 section 3.4; written out because `Math.sin` is not exact everywhere. */
const SINE_TABLE = Int32Array.from([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122,
  0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6,
  0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60,
  0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
  0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
])

/** Left-rotation amounts; each round repeats its four for all sixteen steps. */
const ROTATIONS = Uint8Array.from([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21])

/** MD5 (RFC 1321). */
export const MD5: BlockHash = {
  initial: Int32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]),
  scheduleWords: 16,
  littleEndian: true,
  compress(state, x, bytes, offset) {
    for (let i = 0, at = offset; i < 16; i++, at += 4) {
      x[i] = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)
    }
    let a = state[0]!
    let b = state[1]!
    let c = state[2]!
    let d = state[3]!
    // Four loops, one per round, so that no step branches on its round.
    for (let i = 0; i < 16; i++) {
      const sum = (a + ((b & c) | (~b & d)) + SINE_TABLE[i]! + x[i]!) | 0
      const s = ROTATIONS[i & 3]!
      a = d
      d = c
      c = b
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0
    }
    for (let i = 16; i < 32; i++) {
      const sum = (a + ((d & b) | (~d & c)) + SINE_TABLE[i]! + x[(5 * i + 1) & 15]!) | 0
      const s = ROTATIONS[4 | (i & 3)]!
      a = d
      d = c
      c = b
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0
    }
    for (let i = 32; i < 48; i++) {
      const sum = (a + (b ^ c ^ d) + SINE_TABLE[i]! + x[(3 * i + 5) & 15]!) | 0
      const s = ROTATIONS[8 | (i & 3)]!
      a = d
      d = c
      c = b
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0
    }
    for (let i = 48; i < 64; i++) {
      const sum = (a + (c ^ (b | ~d)) + SINE_TABLE[i]! + x[(7 * i) & 15]!) | 0
      const s = ROTATIONS[12 | (i & 3)]!
      a = d
      d = c
      c = b
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0
    }
    state[0] = state[0]! + a
    state[1] = state[1]! + b
    state[2] = state[2]! + c
    state[3] = state[3]! + d
  },
}
