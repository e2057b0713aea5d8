/**
 * Hand-built frames for the decoder's tests, byte by byte from the RFCs and IEEE 802.3/802.1Q:
 * Ethernet (with 802.1Q/802.1ad tags), ARP (RFC 826), IPv4 (RFC 791, options), IPv6
 * (RFC 8200, extension headers), TCP (RFC 9293, options), UDP (RFC 768), ICMP (RFC 792),
 * ICMPv6 (RFC 4443), and the link headers of Linux cooked captures (SLL, SLL2), BSD
 * loopback (NULL, LOOP) and raw IP. Checksums are computed (RFC 1071).
 */

/** The Internet checksum of `bytes`, plus `initial` (a pseudo-header sum). */
export function checksum(bytes: Buffer, initial = 0): number {
  let sum = initial
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readUInt16BE(i)
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

function sum16(bytes: Buffer): number {
  return (~checksum(bytes) & 0xffff) >>> 0
}

export const mac = (text: string): Buffer => Buffer.from(text.replace(/:/g, ''), 'hex')
export const ip4 = (text: string): Buffer => Buffer.from(text.split('.').map(Number))
/** An IPv6 address from its full or `::` form. */
export function ip6(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2))
  return b
}

export interface Tag {
  tpid: number
  /** PCP (3 bits), DEI (1), VID (12) */
  tci: number
}

export function ethernet(dst: string, src: string, type: number, payload: Buffer, tags: Tag[] = []): Buffer {
  const parts = [mac(dst), mac(src)]
  for (const t of tags) {
    const b = Buffer.alloc(4)
    b.writeUInt16BE(t.tpid, 0)
    b.writeUInt16BE(t.tci, 2)
    parts.push(b)
  }
  const ty = Buffer.alloc(2)
  ty.writeUInt16BE(type)
  return Buffer.concat([...parts, ty, payload])
}

export interface Ipv4Fields {
  src: string
  dst: string
  protocol: number
  ttl?: number
  tos?: number
  id?: number
  /** flags (3 bits) << 13 | fragment offset (8-byte units) */
  fragment?: number
  options?: Buffer
}

export function ipv4(h: Ipv4Fields, payload: Buffer): Buffer {
  const options = h.options ?? Buffer.alloc(0)
  const ip = Buffer.alloc(20 + options.length)
  ip[0] = 0x40 | ((20 + options.length) / 4)
  ip[1] = h.tos ?? 0
  ip.writeUInt16BE(ip.length + payload.length, 2)
  ip.writeUInt16BE(h.id ?? 0, 4)
  ip.writeUInt16BE(h.fragment ?? 0x4000, 6)
  ip[8] = h.ttl ?? 64
  ip[9] = h.protocol
  ip4(h.src).copy(ip, 12)
  ip4(h.dst).copy(ip, 16)
  options.copy(ip, 20)
  ip.writeUInt16BE(checksum(ip), 10)
  return Buffer.concat([ip, payload])
}

export interface Ipv6Fields {
  src: string
  dst: string
  nextHeader: number
  hopLimit?: number
  trafficClass?: number
  flowLabel?: number
}

export function ipv6(h: Ipv6Fields, payload: Buffer): Buffer {
  const ip = Buffer.alloc(40)
  ip.writeUInt32BE(((6 << 28) | ((h.trafficClass ?? 0) << 20) | (h.flowLabel ?? 0)) >>> 0, 0)
  ip.writeUInt16BE(payload.length, 4)
  ip[6] = h.nextHeader
  ip[7] = h.hopLimit ?? 64
  ip6(h.src).copy(ip, 8)
  ip6(h.dst).copy(ip, 24)
  return Buffer.concat([ip, payload])
}

/** An IPv6 extension header with `next` and `body` padded to a multiple of 8 bytes (hop-by-hop, routing, dest options). */
export function extension(next: number, body: Buffer): Buffer {
  const len = Math.ceil((body.length + 2) / 8) * 8
  const b = Buffer.alloc(len)
  b[0] = next
  b[1] = len / 8 - 1
  body.copy(b, 2)
  if (body.length + 2 < len) {
    // PadN over the rest (RFC 8200 §4.2)
    const pad = len - body.length - 2
    if (pad === 1) b[body.length + 2] = 0
    else {
      b[body.length + 2] = 1
      b[body.length + 3] = pad - 2
    }
  }
  return b
}

/** An IPv6 fragment header (RFC 8200 §4.5): offset in 8-byte units, M flag, identification. */
export function fragmentHeader(next: number, offset: number, more: boolean, id: number): Buffer {
  const b = Buffer.alloc(8)
  b[0] = next
  b.writeUInt16BE((offset << 3) | (more ? 1 : 0), 2)
  b.writeUInt32BE(id >>> 0, 4)
  return b
}

function pseudo4(src: string, dst: string, protocol: number, length: number): number {
  const b = Buffer.concat([ip4(src), ip4(dst), Buffer.from([0, protocol, length >> 8, length & 0xff])])
  return sum16(b)
}

function pseudo6(src: string, dst: string, protocol: number, length: number): number {
  const l = Buffer.alloc(8)
  l.writeUInt32BE(length, 0)
  l[7] = protocol
  return sum16(Buffer.concat([ip6(src), ip6(dst), l]))
}

