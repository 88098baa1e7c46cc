import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * Writes a fresh self-signed certificate for 127.0.0.1 into `dir` (openssl: node:crypto makes keys,
 * not certificates): a P-256 key, valid for two days, the address in subjectAltName as TLS clients
 * check it. Returns the PEM files' paths.
 */
export function writeSelfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  return { cert, key }
}
