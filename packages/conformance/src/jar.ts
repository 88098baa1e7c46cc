/**
 * The cookies of one simulated browser. Only name and value matter here: every cookie the suite
 * deals with has `Path=/` on the one host, so attributes are parsed only to honour deletion.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>()

  /** Stores the `Set-Cookie` header values of one response, in order (a later one wins). */
  store(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a))
      if (expired) this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
  }

  /** Sets a cookie directly, as a forging client would. */
  set(name: string, value: string): void {
    this.#cookies.set(name, value)
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name)
  }

  /** The `Cookie` request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}
