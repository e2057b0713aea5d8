/**
 * The headers of a decoded packet, as views over its bytes: `Packet` makes one when a
 * layer is asked for, at the offset the native dissector found (crates/core/src/dissect),
 * and every field is read from the bytes when it is read. Number fields allocate nothing;
 * address strings and option Buffers are made on each read (the `…Number` and `…Bytes`
 * forms beside them are the cheap ones).
 */
import { view } from './bytes'

/** libpcap link-layer header types (LINKTYPE_*), as pcap files and `linkType` number them. */
export const LinkType = {
  /** BSD loopback: a 4-byte address family in the writer's byte order. */
  NULL: 0,
  /** Ethernet (DLT_EN10MB), with any 802.1Q/802.1ad tags in the data. */
  ETHERNET: 1,
  /** Raw IP: IPv4 or IPv6 by the first nibble (tun, WireGuard). */
  RAW: 101,
  /** OpenBSD loopback: a 4-byte address family in network byte order. */
  LOOP: 108,
  /** Linux cooked capture v1 (16-byte header). */
  LINUX_SLL: 113,
  /** Raw IPv4. */
  IPV4: 228,
  /** Raw IPv6. */
  IPV6: 229,
  /** Linux cooked capture v2 (20-byte header with the interface index): `tcpdump -i any`. */
  LINUX_SLL2: 276,
} as const

/** The layer names of the dissector's LAYER_* numbers, 1 on. */
export const ERROR_LAYERS = ['link', 'vlan', 'arp', 'ipv4', 'ipv6', 'ipv6-extension', 'tcp', 'udp', 'icmp', 'icmpv6'] as const

/** Where decoding stopped: the layer cut short by the snapshot length, or whose length
 * field lies. The layers before it are decoded; it and those after are `undefined`. */
export interface DecodeError {
  layer: (typeof ERROR_LAYERS)[number]
  reason: 'truncated' | 'malformed'
}

const u16 = (b: Uint8Array, i: number): number => (b[i] << 8) | b[i + 1]
const u32 = (b: Uint8Array, i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** `n` bytes at `i` as `aa:bb:…`, as tshark prints link addresses. */
export function hexColons(b: Uint8Array, i: number, n: number): string {
  let s = ''
  for (let k = 0; k < n; k++) s += (k === 0 ? '' : ':') + HEX[b[i + k]]
  return s
}

/** The IPv4 address at `i`, dotted. */
export function ipv4String(b: Uint8Array, i: number): string {
  return `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`
}

/** The IPv6 address at `i` as RFC 5952 writes it (and inet_ntop): lowercase, no leading
 * zeros, the longest run of two or more zero groups (the first of equals) as `::`;
 * IPv4-mapped and IPv4-compatible addresses end in dotted IPv4. */
export function ipv6String(b: Uint8Array, i: number): string {
  const groups: number[] = []
  for (let k = 0; k < 8; k++) groups.push(u16(b, i + 2 * k))
  let best = -1
  let bestLength = 1
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++
      continue
    }
    let end = k
    while (end < 8 && groups[end] === 0) end++
    if (end - k > bestLength) {
      best = k
      bestLength = end - k
    }
    k = end
  }
  const text = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':')
  if (best === 0 && bestLength === 5 && groups[5] === 0xffff) return `::ffff:${ipv4String(b, i + 12)}`
  if (best === 0 && bestLength === 6) return `::${ipv4String(b, i + 12)}`
  if (best < 0) return text(0, 8)
  return `${text(0, best)}::${text(best + bestLength, 8)}`
}

/** The Ethernet header. */
export class Ethernet {
  readonly #b: Buffer
  readonly #at: number
  /** The EtherType after any VLAN tags: what the payload is (0 for an 802.3 length frame). */
  readonly etherType: number

  /** @internal */
  constructor(b: Buffer, at: number, etherType: number) {
    this.#b = b
    this.#at = at
    this.etherType = etherType
  }

