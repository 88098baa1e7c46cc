// undici's Pool without undici's entry point, which loads its whole API (fetch, WebSocket, caches,
// mocks): about 9 MiB more of the proxy's resident memory, for a class the proxy alone uses.
declare module 'undici/lib/dispatcher/pool.js' {
  const Pool: typeof import('undici').Pool
  export default Pool
}
