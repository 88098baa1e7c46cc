// Inputs shared by the micro benchmarks: peer lists and Cookie headers as browsers and attackers send them.

/** `n` distinct IPv4 peers, `10.a.b.c:8080`, in a stable order. */
export function peerAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`)
}

/**
 * A Cookie header as a browser sends it to a site with analytics and a session: the sticky cookie
 * sits among others, not first, so that the parser has to skip some pairs.
 */
export function typicalHeader(name: string, value: string): string {
  return [
    '_ga=GA1.2.1234567890.1700000000',
    '_gid=GA1.2.987654321.1700000000',
    'theme=dark',
    `${name}=${value}`,
    'session=3f2c1a9e7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c',
    'consent=%7B%22ads%22%3Afalse%7D',
  ].join('; ')
}

/** 64 KiB, the most a server would accept in one header: short pairs, the sticky cookie last. */
export function hugeHeader(name: string, value: string): string {
  return `${fill(64 * 1024 - name.length - value.length - 3, 'c', 'v')}; ${name}=${value}`
}

/** Hostile Cookie headers of about `bytes` characters that do not contain the sticky cookie. */
export function hostileHeaders(bytes: number): ReadonlyArray<readonly [label: string, header: string]> {
  return [
    [`${kib(bytes)} of short pairs`, fill(bytes, 'k', 'v')],
    [`${kib(bytes)} of semicolons`, ';'.repeat(bytes)],
    [`${kib(bytes)} of \`=\` without names`, '=;'.repeat(bytes >> 1)],
    [`one ${kib(bytes)} quoted value`, `big="${'x'.repeat(bytes - 6)}"`],
    [`${kib(bytes)} of percent-escapes`, fill(bytes, 'p', '%41%42')],
  ]
}

/** `prefix<i>=<value>` pairs joined by `; `, cut to exactly `bytes` characters. */
function fill(bytes: number, prefix: string, value: string): string {
  const parts: string[] = []
  // Length of the pairs joined so far, separators included.
  let length = -2
  for (let i = 0; length < bytes; i++) {
    const pair = `${prefix}${i}=${value}`
    parts.push(pair)
    length += pair.length + 2
  }
  return parts.join('; ').slice(0, bytes)
}

function kib(bytes: number): string {
  return `${Math.round(bytes / 1024)} KiB`
}