  /** Destination MAC, `aa:bb:cc:dd:ee:ff`. */
  get dst(): string {
    return hexColons(this.#b, this.#at, 6)
  }
  /** Source MAC. */
  get src(): string {
    return hexColons(this.#b, this.#at + 6, 6)
  }
  get dstBytes(): Buffer {
    return view(this.#b, this.#at, this.#at + 6)
  }
  get srcBytes(): Buffer {
    return view(this.#b, this.#at + 6, this.#at + 12)
  }
  /** The type/length field at byte 12 as written: 0x8100 when tagged, a length (≤ 1500)
   * for an 802.3 frame (tshark's `eth.type` or `eth.len`). */
  get type(): number {
    return u16(this.#b, this.#at + 12)
  }

  toJSON(): object {
    return { dst: this.dst, src: this.src, type: this.type, etherType: this.etherType }
  }
}

/** A Linux cooked capture header (SLL, or SLL2 as `tcpdump -i any` writes). */
export class Sll {
  readonly #b: Buffer
  readonly #at: number
  /** 1 for LINKTYPE_LINUX_SLL, 2 for LINKTYPE_LINUX_SLL2. */
  readonly version: 1 | 2

  /** @internal */
  constructor(b: Buffer, at: number, version: 1 | 2) {
    this.#b = b
    this.#at = at
    this.version = version
  }

  /** PACKET_HOST (0), BROADCAST, MULTICAST, OTHERHOST, OUTGOING (4). */
  get packetType(): number {
    return this.version === 1 ? u16(this.#b, this.#at) : this.#b[this.#at + 10]
  }
  /** The ARPHRD_* type of the interface (1 Ethernet, 772 loopback, …). */
  get hardwareType(): number {
    return u16(this.#b, this.#at + (this.version === 1 ? 2 : 8))
  }
  /** The interface index (SLL2 only). */
  get ifindex(): number | undefined {
    return this.version === 2 ? u32(this.#b, this.#at + 4) : undefined
  }
  /** The link-layer address (up to 8 bytes), `aa:bb:…`. */
  get address(): string {
    const length = this.version === 1 ? u16(this.#b, this.#at + 4) : this.#b[this.#at + 11]
    return hexColons(this.#b, this.#at + (this.version === 1 ? 6 : 12), Math.min(length, 8))
  }
  /** The protocol: an EtherType, or 1 (802.3) / 4 (802.2 LLC). */
  get protocol(): number {
    return u16(this.#b, this.#at + (this.version === 1 ? 14 : 0))
  }

  toJSON(): object {
    const { version, packetType, hardwareType, ifindex, address, protocol } = this
    return { version, packetType, hardwareType, ifindex, address, protocol }
  }
}

/** An ARP packet. */
export class Arp {
  readonly #b: Buffer
  readonly #at: number

  /** @internal */
  constructor(b: Buffer, at: number) {
    this.#b = b
    this.#at = at
  }

  /** 1 for Ethernet. */
  get hardwareType(): number {
    return u16(this.#b, this.#at)
  }
  /** 0x0800 for IPv4. */
  get protocolType(): number {
    return u16(this.#b, this.#at + 2)
  }
  get hardwareSize(): number {
    return this.#b[this.#at + 4]
  }
  get protocolSize(): number {
    return this.#b[this.#at + 5]
  }
  /** 1 request, 2 reply. */
  get operation(): number {
    return u16(this.#b, this.#at + 6)
  }

  #hardware(at: number): string {
    return hexColons(this.#b, at, this.hardwareSize)
  }
  #protocol(at: number): string {
    const size = this.protocolSize
    return size === 4 ? ipv4String(this.#b, at) : hexColons(this.#b, at, size)
  }
  /** Sender hardware address (`aa:bb:…`). */
  get senderMac(): string {
    return this.#hardware(this.#at + 8)
  }
  /** Sender protocol address: dotted for IPv4, else hex. */
  get senderIp(): string {
    return this.#protocol(this.#at + 8 + this.hardwareSize)
  }
  get targetMac(): string {
    return this.#hardware(this.#at + 8 + this.hardwareSize + this.protocolSize)
  }
  get targetIp(): string {
    return this.#protocol(this.#at + 8 + 2 * this.hardwareSize + this.protocolSize)
  }

  toJSON(): object {
    const { hardwareType, protocolType, operation, senderMac, senderIp, targetMac, targetIp } = this
    return { hardwareType, protocolType, operation, senderMac, senderIp, targetMac, targetIp }
  }
}

/** An IPv4 option as `Ipv4.optionList` reads it. */
export type DecodedIpv4Option = 'nop' | 'eol' | { routerAlert: number } | { type: number; data: Buffer }

/** A TCP option as `Tcp.optionList` reads it. */
export type DecodedTcpOption =
  | 'nop'
  | 'eol'
  | { mss: number }
  | { windowScale: number }
  | { sackPermitted: true }
  | { sack: Array<[number, number]> }
  | { timestamp: [number, number] }
  | { kind: number; data: Buffer }

/** An IPv4 header. */
export class Ipv4 {
  readonly #b: Buffer
  readonly #at: number
  readonly version = 4

  /** @internal */
  constructor(b: Buffer, at: number) {
    this.#b = b
    this.#at = at
  }

  /** Header length in bytes (IHL × 4). */
  get headerLength(): number {
    return (this.#b[this.#at] & 0x0f) * 4
  }
  /** The type-of-service byte: DSCP and ECN. */
  get tos(): number {
    return this.#b[this.#at + 1]
  }
  get dscp(): number {
    return this.#b[this.#at + 1] >> 2
  }
  get ecn(): number {
    return this.#b[this.#at + 1] & 3
  }
  /** The total length field. */
  get length(): number {
    return u16(this.#b, this.#at + 2)
  }
  get id(): number {
    return u16(this.#b, this.#at + 4)
  }
  /** The 3 flag bits: reserved (4), don't fragment (2), more fragments (1). */
  get flags(): number {
    return this.#b[this.#at + 6] >> 5
  }
  get dontFragment(): boolean {
    return (this.#b[this.#at + 6] & 0x40) !== 0
  }
  get moreFragments(): boolean {
    return (this.#b[this.#at + 6] & 0x20) !== 0
  }
  /** Fragment offset in 8-byte units, as written. */
  get fragmentOffset(): number {
    return u16(this.#b, this.#at + 6) & 0x1fff
  }
  get ttl(): number {
    return this.#b[this.#at + 8]
  }
  /** 6 TCP, 17 UDP, 1 ICMP, … */
  get protocol(): number {
    return this.#b[this.#at + 9]
  }
  get checksum(): number {
    return u16(this.#b, this.#at + 10)
  }
  /** Source address, dotted. */
  get src(): string {
    return ipv4String(this.#b, this.#at + 12)
  }
  get dst(): string {
    return ipv4String(this.#b, this.#at + 16)
  }
  /** Source address as a 32-bit unsigned number (10.0.0.1 is 0x0a000001). */
  get srcNumber(): number {
    return u32(this.#b, this.#at + 12)
  }
  get dstNumber(): number {
    return u32(this.#b, this.#at + 16)
  }
  get srcBytes(): Buffer {
    return view(this.#b, this.#at + 12, this.#at + 16)
  }
  get dstBytes(): Buffer {
    return view(this.#b, this.#at + 16, this.#at + 20)
  }
  /** The options (header length − 20 bytes). */
  get options(): Buffer {
    return view(this.#b, this.#at + 20, this.#at + this.headerLength)
  }
  /** The options one by one, in the shapes `build` takes (`'nop'`, `{ routerAlert }`,
   * `{ type, data }`); the EOL padding after the last is left out. A length that runs
   * past the header ends the list with `{ type, data }` of the bytes left. */
  get optionList(): DecodedIpv4Option[] {
    const o = this.options
    const list: DecodedIpv4Option[] = []
    for (let i = 0; i < o.length; ) {
      const type = o[i]
      if (type === 0) {
        if (o.subarray(i).some((x) => x !== 0)) list.push('eol')
        else break
        i++
      } else if (type === 1) {
        list.push('nop')
        i++
      } else {
        const length = o[i + 1]
        if (i + 1 >= o.length || length < 2 || i + length > o.length) {
          list.push({ type, data: o.subarray(i + 1) })
          break
        }
        if (type === 148 && length === 4) list.push({ routerAlert: u16(o, i + 2) })
        else list.push({ type, data: o.subarray(i + 2, i + length) })
        i += length
      }
    }
    return list
  }

  toJSON(): object {
    const { version, headerLength, tos, length, id, flags, fragmentOffset, ttl, protocol, checksum, src, dst } = this
    return { version, headerLength, tos, length, id, flags, fragmentOffset, ttl, protocol, checksum, src, dst }
  }
}

/** Bits of `Ipv6.extensions`: the extension headers the packet has. */
export const Ipv6Extension = {
  HOP_BY_HOP: 1,
  ROUTING: 2,
  FRAGMENT: 4,
  DESTINATION_OPTIONS: 8,
  AUTHENTICATION: 16,
  /** The walk stopped at ESP: what follows is encrypted. */
  ESP: 32,
  NO_NEXT_HEADER: 64,
  /** A Shim6 header (RFC 5533), walked past as the options headers are. */
  SHIM6: 128,
} as const

/** An IPv6 fragment header. */
export interface Ipv6Fragment {
  /** Offset in 8-byte units. */
  offset: number
  more: boolean
  id: number
}

/** An IPv6 header with what its extension headers said. */
export class Ipv6 {
  readonly #b: Buffer
  readonly #at: number
  readonly version = 6
  /** The transport protocol after the extension headers (its final next header). */
  readonly protocol: number
  /** `Ipv6Extension` bits of the extension headers present. */
  readonly extensions: number
  readonly #fragment: number
  readonly #fragmentId: number

  /** @internal */
  constructor(b: Buffer, at: number, protocol: number, extensions: number, fragment: number, fragmentId: number) {
    this.#b = b
    this.#at = at
    this.protocol = protocol
    this.extensions = extensions
    this.#fragment = fragment
    this.#fragmentId = fragmentId
  }

  get trafficClass(): number {
    return ((this.#b[this.#at] & 0x0f) << 4) | (this.#b[this.#at + 1] >> 4)
  }
  get flowLabel(): number {
    return ((this.#b[this.#at + 1] & 0x0f) << 16) | u16(this.#b, this.#at + 2)
  }
  get payloadLength(): number {
    return u16(this.#b, this.#at + 4)
  }
  /** The fixed header's next header (the first extension header, or the transport). */
  get nextHeader(): number {
    return this.#b[this.#at + 6]
  }
  get hopLimit(): number {
    return this.#b[this.#at + 7]
  }
  /** The hop limit, under IPv4's name. */
  get ttl(): number {
    return this.#b[this.#at + 7]
  }
  /** Source address, RFC 5952 text. */
  get src(): string {
    return ipv6String(this.#b, this.#at + 8)
  }
  get dst(): string {
    return ipv6String(this.#b, this.#at + 24)
  }
  get srcBytes(): Buffer {
    return view(this.#b, this.#at + 8, this.#at + 24)
  }
  get dstBytes(): Buffer {
    return view(this.#b, this.#at + 24, this.#at + 40)
  }
  /** The fragment header, if there is one. */
  get fragment(): Ipv6Fragment | undefined {
    if ((this.extensions & Ipv6Extension.FRAGMENT) === 0) return undefined
    return { offset: this.#fragment & 0x1fff, more: (this.#fragment & 0x2000) !== 0, id: this.#fragmentId }
  }

  toJSON(): object {
    const { version, trafficClass, flowLabel, payloadLength, nextHeader, hopLimit, src, dst, protocol, extensions, fragment } = this
    return { version, trafficClass, flowLabel, payloadLength, nextHeader, hopLimit, src, dst, protocol, extensions, fragment }
  }
}

/** A TCP header. The flag booleans have gopacket's names. */
export class Tcp {
  readonly #b: Buffer
  readonly #at: number

  /** @internal */
  constructor(b: Buffer, at: number) {
    this.#b = b
    this.#at = at
  }

  get srcPort(): number {
    return u16(this.#b, this.#at)
  }
  get dstPort(): number {
    return u16(this.#b, this.#at + 2)
  }
  /** Sequence number as written. */
  get seq(): number {
    return u32(this.#b, this.#at + 4)
  }
  /** Acknowledgment number as written. */
  get ack(): number {
    return u32(this.#b, this.#at + 8)
  }
  /** Header length in bytes (data offset × 4). */
  get headerLength(): number {
    return (this.#b[this.#at + 12] >> 4) * 4
  }
  /** The 12 flag bits, as tshark's `tcp.flags`: FIN 0x001 … CWR 0x080, AE/NS 0x100. */
  get flags(): number {
    return ((this.#b[this.#at + 12] & 0x0f) << 8) | this.#b[this.#at + 13]
  }
  get FIN(): boolean {
    return (this.#b[this.#at + 13] & 0x01) !== 0
  }
  get SYN(): boolean {
    return (this.#b[this.#at + 13] & 0x02) !== 0
  }
  get RST(): boolean {
    return (this.#b[this.#at + 13] & 0x04) !== 0
  }
  get PSH(): boolean {
    return (this.#b[this.#at + 13] & 0x08) !== 0
  }
  get ACK(): boolean {
    return (this.#b[this.#at + 13] & 0x10) !== 0
  }
  get URG(): boolean {
    return (this.#b[this.#at + 13] & 0x20) !== 0
  }
  get ECE(): boolean {
    return (this.#b[this.#at + 13] & 0x40) !== 0
  }
  get CWR(): boolean {
    return (this.#b[this.#at + 13] & 0x80) !== 0
  }
  get NS(): boolean {
    return (this.#b[this.#at + 12] & 0x01) !== 0
  }
  /** The window as written (not scaled). */
  get window(): number {
    return u16(this.#b, this.#at + 14)
  }
  get checksum(): number {
    return u16(this.#b, this.#at + 16)
  }
  get urgentPointer(): number {
    return u16(this.#b, this.#at + 18)
  }
  /** The options (header length − 20 bytes). */
  get options(): Buffer {
    return view(this.#b, this.#at + 20, this.#at + this.headerLength)
  }
  /** The options one by one, in the shapes `build` takes (`{ mss }`, `{ windowScale }`,
   * `{ sackPermitted: true }`, `{ sack }`, `{ timestamp }`, `'nop'`, `{ kind, data }`);
   * the EOL padding after the last is left out. */
  get optionList(): DecodedTcpOption[] {
    const o = this.options
    const list: DecodedTcpOption[] = []
    for (let i = 0; i < o.length; ) {
      const kind = o[i]
      if (kind === 0) {
        if (o.subarray(i).some((x) => x !== 0)) list.push('eol')
        else break
        i++
        continue
      }
      if (kind === 1) {
        list.push('nop')
        i++
        continue
      }
      const length = o[i + 1]
      if (i + 1 >= o.length || length < 2 || i + length > o.length) {
        list.push({ kind, data: o.subarray(i + 1) })
        break
      }
      if (kind === 2 && length === 4) list.push({ mss: u16(o, i + 2) })
      else if (kind === 3 && length === 3) list.push({ windowScale: o[i + 2] })
      else if (kind === 4 && length === 2) list.push({ sackPermitted: true })
      else if (kind === 5 && length >= 10 && (length - 2) % 8 === 0) {
        const sack: Array<[number, number]> = []
        for (let k = i + 2; k < i + length; k += 8) sack.push([u32(o, k), u32(o, k + 4)])
        list.push({ sack })
      } else if (kind === 8 && length === 10) list.push({ timestamp: [u32(o, i + 2), u32(o, i + 6)] })
      else list.push({ kind, data: o.subarray(i + 2, i + length) })
      i += length
    }
    return list
  }

  toJSON(): object {
    const { srcPort, dstPort, seq, ack, headerLength, flags, window, checksum, urgentPointer } = this
    return { srcPort, dstPort, seq, ack, headerLength, flags, window, checksum, urgentPointer }
  }
}

/** A UDP header. */
export class Udp {
  readonly #b: Buffer
  readonly #at: number

  /** @internal */
  constructor(b: Buffer, at: number) {
    this.#b = b
    this.#at = at
  }

  get srcPort(): number {
    return u16(this.#b, this.#at)
  }
  get dstPort(): number {
    return u16(this.#b, this.#at + 2)
  }
  /** The length field: header and data. */
  get length(): number {
    return u16(this.#b, this.#at + 4)
  }
  get checksum(): number {
    return u16(this.#b, this.#at + 6)
  }

  toJSON(): object {
    const { srcPort, dstPort, length, checksum } = this
    return { srcPort, dstPort, length, checksum }
  }
}

/** An ICMP or ICMPv6 header. */
export class Icmp {
  readonly #b: Buffer
  readonly #at: number
  readonly #echo: boolean

  /** @internal */
  constructor(b: Buffer, at: number, echo: boolean) {
    this.#b = b
    this.#at = at
    this.#echo = echo
  }

  get type(): number {
    return this.#b[this.#at]
  }
  get code(): number {
    return this.#b[this.#at + 1]
  }
  get checksum(): number {
    return u16(this.#b, this.#at + 2)
  }
  /** The identifier of an echo request or reply. */
  get id(): number | undefined {
    return this.#echo ? u16(this.#b, this.#at + 4) : undefined
  }
  /** The sequence number of an echo request or reply. */
  get seq(): number | undefined {
    return this.#echo ? u16(this.#b, this.#at + 6) : undefined
  }

  toJSON(): object {
    const { type, code, checksum, id, seq } = this
    return { type, code, checksum, id, seq }
  }
}
