import type { IpEndpoint } from './address'

/** Linux `AF_INET`. */
const AF_INET = 2
/** Linux `AF_INET6`. */
const AF_INET6 = 10

/**
 * The bytes of the Linux `struct sockaddr` that the original sticky module and nginx-sticky-module-ng
 * up to 1.2.6 hashed for their cookie value:
 *
 * - `sockaddr_in`, 16 bytes: family 2 as little-endian u16, port big-endian, 4 address bytes, 8 zero bytes;
 * - `sockaddr_in6`, 28 bytes: family 10 little-endian, port big-endian, 4 zero bytes of flow info,
 *   16 address bytes, 4 zero bytes of scope id.
 *
 * Other platforms lay the structure out differently (BSDs start with a length byte); cookies issued
 * there cannot be recognised.
 */
export function linuxSockaddr(endpoint: IpEndpoint): Uint8Array {
  const ipv4 = endpoint.family === 4
  const bytes = new Uint8Array(ipv4 ? 16 : 28)
  bytes[0] = ipv4 ? AF_INET : AF_INET6
  bytes[2] = endpoint.port >> 8
  bytes[3] = endpoint.port & 0xff
  bytes.set(endpoint.bytes, ipv4 ? 4 : 8)
  return bytes
}
