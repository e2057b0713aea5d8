/**
 * DNS messages for the decoder's tests, built byte by byte from RFC 1035 §4 (header,
 * question, resource record), RFC 3596 (AAAA), RFC 2782 (SRV), RFC 6891 (OPT) and
 * RFC 8659 (CAA), and a classic pcap file that carries them over Ethernet/IPv4 to
 * port 53 for tshark to read back.
 */

/** A name in wire form: `'a.b'` → 1 'a' 1 'b' 0; `'.'` or `''` → the root (one 0 byte). */
export function name(text: string): Buffer {
  if (text === '.' || text === '') return Buffer.from([0])
  return labels(...text.replace(/\.$/, '').split('.').map((l) => Buffer.from(l, 'latin1')), 0)
}

/**
 * Labels given as bytes, then `end`: 0 for the root, or a compression pointer
 * (RFC 1035 §4.1.4) to `end` when it is an object `{ ptr }`.
 */
export function labels(...parts: (Buffer | number | { ptr: number })[]): Buffer {
  const out: Buffer[] = []
  for (const p of parts) {
    if (typeof p === 'number') out.push(Buffer.from([p]))
    else if (Buffer.isBuffer(p)) out.push(Buffer.from([p.length]), p)
    else out.push(ptr(p.ptr))
  }
  return Buffer.concat(out)
}

/** A compression pointer to message offset `offset`. */
export function ptr(offset: number): Buffer {
  return Buffer.from([0xc0 | (offset >> 8), offset & 0xff])
}

export interface Header {
  id: number
  /** The 16-bit flags word as on the wire. */
  flags: number
  /** Counts to write instead of the sections' lengths (headers that lie). */
  counts?: [number, number, number, number]
}

/** A message: the 12-byte header, then the sections' bytes as given. */
export function message(h: Header, qd: Buffer[], an: Buffer[] = [], ns: Buffer[] = [], ar: Buffer[] = []): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt16BE(h.id, 0)
  head.writeUInt16BE(h.flags, 2)
  const counts = h.counts ?? [qd.length, an.length, ns.length, ar.length]
  counts.forEach((c, i) => head.writeUInt16BE(c, 4 + 2 * i))
  return Buffer.concat([head, ...qd, ...an, ...ns, ...ar])
}

/** A question: name (text or wire bytes), type, class. */
export function question(n: string | Buffer, type: number, cls = 1): Buffer {
  const tail = Buffer.alloc(4)
  tail.writeUInt16BE(type, 0)
  tail.writeUInt16BE(cls, 2)
  return Buffer.concat([typeof n === 'string' ? name(n) : n, tail])
}

/** A resource record; RDLENGTH is `rdata.length` unless `rdlength` says otherwise. */
export function record(n: string | Buffer, type: number, ttl: number, rdata: Buffer, cls = 1, rdlength = rdata.length): Buffer {
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(type, 0)
  fixed.writeUInt16BE(cls, 2)
  fixed.writeUInt32BE(ttl >>> 0, 4)
  fixed.writeUInt16BE(rdlength, 8)
  return Buffer.concat([typeof n === 'string' ? name(n) : n, fixed, rdata])
}

/** Big-endian unsigned integers of the given byte widths, e.g. `be([2, 10], [4, 7])`. */
export function be(...fields: [number, number][]): Buffer {
  return Buffer.concat(
    fields.map(([width, value]) => {
      const b = Buffer.alloc(width)
      b.writeUIntBE(value, 0, width)
      return b
    }),
  )
}

/** Character-strings (RFC 1035 §3.3): a length byte, then the bytes. */
export function strings(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p
      return [Buffer.from([b.length]), b]
    }),
  )
}

/** A deterministic PRNG (mulberry32), so a failing random buffer can be rebuilt from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const MACS = Buffer.from('020000000001020000000002', 'hex')

/**
 * An Ethernet/IPv4 frame from 198.18.0.1:`sport` to 198.18.0.2:`dport` carrying `payload`, over
 * UDP, or over TCP (one PSH/ACK segment; the payload must carry its own 2-byte length prefix).
 * Checksums are 0: tshark does not check them by default.
 */
export function frame(payload: Buffer, transport: 'udp' | 'tcp' = 'udp', dport = 53, sport = 10053): Buffer {
  let l4: Buffer
  if (transport === 'udp') {
    l4 = Buffer.alloc(8)
    l4.writeUInt16BE(payload.length + 8, 4)
  } else {
    l4 = Buffer.alloc(20)
    l4.writeUInt32BE(1000, 4) // sequence number
    l4.writeUInt32BE(1, 8) // acknowledgment number
    l4[12] = 5 << 4 // data offset: 5 words
    l4[13] = 0x18 // PSH, ACK
    l4.writeUInt16BE(65535, 14) // window
  }
  l4.writeUInt16BE(sport, 0)
  l4.writeUInt16BE(dport, 2)
  const ip = Buffer.from('450000000000400040000000c6120001c6120002', 'hex')
  ip.writeUInt16BE(20 + l4.length + payload.length, 2)
  ip[9] = transport === 'udp' ? 17 : 6
  return Buffer.concat([MACS, Buffer.from([0x08, 0x00]), ip, l4, payload])
}

/** A classic pcap file (little-endian, microseconds, LINKTYPE_ETHERNET) of `frames`. */
export function pcap(frames: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')]
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16)
    h.writeUInt32LE(1_700_000_000 + i, 0)
    h.writeUInt32LE(f.length, 8)
    h.writeUInt32LE(f.length, 12)
    parts.push(h, f)
  })
  return Buffer.concat(parts)
}
