// What the benchmark's backends answer (http-backend.ts), shared with the client side of the benchmark
// so that both agree on paths and sizes without importing the backend's process entry.

/** The body of `GET /`: small, so that a run measures per-request overhead rather than bytes. */
export const SMALL_BODY: Buffer = Buffer.from('hello from a sticky benchmark backend\n')
/** `GET /download?bytes=N` streams N bytes. */
export const DOWNLOAD_PATH = '/download'
/** `POST /upload` drains the body and answers with its length in decimal. */
export const UPLOAD_PATH = '/upload'
/** Bodies are written in chunks of this size, as a file or socket stream would be. */
export const CHUNK_BYTES = 64 * 1024
/** The response header in which a reliability backend (reliability-backend.ts) names itself: its index in the proxy's peer list. */
export const BACKEND_HEADER = 'x-backend'
