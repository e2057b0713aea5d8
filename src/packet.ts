/**
 * Captured packets as JavaScript sees them: `Packet` and `Batch` are views over one
 * `NativeBatch` (the packets' bytes and their records), and `Lease` is the hold a
 * `zeroCopy` capture's packets have on their ring slots.
 */
import { inspect } from 'node:util'

import { bytesAt, view } from './bytes'
import { decodeDns, type DnsMessage } from './dns'
import { releasedError } from './errors'
import { Arp, ERROR_LAYERS, Ethernet, Icmp, Ipv4, Ipv6, LinkType, Sll, Tcp, Udp, type DecodeError } from './layers'
import * as native from './native'
import { dissect, type NativeBatch } from './native'

// The record's layout and the dissector's flags, as module constants: V8 folds these,
// where reading them off the imported module object would cost a load per use (about
// 3 ns a packet on a loop that reads two layers).
const { CAPLEN, ERROR_LAYER, ETHERTYPE, FLAG_VLAN, FLAGS, FRAGMENT, FRAGMENT_ID, IFINDEX, IPV6_EXT, LAYERS, LEN, LINK_TYPE } = native
const { NETWORK, NSEC, OFFSET, PAYLOAD, PAYLOAD_LEN, PKTTYPE, PROTOCOL, RECORD, SEC, TRANSPORT, VLAN } = native

// The dissector's FLAG_* bits (crates/core/src/dissect/mod.rs).
const F_ETHERNET = 1 << 0
const F_VLAN = 1 << 1
const F_SLL = 1 << 2
const F_SLL2 = 1 << 3
const F_ARP = 1 << 6
const F_IPV4 = 1 << 7
const F_IPV6 = 1 << 8
const F_TCP = 1 << 11
const F_UDP = 1 << 12
const F_ICMP = 1 << 13
const F_ICMPV6 = 1 << 14
const F_ICMP_ECHO = 1 << 15
const F_DNS = 1 << 16
const F_TRUNCATED = 1 << 29
const F_MALFORMED = 1 << 30

/** How the packet relates to this host, from the kernel's `sll_pkttype`. */
export type Direction = 'incoming' | 'broadcast' | 'multicast' | 'otherhost' | 'outgoing' | 'loopback'

/** PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING, PACKET_LOOPBACK. */
const DIRECTIONS: readonly Direction[] = ['incoming', 'broadcast', 'multicast', 'otherhost', 'outgoing', 'loopback']

/** An 802.1Q (or 802.1ad) tag the ring reported for a packet. */
export interface Vlan {
  /** Tag control information: priority (3 bits), drop eligible (1 bit), VLAN id (12 bits). */
  tci: number
  /** Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number
  /** The VLAN id, `tci & 0xfff`. */
  id: number
}

/**
 * The hold a `zeroCopy` capture's packets have on their ring slots: the slots go back to
 * the kernel when the iteration moves past their batch, and `released` says so.
 */
export class Lease {
  released = false
}

/**
 * @internal What the packets of one batch share: the bytes (a Buffer, which the views
 * read), the same bytes as the ArrayBuffer and offset `data` is made over (read off the
 * Buffer for each packet, `buffer` and `byteOffset` would cost about 20 ns more per
 * `data`), the records, and a `zeroCopy` batch's lease.
 */
export class Shared {
  readonly memory: ArrayBuffer
  readonly base: number

  constructor(
    readonly bytes: Buffer,
    readonly meta: Uint32Array,
    readonly lease: Lease | undefined,
  ) {
    this.memory = bytes.buffer as ArrayBuffer
    this.base = bytes.byteOffset
  }
}

/**
 * One captured packet.
 *
 * Packets are copied out of the ring one batch at a time into memory owned by
 * JavaScript, and the ring slot goes straight back to the kernel. So `data` stays valid
 * for as long as you hold the packet, after the iteration moved on and after `close()`.
 * A kept packet keeps its whole batch's buffer alive (up to one ring block); `copy()`
 * keeps only its own bytes.
 *
 * With the `zeroCopy` option, `data` is read in place from the ring instead, and only
 * until the iteration moves past the packet's batch: after that it throws
 * `ERR_NETRING_RELEASED` (the other fields stay). `copy()` keeps a packet for later.
 */
export class Packet {
  readonly #s: Shared
  /** `#s.meta`, which every field reads: one load fewer per read. */
  readonly #meta: Uint32Array
  readonly #at: number