/** Addresses for the pseudo-header of a transport checksum. */
export interface Pseudo {
  src: string
  dst: string
}

function pseudo(p: Pseudo, protocol: number, length: number): number {
  return p.src.includes(':') ? pseudo6(p.src, p.dst, protocol, length) : pseudo4(p.src, p.dst, protocol, length)
}

export interface TcpFields {
  srcPort: number
  dstPort: number
  seq: number
  ack?: number
  /** the 12 flag bits (NS 0x100 … FIN 0x001) */
  flags: number
  window?: number
  urgent?: number
  options?: Buffer
}

export function tcp(p: Pseudo, h: TcpFields, payload: Buffer = Buffer.alloc(0)): Buffer {
  const options = h.options ?? Buffer.alloc(0)
  const t = Buffer.alloc(20 + options.length)
  t.writeUInt16BE(h.srcPort, 0)
  t.writeUInt16BE(h.dstPort, 2)
  t.writeUInt32BE(h.seq >>> 0, 4)
  t.writeUInt32BE((h.ack ?? 0) >>> 0, 8)
  t.writeUInt16BE((((20 + options.length) / 4) << 12) | h.flags, 12)
  t.writeUInt16BE(h.window ?? 65535, 14)
  t.writeUInt16BE(h.urgent ?? 0, 18)
  options.copy(t, 20)
  const seg = Buffer.concat([t, payload])
  seg.writeUInt16BE(checksum(seg, pseudo(p, 6, seg.length)), 16)
  return seg
}

export function udp(p: Pseudo, srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const u = Buffer.alloc(8)
  u.writeUInt16BE(srcPort, 0)
  u.writeUInt16BE(dstPort, 2)
  u.writeUInt16BE(8 + payload.length, 4)
  const seg = Buffer.concat([u, payload])
  const c = checksum(seg, pseudo(p, 17, seg.length))
  seg.writeUInt16BE(c === 0 ? 0xffff : c, 6)
  return seg
}

/** ICMP (v6 when `p` is given: its checksum covers the pseudo-header) with type, code, 4 bytes of rest-of-header. */
export function icmp(type: number, code: number, rest: Buffer, payload: Buffer, p?: Pseudo): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, payload])
  m.writeUInt16BE(checksum(m, p === undefined ? 0 : pseudo(p, 58, m.length)), 2)
  return m
}

export function echoRest(id: number, seq: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt16BE(id, 0)
  b.writeUInt16BE(seq, 2)
  return b
}

export function arp(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string): Buffer {
  const b = Buffer.alloc(28)
  b.writeUInt16BE(1, 0) // Ethernet
  b.writeUInt16BE(0x0800, 2)
  b[4] = 6
  b[5] = 4
  b.writeUInt16BE(op, 6)
  mac(senderMac).copy(b, 8)
  ip4(senderIp).copy(b, 14)
  mac(targetMac).copy(b, 18)
  ip4(targetIp).copy(b, 24)
  return b
}

/** Linux cooked v1 (LINKTYPE_LINUX_SLL, 16 bytes): packet type, ARPHRD, address length, 8 address bytes, protocol. */
export function sll(packetType: number, hardwareType: number, address: Buffer, protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16)
  h.writeUInt16BE(packetType, 0)
  h.writeUInt16BE(hardwareType, 2)
  h.writeUInt16BE(address.length, 4)
  address.copy(h, 6, 0, 8)
  h.writeUInt16BE(protocol, 14)
  return Buffer.concat([h, payload])
}

/** Linux cooked v2 (LINKTYPE_LINUX_SLL2, 20 bytes): protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes. */
export function sll2(packetType: number, hardwareType: number, ifindex: number, address: Buffer, protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20)
  h.writeUInt16BE(protocol, 0)
  h.writeUInt32BE(ifindex, 4)
  h.writeUInt16BE(hardwareType, 8)
  h[10] = packetType
  h[11] = address.length
  address.copy(h, 12, 0, 8)
  return Buffer.concat([h, payload])
}

/** BSD loopback: the address family as 4 bytes, host order for NULL (0), network order for LOOP (108). */
export function loopback(family: number, payload: Buffer, bigEndian: boolean): Buffer {
  const h = Buffer.alloc(4)
  if (bigEndian) h.writeUInt32BE(family)
  else h.writeUInt32LE(family)
  return Buffer.concat([h, payload])
}

/** A classic pcap file (µs, little-endian) of `frames` with link type `linkType`, each frame's first `snaplen` bytes. */
export function pcap(linkType: number, frames: Buffer[], snaplen = 262144): Buffer {
  const head = Buffer.alloc(24)
  head.writeUInt32LE(0xa1b2c3d4, 0)
  head.writeUInt16LE(2, 4)
  head.writeUInt16LE(4, 6)
  head.writeUInt32LE(snaplen, 16)
  head.writeUInt32LE(linkType, 20)
  const parts: Buffer[] = [head]
  frames.forEach((f, i) => {
    const data = f.subarray(0, snaplen)
    const h = Buffer.alloc(16)
    h.writeUInt32LE(1_700_000_000 + i, 0)
    h.writeUInt32LE(data.length, 8)
    h.writeUInt32LE(f.length, 12)
    parts.push(h, data)
  })
  return Buffer.concat(parts)
}
