// STUB: being written. Signatures are fixed.
/** `SameSite` attribute values (RFC 6265bis section 5.6.7). */
export type SameSite = 'Strict' | 'Lax' | 'None'

/** Attributes of a `Set-Cookie` header (RFC 6265bis section 4.1.1). */
export interface CookieAttributes {
  domain?: string | undefined
  path?: string | undefined
  /** Absolute expiry; rendered as IMF-fixdate. */
  expires?: Date | undefined
  /** Seconds; rendered as `Max-Age`. */
  maxAge?: number | undefined
  secure?: boolean | undefined
  httpOnly?: boolean | undefined
  sameSite?: SameSite | undefined
  partitioned?: boolean | undefined
}

export function parseCookie(_header: string | null | undefined, _name: string): string | undefined { throw new Error('not implemented') }
export function serializeCookie(_name: string, _value: string, _attributes?: CookieAttributes): string { throw new Error('not implemented') }