  /** @internal */
  constructor(shared: Shared, at: number) {
    this.#s = shared
    this.#meta = shared.meta
    this.#at = at
  }

  /** The captured bytes, from the link-layer header on; `capturedLength` long. A VLAN
   * tag the kernel had taken off is put back, as libpcap does. */
  get data(): Buffer {
    const s = this.#s
    if (s.lease?.released) throw releasedError()
    return bytesAt(s.memory, s.base + this.#meta[this.#at + OFFSET], this.#meta[this.#at + CAPLEN])
  }

  /** Length on the wire (with a VLAN tag), even when fewer bytes were kept (snaplen). */
  get length(): number {
    return this.#meta[this.#at + LEN]
  }

  /** Bytes kept: `data.length`, at most the snaplen. */
  get capturedLength(): number {
    return this.#meta[this.#at + CAPLEN]
  }

  /** Capture time in nanoseconds since the Unix epoch. */
  get timestamp(): bigint {
    return BigInt(this.#meta[this.#at + SEC]) * 1_000_000_000n + BigInt(this.#meta[this.#at + NSEC])
  }

  /** Index of the interface the packet was seen on. */
  get ifindex(): number {
    return this.#meta[this.#at + IFINDEX] | 0
  }

  get direction(): Direction {
    return DIRECTIONS[this.#meta[this.#at + PKTTYPE]] ?? 'incoming'
  }

  /** The outer VLAN tag: the first in the data, or the one the ring reported where it
   * could not go back into the bytes (a `zeroCopy` slot without room); `undefined` if none. */
  get vlan(): Vlan | undefined {
    const m = this.#meta
    const r = this.#at
    if ((m[r + LAYERS] & F_VLAN) !== 0) return this.vlans[0]
    if ((m[r + FLAGS] & FLAG_VLAN) === 0) return undefined
    const word = m[r + VLAN]
    const tci = word & 0xffff
    return { tci, tpid: word >>> 16, id: tci & 0xfff }
  }

  /** Every VLAN tag in the data, outer first (`[]` when none). */
  get vlans(): Vlan[] {
    const m = this.#meta
    const r = this.#at
    if ((m[r + LAYERS] & F_VLAN) === 0) return []
    const b = this.#bytes()
    const start = m[r + OFFSET]
    // Tags sit between the link header and the network header: each is a TPID (the type
    // field before it) and a TCI.
    const linkEnd = start + linkHeaderLength(m[r + LINK_TYPE])
    const end = start + m[r + NETWORK]
    const tags: Vlan[] = []
    let tpidAt = m[r + LINK_TYPE] === LinkType.LINUX_SLL2 ? start : linkEnd - 2
    for (let at = linkEnd; at + 4 <= end; at += 4) {
      const tci = (b[at] << 8) | b[at + 1]
      tags.push({ tci, tpid: (b[tpidAt] << 8) | b[tpidAt + 1], id: tci & 0xfff })
      tpidAt = at + 2
    }
    return tags
  }

  /** The libpcap LINKTYPE_* of `data` (`LinkType`): 1 for Ethernet. */
  get linkType(): number {
    return this.#meta[this.#at + LINK_TYPE]
  }

  /** The bytes to read headers from; throws once a `zeroCopy` packet's batch is released. */
  #bytes(): Buffer {
    if (this.#s.lease?.released) throw releasedError()
    return this.#s.bytes
  }

  /** Whether the dissector found `flag`'s layer. */
  #has(flag: number): boolean {
    return (this.#meta[this.#at + LAYERS] & flag) !== 0
  }

  /** Offset in the buffer of the header at record word `word`. */
  #offset(word: number): number {
    return this.#meta[this.#at + OFFSET] + this.#meta[this.#at + word]
  }

  /** The Ethernet header. */
  get ethernet(): Ethernet | undefined {
    if (!this.#has(F_ETHERNET)) return undefined
    return new Ethernet(this.#bytes(), this.#meta[this.#at + OFFSET], this.#meta[this.#at + ETHERTYPE])
  }

  /** The Linux cooked capture header (LINKTYPE_LINUX_SLL or _SLL2). */
  get sll(): Sll | undefined {
    if (!this.#has(F_SLL | F_SLL2)) return undefined
    return new Sll(this.#bytes(), this.#meta[this.#at + OFFSET], this.#has(F_SLL) ? 1 : 2)
  }

  get arp(): Arp | undefined {
    return this.#has(F_ARP) ? new Arp(this.#bytes(), this.#offset(NETWORK)) : undefined
  }

  get ipv4(): Ipv4 | undefined {
    return this.#has(F_IPV4) ? new Ipv4(this.#bytes(), this.#offset(NETWORK)) : undefined
  }

  get ipv6(): Ipv6 | undefined {
    if (!this.#has(F_IPV6)) return undefined
    const m = this.#meta
    const r = this.#at
    return new Ipv6(this.#bytes(), this.#offset(NETWORK), m[r + PROTOCOL], m[r + IPV6_EXT], m[r + FRAGMENT], m[r + FRAGMENT_ID])
  }

  /** The IPv4 or IPv6 header, whichever the packet has. */
  get ip(): Ipv4 | Ipv6 | undefined {
    return this.ipv4 ?? this.ipv6
  }

  get tcp(): Tcp | undefined {
    return this.#has(F_TCP) ? new Tcp(this.#bytes(), this.#offset(TRANSPORT)) : undefined
  }

  get udp(): Udp | undefined {
    return this.#has(F_UDP) ? new Udp(this.#bytes(), this.#offset(TRANSPORT)) : undefined
  }

  get icmp(): Icmp | undefined {
    return this.#has(F_ICMP) ? new Icmp(this.#bytes(), this.#offset(TRANSPORT), this.#has(F_ICMP_ECHO)) : undefined
  }

  get icmpv6(): Icmp | undefined {
    return this.#has(F_ICMPV6) ? new Icmp(this.#bytes(), this.#offset(TRANSPORT), this.#has(F_ICMP_ECHO)) : undefined
  }

  /** The bytes after the last header decoded (TCP or UDP data, a later fragment's data,
   * an unknown protocol's bytes), up to where the IP or UDP length ends them: Ethernet
   * padding is not part of it. After a `decodeError`, the bytes from that layer on. */
  get payload(): Buffer {
    const start = this.#offset(PAYLOAD)
    return view(this.#bytes(), start, start + this.#meta[this.#at + PAYLOAD_LEN])
  }

  /** The DNS message of a UDP or TCP packet to or from port 53 or 5353 (mDNS), decoded
   * on each read (it allocates: names, records); `undefined` for other packets and when
   * the payload is not even a DNS header. A message cut short or malformed has the
   * records before the fault and says where in `error`. */
  get dns(): DnsMessage | undefined {
    if (!this.#has(F_DNS)) return undefined
    return decodeDns(this.#bytes(), this.#offset(PAYLOAD), this.#meta[this.#at + PAYLOAD_LEN], this.#has(F_TCP))
  }

  /** Offset in `data` of the network header (IP, ARP, or the bytes after the link
   * header when the protocol is not one decoded), `undefined` without a link header. */
  get networkOffset(): number | undefined {
    const m = this.#meta
    const r = this.#at
    return (m[r + LAYERS] & (F_ETHERNET | F_SLL | F_SLL2 | F_IPV4 | F_IPV6 | F_ARP)) !== 0 || m[r + NETWORK] !== 0 ? m[r + NETWORK] : undefined
  }

  /** Offset in `data` of the transport header (TCP, UDP, ICMP, ICMPv6, or the data of
   * another IP protocol), `undefined` without an IP header before it. */
  get transportOffset(): number | undefined {
    return this.#has(F_IPV4 | F_IPV6) ? this.#meta[this.#at + TRANSPORT] : undefined
  }

  /** Where decoding stopped early, or `undefined` when every header was whole. */
  get decodeError(): DecodeError | undefined {
    const layer = ERROR_LAYERS[this.#meta[this.#at + ERROR_LAYER] - 1]
    if (layer === undefined) return undefined
    const flags = this.#meta[this.#at + LAYERS]
    return { layer, reason: (flags & F_MALFORMED) !== 0 && (flags & F_TRUNCATED) === 0 ? 'malformed' : 'truncated' }
  }

  /** The packet's numbers and decoded headers as plain data (`timestamp` as a string of
   * nanoseconds, since JSON has no BigInt); `JSON.stringify(packet)` uses it. A released
   * `zeroCopy` packet gives its numbers only. */
  toJSON(): object {
    if (this.#s.lease?.released) {
      const { length, capturedLength, ifindex, direction, linkType } = this
      return { timestamp: this.timestamp.toString(), length, capturedLength, ifindex, direction, linkType }
    }
    const json: Record<string, unknown> = {
      timestamp: this.timestamp.toString(),
      length: this.length,
      capturedLength: this.capturedLength,
      ifindex: this.ifindex,
      direction: this.direction,
      linkType: this.linkType,
    }
    const link = { ethernet: this.ethernet, sll: this.sll }
    for (const [name, layer] of Object.entries(link)) if (layer !== undefined) json[name] = layer.toJSON()
    const vlans = this.vlans
    if (vlans.length > 0) json.vlans = vlans
    const layers = { arp: this.arp, ipv4: this.ipv4, ipv6: this.ipv6, tcp: this.tcp, udp: this.udp, icmp: this.icmp, icmpv6: this.icmpv6 }
    for (const [name, layer] of Object.entries(layers)) if (layer !== undefined) json[name] = layer.toJSON()
    const dns = this.dns
    if (dns !== undefined) json.dns = dns
    json.payloadLength = this.#meta[this.#at + PAYLOAD_LEN]
    const error = this.decodeError
    if (error !== undefined) json.decodeError = error
    return json
  }

  /** A packet holding a copy of just its own bytes and numbers (valid for as long as
   * it is held, also from a `zeroCopy` capture). */
  copy(): Packet {
    const meta = this.#meta.slice(this.#at, this.#at + RECORD)
    meta[OFFSET] = 0 // the copied bytes start the new buffer
    return new Packet(new Shared(Buffer.from(this.data), meta, undefined), 0)
  }

  /** @internal */
  [inspect.custom](): object {
    return { ...this.toJSON(), data: this.#s.lease?.released ? '<released>' : this.data }
  }
}

/** Bytes of the link-layer header of `linkType` before any VLAN tag or network header. */
function linkHeaderLength(linkType: number): number {
  switch (linkType) {
    case LinkType.ETHERNET:
      return 14
    case LinkType.LINUX_SLL:
      return 16
    case LinkType.LINUX_SLL2:
      return 20
    default:
      return 0
  }
}

/**
 * Decodes bytes from anywhere (a file, a socket, a test) as a packet of `linkType`
 * (`LinkType`, default Ethernet): the same `Packet` a capture gives, with its length and
 * captured length the bytes' length, timestamp 0 and ifindex 0. The packet keeps `bytes`
 * (no copy): change them and its fields change.
 */
export function decode(bytes: Uint8Array, linkType: number = LinkType.ETHERNET): Packet {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decode: bytes must be a Buffer or Uint8Array, got ${typeof bytes}`)
  if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffffffff) {
    throw new RangeError(`decode: linkType must be an integer from 0 to 4294967295 (a LINKTYPE_* number), got ${String(linkType)}`)
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const meta = new Uint32Array(RECORD)
  meta[CAPLEN] = buffer.length
  meta[LEN] = buffer.length
  meta.set(dissect(buffer, linkType), LAYERS)
  return new Packet(new Shared(buffer, meta, undefined), 0)
}

/** The packets of one ring block (V3), one run of ready frames (V2), or one drain of
 * the socket queue (`int:`): what one wake-up delivered. */
export class Batch implements Iterable<Packet> {
  readonly #s: Shared
  /** Number of packets. */
  readonly length: number

  /** @internal */
  constructor(native: NativeBatch, lease: Lease | undefined) {
    this.#s = new Shared(native.data, native.meta, lease)
    this.length = native.meta.length / RECORD
  }

  /** The packet at `index` (negative counts from the end), or `undefined`. */
  at(index: number): Packet | undefined {
    const i = index < 0 ? this.length + index : index
    return i >= 0 && i < this.length ? new Packet(this.#s, i * RECORD) : undefined
  }

  [Symbol.iterator](): Iterator<Packet> {
    return new BatchIterator(this.#s)
  }
}

/** A batch's packets in order. A generator would cost about 15 ns more per packet. */
class BatchIterator implements Iterator<Packet> {
  readonly #s: Shared
  #at = 0

  constructor(shared: Shared) {
    this.#s = shared
  }

  next(): IteratorResult<Packet> {
    const at = this.#at
    if (at >= this.#s.meta.length) return { done: true, value: undefined }
    this.#at = at + RECORD
    return { done: false, value: new Packet(this.#s, at) }
  }
}
