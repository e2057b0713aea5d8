/**
 * IPv4 frames for filter and fanout tests: UDP, TCP and ICMP echo over Ethernet, built
 * byte by byte (RFC 791, 768, 793, 792) with correct checksums, each carrying a sequence
 * number in its last 4 bytes. Addresses are in 198.18.0.0/15 (RFC 2544, benchmarking),
 * which no namespace made by the tests routes, so the kernel answers none of them.
 */
export type Protocol = 'udp' | 'tcp' | 'icmp'

/** A flow: protocol, addresses and ports (the ICMP echo identifier for `icmp`). */
export interface Flow {
  protocol: Protocol
  src: string
  dst: string
  sport: number
  dport: number
}

const PROTOCOL_NUMBER: Record<Protocol, number> = { icmp: 1, tcp: 6, udp: 17 }
const SRC_MAC = Buffer.from('020000000002', 'hex')

/** The Internet checksum (RFC 1071) of `bytes`, plus `initial` (a pseudo-header sum). */
function checksum(bytes: Buffer, initial = 0): number {
  let sum = initial
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readUInt16BE(i)
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

function address(dotted: string): Buffer {
  return Buffer.from(dotted.split('.').map(Number))
}

/** One frame of `flow` to `dstMac`, with `seq` as the last 4 bytes of its payload. */
export function ipv4Frame(flow: Flow, seq: number, dstMac: Buffer, payloadLength = 16): Buffer {
  const payload = Buffer.alloc(Math.max(payloadLength, 4))
  for (let i = 0; i < payload.length - 4; i++) payload[i] = (i + seq) & 0xff
  payload.writeUInt32BE(seq, payload.length - 4)
  const src = address(flow.src)
  const dst = address(flow.dst)
  let l4: Buffer
  if (flow.protocol === 'udp') {
    l4 = Buffer.concat([Buffer.alloc(8), payload])
    l4.writeUInt16BE(flow.sport, 0)
    l4.writeUInt16BE(flow.dport, 2)
    l4.writeUInt16BE(l4.length, 4)
  } else if (flow.protocol === 'tcp') {
    l4 = Buffer.concat([Buffer.alloc(20), payload])
    l4.writeUInt16BE(flow.sport, 0)
    l4.writeUInt16BE(flow.dport, 2)
    l4.writeUInt32BE(seq, 4) // sequence number
    l4[12] = 5 << 4 // data offset: 5 words
    l4[13] = 0x18 // PSH, ACK
    l4.writeUInt16BE(65535, 14) // window
  } else {
    l4 = Buffer.concat([Buffer.alloc(8), payload])
    l4[0] = 8 // echo request
    l4.writeUInt16BE(flow.sport, 4) // identifier
    l4.writeUInt16BE(seq & 0xffff, 6)
  }
  if (flow.protocol === 'icmp') {
    l4.writeUInt16BE(checksum(l4), 2)
  } else {
    const pseudo = Buffer.concat([src, dst, Buffer.from([0, PROTOCOL_NUMBER[flow.protocol], l4.length >> 8, l4.length & 0xff])])
    const sum = checksum(Buffer.concat([pseudo, l4]))
    l4.writeUInt16BE(flow.protocol === 'udp' && sum === 0 ? 0xffff : sum, flow.protocol === 'udp' ? 6 : 16)
  }
  const ip = Buffer.alloc(20)
  ip[0] = 0x45 // version 4, 5 words
  ip.writeUInt16BE(20 + l4.length, 2)
  ip.writeUInt16BE(seq & 0xffff, 4) // identification
  ip[6] = 0x40 // don't fragment
  ip[8] = 64 // TTL
  ip[9] = PROTOCOL_NUMBER[flow.protocol]
  src.copy(ip, 12)
  dst.copy(ip, 16)
  ip.writeUInt16BE(checksum(ip), 10)
  return Buffer.concat([dstMac, SRC_MAC, Buffer.from([0x08, 0x00]), ip, l4])
}

/** The sequence number `ipv4Frame()` wrote. */
export function ipv4SeqOf(data: Uint8Array): number {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32BE(data.byteLength - 4)
}

/** A frame sent in a test, and the flow it belongs to. */
export interface Sent {
  seq: number
  flow: Flow
  frame: Buffer
}

/**
 * `perFlow` frames of each flow, interleaved round robin, numbered from 0.
 */
export function interleave(flows: Flow[], perFlow: number, dstMac: Buffer): Sent[] {
  const sent: Sent[] = []
  for (let round = 0; round < perFlow; round++) {
    for (const flow of flows) {
      const seq = sent.length
      sent.push({ seq, flow, frame: ipv4Frame(flow, seq, dstMac) })
    }
  }
  return sent
}

/** A readable key for a flow: `udp 198.18.0.1:1000 > 198.19.0.1:5000`. */
export function flowKey(flow: Flow): string {
  return `${flow.protocol} ${flow.src}:${flow.sport} > ${flow.dst}:${flow.dport}`
}
