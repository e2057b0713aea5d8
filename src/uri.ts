/** The URIs `open()` and `openTx()` take: libtrace's `ring:` and `int:`, and `pcapfile:`. */

/** URI schemes `open()` knows: a PACKET_MMAP ring, recv() on a plain socket, or a
 * pcap/pcapng file (`pcapfile:trace.pcap`). */
export const SCHEMES = ['ring', 'int', 'pcapfile'] as const
export type Scheme = (typeof SCHEMES)[number]

/** Splits `ring:eth1` / `int:eth1`; a bare name means `fallback`. Interface names never contain ':'. */
export function parseUri(uri: string, fallback?: Scheme): [Scheme, string] {
  if (typeof uri !== 'string') throw new TypeError(`uri must be a string, got ${typeof uri}`)
  const colon = uri.indexOf(':')
  const known = SCHEMES.map((s) => `${s}:`).join(', ')
  if (colon < 0) {
    if (fallback !== undefined) return [fallback, uri]
    throw new TypeError(`URI "${uri}" has no scheme; known: ${known}`)
  }
  const scheme = uri.slice(0, colon)
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new TypeError(`unknown URI scheme "${scheme}:" in "${uri}"; known: ${known}`)
  }
  return [scheme as Scheme, uri.slice(colon + 1)]
}
