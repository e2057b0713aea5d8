/**
 * The decode oracle: tshark and netring read the same capture file, and every field tshark
 * reports is compared with the value of netring's decoded views (`Packet.ethernet`,
 * `.ipv4`, `.tcp`, …, `.dns`). Used by
 * __test__/decode.spec.ts; the field table (`FIELDS`) says how each tshark field maps to a
 * view, and its comments say where tshark's format differs from netring's.
 */
import { execFileSync } from 'node:child_process'
import { inspect } from 'node:util'

import { open, type Packet } from 'netring'

/** A view value as tshark would print it: numbers in decimal, booleans 1/0, lists joined with ','. */
type Value = string | number | boolean | bigint | readonly (string | number)[] | undefined

/** The layers a decode error can name, in the order they are decoded. */
const LAYER_RANK: Record<string, number> = {
  link: 0,
  vlan: 1,
  arp: 2,
  ipv4: 2,
  ipv6: 2,
  'ipv6-extension': 3,
  tcp: 4,
  udp: 4,
  icmp: 4,
  icmpv6: 4,
  dns: 5,
}

/** The layer a tshark protocol belongs to (for truncation), and the view that shows it. */
const PROTOCOL_LAYER: Record<string, string> = {
  eth: 'link',
  sll: 'link',
  vlan: 'vlan',
  ieee8021ad: 'vlan',
  arp: 'arp',
  ip: 'ipv4',
  ipv6: 'ipv6',
  'ipv6.hopopts': 'ipv6-extension',
  'ipv6.routing': 'ipv6-extension',
  'ipv6.fraghdr': 'ipv6-extension',
  'ipv6.dstopts': 'ipv6-extension',
  tcp: 'tcp',
  udp: 'udp',
  icmp: 'icmp',
  icmpv6: 'icmpv6',
  dns: 'dns',
}

// Untyped access to the views: the spec is the contract, and a view that lacks a field
// must show up as a disagreement, not as a compile error in the test.
/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyPacket = Packet & Record<string, any>

const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined || b.length === 0 ? undefined : Buffer.from(b).toString('hex'))
const bit = (v: number | undefined, b: number): number | undefined => (v === undefined ? undefined : (v >> b) & 1)

/**
 * Option types (IPv4, RFC 791) or kinds (TCP, RFC 9293) as tshark lists them: NOP is one
 * byte, others type-length-value, EOL ends the list; tshark 4.0 lists each TCP byte after an
 * EOL as one more EOL (`tcp`), and IPv4's EOL once.
 */
export function optionTypes(options: Uint8Array | undefined, tcp = false): number[] | undefined {
  if (options === undefined || options.length === 0) return undefined
  const types: number[] = []
  for (let i = 0; i < options.length; ) {
    const type = options[i]
    types.push(type)
    if (type === 0) {
      if (tcp) for (let j = i + 1; j < options.length; j++) types.push(0)
      break
    }
    if (type === 1) {
      i++
      continue
    }
    // tshark leaves out an option whose length is under 2 or runs past the header.
    const len = options[i + 1]
    if (len === undefined || len < 2 || i + len > options.length) {
      types.pop()
      break
    }
    i += len
  }
  return types
}

/** IPv4 option types Wireshark 4.0 names (packet-ip.c); it lists no ip.opt.type for others. */
const IP_OPTIONS = new Set([0, 1, 7, 11, 12, 25, 68, 82, 130, 131, 133, 134, 136, 137, 145, 147, 148, 149, 150, 151, 152, 158, 205, 222])

/**
 * Whether tshark's list of option types can be read off the bytes: every option's length
 * fits, only zeros follow an EOL, and (IPv4) every type is one tshark names. Elsewhere
 * tshark stops or goes on in its own ways; the raw bytes are still compared (tcp.options).
 */
function wellFormed(options: Uint8Array | undefined, ip: boolean): boolean {
  if (options === undefined) return true
  for (let i = 0; i < options.length; ) {
    const type = options[i]
    if (ip && !IP_OPTIONS.has(type)) return false
    if (type === 0) return options.subarray(i).every((b) => b === 0)
    if (type === 1) {
      i++
      continue
    }
    const len = options[i + 1]
    if (len === undefined || len < 2 || i + len > options.length) return false
    // TCP kinds of a fixed length (RFC 9293 MSS, RFC 7323 WS and TS, RFC 2018 SACK): tshark stops at a wrong one.
    if (!ip && !(TCP_LENGTHS[type]?.includes(len) ?? true)) return false
    i += len
  }
  return true
}

const TCP_LENGTHS: Record<number, number[]> = { 2: [4], 3: [3], 4: [2], 5: [10, 18, 26, 34], 8: [10] }

/** The tags of `p` as the list (vlans) or, when only the ring reported one, the outer tag. */
function tags(p: AnyPacket): { tci: number; tpid: number; id: number }[] {
  const list = p.vlans ?? []
  return list.length === 0 && p.vlan !== undefined ? [p.vlan] : list
}

/** 802.1Q (and 0x9100) tags are tshark's `vlan`; 802.1ad (0x88a8) tags its `ieee8021ad`. */
const q = (p: AnyPacket) => tags(p).filter((t) => t.tpid !== 0x88a8)
const ad = (p: AnyPacket) => tags(p).filter((t) => t.tpid === 0x88a8)
const list = (v: number[]): number[] | undefined => (v.length === 0 ? undefined : v)

/** The type after each 802.1Q tag: the next tag's TPID, or the payload's ethertype after the last. */
function vlanTypes(p: AnyPacket): number[] | undefined {
  const all = tags(p)
  const out: number[] = []
  all.forEach((t, i) => {
    if (t.tpid === 0x88a8) return
    // After the last tag, an 802.3 length (etherType 0) is tshark's vlan.len, not vlan.etype.
    if (i + 1 < all.length) out.push(all[i + 1].tpid)
    else if (p.ethernet?.etherType) out.push(p.ethernet.etherType)
  })
  return list(out)
}

const isEcho = (type: number | undefined, v6: boolean) => (v6 ? type === 128 || type === 129 : type === 0 || type === 8)

export interface Field {
  /** tshark's field name (`tshark -G fields`). */
  name: string
  /** netring's value. */
  netring: (p: AnyPacket) => Value
  /** Compare only whether both have the field, not its value. */
  presence?: boolean
  /** Where tshark's field means something netring does not show: not compared. */
  skip?: (p: AnyPacket, tshark: string, row: Map<string, string>) => boolean
}

const laterFragment = (p: AnyPacket): boolean => (p.ipv4?.fragmentOffset ?? 0) > 0 || (p.ipv6?.fragment?.offset ?? 0) > 0
const twoAd = (p: AnyPacket): boolean => tags(p).some((t, i, all) => t.tpid === 0x88a8 && all[i + 1]?.tpid === 0x88a8)
const arpEther = (p: AnyPacket): boolean => p.arp !== undefined && [1, 6].includes(p.arp.hardwareType) && p.arp.hardwareSize === 6
const arpIpv4 = (p: AnyPacket): boolean => p.arp !== undefined && [0x0800, 0xcc].includes(p.arp.protocolType) && p.arp.protocolSize === 4
const accEcn = (_: AnyPacket, __: string, row: Map<string, string>): boolean => (row.get('tcp.flags.ace') ?? '') !== ''
const f = (name: string, netring: (p: AnyPacket) => Value, presence = false, skip?: Field['skip']): Field => ({ name, netring, presence, skip })

/** The bytes the IP header says follow it (IPv4 total length less the header, IPv6 payload length less extension headers are not known: undefined). */
const udpIpLength = (p: AnyPacket): number | undefined => (p.ipv4 !== undefined ? p.ipv4.length - p.ipv4.headerLength : p.ipv6 !== undefined && p.ipv6.extensions === 0 ? p.ipv6.payloadLength : undefined)

/**
 * The compared fields. tshark -T fields prints BASE_HEX integers as 0x…, booleans as 1/0 or
 * True/False, byte fields as plain hex, and a repeated field once per occurrence.
 */
export const FIELDS: Field[] = [
  f('frame.len', (p) => p.length),
  f('frame.cap_len', (p) => p.capturedLength),
  f('eth.src', (p) => p.ethernet?.src),
  f('eth.dst', (p) => p.ethernet?.dst),
  // eth.type is the type/length field when it is a type (≥ 0x600, 0x8100 when tagged); eth.len when a length.
  // Wireshark takes 0x0000 for a type (ETHERTYPE_UNK), not a length.
  // A length is at most 1500 for tshark (IEEE_802_3_MAX_LEN); 1501–1535 are neither in 802.3.
  f('eth.type', (p) => (p.ethernet === undefined || (p.ethernet.type <= 1500 && p.ethernet.type !== 0) ? undefined : p.ethernet.type)),
  f('eth.len', (p) => (p.ethernet === undefined || p.ethernet.type > 1500 || p.ethernet.type === 0 ? undefined : p.ethernet.type)),
  f('vlan.id', (p) => list(q(p).map((t) => t.id))),
  f('vlan.priority', (p) => list(q(p).map((t) => t.tci >> 13))),
  f('vlan.dei', (p) => list(q(p).map((t) => (t.tci >> 12) & 1))),
  // After SLL's tags netring has no field for the type (etherType is Ethernet's).
  f('vlan.etype', vlanTypes, false, (p) => p.ethernet === undefined),
  // Two 802.1ad tags in a row tshark reads as one S-tag/C-tag pair (ieee8021ad.svid, .cvid).
  f('ieee8021ad.id', (p) => list(ad(p).map((t) => t.id)), false, twoAd),
  f('ieee8021ad.priority', (p) => list(ad(p).map((t) => t.tci >> 13)), false, twoAd),
  f('ieee8021ad.dei', (p) => list(ad(p).map((t) => (t.tci >> 12) & 1)), false, twoAd),
  f('sll.pkttype', (p) => p.sll?.packetType),
  f('sll.hatype', (p) => p.sll?.hardwareType),
  // netring's address holds at most 8 bytes of a longer one (as the header does).
  f('sll.halen', (p) => (p.sll === undefined ? undefined : p.sll.address === '' ? 0 : p.sll.address.split(':').length), false, (_, theirs) => Number(theirs) > 8),
  f('sll.ifindex', (p) => p.sll?.ifindex),
  // tshark picks the address's form by its length alone: 6 bytes Ethernet, 4 IPv4, else bytes.
  f('sll.src.eth', (p) => (p.sll !== undefined && p.sll.address.split(':').length === 6 ? p.sll.address : undefined)),
  f('sll.src.ipv4', (p) => (p.sll !== undefined && p.sll.address.split(':').length === 4 ? p.sll.address.split(':').map((h: string) => parseInt(h, 16)).join('.') : undefined)),
  f('sll.src.other', (p) => (p.sll !== undefined && p.sll.address !== '' && ![4, 6].includes(p.sll.address.split(':').length) ? p.sll.address.replace(/:/g, '') : undefined)),
  // tshark's SLL: a protocol up to 1536 is a Linux protocol number (sll.ltype), above it an ethertype.
  f('sll.etype', (p) => (p.sll === undefined || p.sll.protocol <= 1536 ? undefined : p.sll.protocol)),
  f('sll.ltype', (p) => (p.sll === undefined || p.sll.protocol > 1536 ? undefined : p.sll.protocol)),
  f('arp.hw.type', (p) => p.arp?.hardwareType),
  f('arp.proto.type', (p) => p.arp?.protocolType),
  f('arp.hw.size', (p) => p.arp?.hardwareSize),
  f('arp.proto.size', (p) => p.arp?.protocolSize),
  f('arp.opcode', (p) => p.arp?.operation),
  // tshark names the addresses of Ethernet/IEEE 802 hardware (1, 6) of 6 bytes, and IPv4 (0x0800, AX.25's 0xcc) of 4 (packet-arp.c).
  f('arp.src.hw_mac', (p) => (arpEther(p) ? p.arp?.senderMac : undefined)),
  f('arp.src.proto_ipv4', (p) => (arpIpv4(p) ? p.arp?.senderIp : undefined)),
  f('arp.dst.hw_mac', (p) => (arpEther(p) ? p.arp?.targetMac : undefined)),
  f('arp.dst.proto_ipv4', (p) => (arpIpv4(p) ? p.arp?.targetIp : undefined)),
  f('ip.version', (p) => p.ipv4?.version),
  f('ip.hdr_len', (p) => p.ipv4?.headerLength),
  f('ip.dsfield', (p) => p.ipv4?.tos),
  f('ip.dsfield.dscp', (p) => p.ipv4?.dscp),
  f('ip.dsfield.ecn', (p) => p.ipv4?.ecn),
  f('ip.len', (p) => p.ipv4?.length),
  f('ip.id', (p) => p.ipv4?.id),
  // ip.flags: the 3 flag bits as a number (0x02 = DF), as netring's flags.
  f('ip.flags', (p) => p.ipv4?.flags),
  f('ip.flags.rb', (p) => bit(p.ipv4?.flags, 2)),
  f('ip.flags.df', (p) => p.ipv4?.dontFragment),
  f('ip.flags.mf', (p) => p.ipv4?.moreFragments),
  // tshark 4.0: ip.frag_offset in 8-byte units, as written (185 for byte 1480).
  f('ip.frag_offset', (p) => p.ipv4?.fragmentOffset),
  f('ip.ttl', (p) => p.ipv4?.ttl),
  f('ip.proto', (p) => p.ipv4?.protocol),
  f('ip.checksum', (p) => p.ipv4?.checksum),
  f('ip.src', (p) => p.ipv4?.src),
  f('ip.dst', (p) => p.ipv4?.dst),
  f('ip.opt.type', (p) => optionTypes(p.ipv4?.options), false, (p) => !wellFormed(p.ipv4?.options, true)),
  f('ipv6.version', (p) => p.ipv6?.version),
  f('ipv6.tclass', (p) => p.ipv6?.trafficClass),
  f('ipv6.flow', (p) => p.ipv6?.flowLabel),
  f('ipv6.plen', (p) => p.ipv6?.payloadLength),
  f('ipv6.nxt', (p) => p.ipv6?.nextHeader),
  f('ipv6.hlim', (p) => p.ipv6?.hopLimit),
  f('ipv6.src', (p) => p.ipv6?.src),
  f('ipv6.dst', (p) => p.ipv6?.dst),
  f('ipv6.hopopts.nxt', (p) => (p.ipv6 !== undefined && p.ipv6.extensions & 1 ? 1 : undefined), true),
  f('ipv6.routing.nxt', (p) => (p.ipv6 !== undefined && p.ipv6.extensions & 2 ? 1 : undefined), true),
  f('ipv6.fraghdr.nxt', (p) => (p.ipv6 !== undefined && p.ipv6.extensions & 4 ? 1 : undefined), true),
  f('ipv6.dstopts.nxt', (p) => (p.ipv6 !== undefined && p.ipv6.extensions & 8 ? 1 : undefined), true),
  f('ipv6.fraghdr.offset', (p) => p.ipv6?.fragment?.offset),
  f('ipv6.fraghdr.more', (p) => p.ipv6?.fragment?.more),
  f('ipv6.fraghdr.ident', (p) => p.ipv6?.fragment?.id),
  f('tcp.srcport', (p) => p.tcp?.srcPort),
  f('tcp.dstport', (p) => p.tcp?.dstPort),
  f('tcp.seq_raw', (p) => p.tcp?.seq),
  f('tcp.ack_raw', (p) => p.tcp?.ack),
  f('tcp.hdr_len', (p) => p.tcp?.headerLength),
  f('tcp.flags', (p) => p.tcp?.flags),
  f('tcp.flags.fin', (p) => p.tcp?.FIN),
  f('tcp.flags.syn', (p) => p.tcp?.SYN),
  f('tcp.flags.reset', (p) => p.tcp?.RST),
  f('tcp.flags.push', (p) => p.tcp?.PSH),
  f('tcp.flags.ack', (p) => p.tcp?.ACK),
  f('tcp.flags.urg', (p) => p.tcp?.URG),
  // Once a conversation's SYN asked for Accurate ECN (RFC 9768), tshark 4.0 shows the three
  // bits as one counter (tcp.flags.ace) instead; it calls the NS bit (0x100) "Accurate ECN".
  f('tcp.flags.ece', (p) => p.tcp?.ECE, false, accEcn),
  f('tcp.flags.cwr', (p) => p.tcp?.CWR, false, accEcn),
  f('tcp.flags.ae', (p) => p.tcp?.NS, false, accEcn),
  f('tcp.window_size_value', (p) => p.tcp?.window),
  f('tcp.checksum', (p) => p.tcp?.checksum),
  f('tcp.urgent_pointer', (p) => p.tcp?.urgentPointer),
  f('tcp.options', (p) => hex(p.tcp?.options)),
  f('tcp.option_kind', (p) => optionTypes(p.tcp?.options, true), false, (p) => !wellFormed(p.tcp?.options, false)),
  // tshark leaves tcp.len out of a fragment it does not reassemble.
  f('tcp.len', (p) => (p.tcp === undefined || p.ipv4?.moreFragments || p.ipv6?.fragment !== undefined ? undefined : p.payload?.length ?? 0)),
  // tshark shows a RST's data as its reset cause, not as tcp.payload.
  f('tcp.payload', (p) => (p.tcp === undefined ? undefined : hex(p.payload)), false, (p) => p.tcp?.RST === true),
  f('udp.srcport', (p) => p.udp?.srcPort),
  f('udp.dstport', (p) => p.udp?.dstPort),
  f('udp.length', (p) => p.udp?.length),
  f('udp.checksum', (p) => p.udp?.checksum),
  // netring cuts the payload at the UDP length; tshark shows what the IP header says follows.
  f('udp.payload', (p) => (p.udp === undefined ? undefined : hex(p.payload)), false, (p) => p.udp !== undefined && p.udp.length !== udpIpLength(p)),
  // A later fragment's bytes (no reassembly) are tshark's data.data and netring's payload.
  f('data.data', (p) => (laterFragment(p) ? hex(p.payload) : undefined), false, (p) => !laterFragment(p)),
  f('icmp.type', (p) => p.icmp?.type),
  f('icmp.code', (p) => p.icmp?.code),
  f('icmp.checksum', (p) => p.icmp?.checksum),
  // netring reads an identifier and sequence of echo messages only; tshark of timestamp,
  // information, address mask and extended echo (RFC 8335) messages too.
  f('icmp.ident', (p) => (isEcho(p.icmp?.type, false) ? p.icmp?.id : undefined), false, (p) => !isEcho(p.icmp?.type, false)),
  f('icmp.seq', (p) => (isEcho(p.icmp?.type, false) ? p.icmp?.seq : undefined), false, (p) => !isEcho(p.icmp?.type, false)),
  f('icmpv6.type', (p) => p.icmpv6?.type),
  f('icmpv6.code', (p) => p.icmpv6?.code),
  f('icmpv6.checksum', (p) => p.icmpv6?.checksum),
  // As for ICMP: tshark reads them of extended echo (160, 161) too.
  f('icmpv6.echo.identifier', (p) => (isEcho(p.icmpv6?.type, true) ? p.icmpv6?.id : undefined), false, (p) => !isEcho(p.icmpv6?.type, true)),
  f('icmpv6.echo.sequence_number', (p) => (isEcho(p.icmpv6?.type, true) ? p.icmpv6?.seq : undefined), false, (p) => !isEcho(p.icmpv6?.type, true)),
]

/** Every record of the answer, authority and additional sections of `p.dns`, those `keep` keeps. */
function records(p: AnyPacket, keep: (r: any) => boolean = () => true): any[] {
  const m = p.dns
  return m === undefined ? [] : [...m.answers, ...m.authorities, ...m.additionals].filter(keep)
}
const ofType = (p: AnyPacket, type: number, key?: string) => records(p, (r) => r.type === type).map((r) => (key === undefined ? r.data : r.data[key]))
const dnsError = (p: AnyPacket): boolean => p.dns?.error !== undefined

/**
 * Where tshark's DNS is not netring's: off ports 53 and 5353 (tshark follows conversations
 * and heuristics; netring decodes those ports only), under 12 bytes (netring: no message),
 * and names with escapes (tshark writes a label's odd bytes as C escapes, netring as
 * dig's decimal \DDD, see src/dns.ts).
 */
function dnsSkip(p: AnyPacket, theirs = ''): boolean {
  const t = p.udp ?? p.tcp
  if (t === undefined || ![53, 5353].includes(t.srcPort) && ![53, 5353].includes(t.dstPort)) return true
  if ((p.payload?.length ?? 0) < (p.tcp ? 14 : 12)) return true
  // A RST's data is tshark's reset cause.
  if (p.tcp?.RST) return true
  // Over TCP: a length under a header, or more than one message in the segment (netring
  // reads the first; tshark reads each, and one of under 12 bytes too).
  if (p.tcp !== undefined && p.payload !== undefined) {
    const length = p.payload.readUInt16BE(0)
    if (length < 12 || p.payload.length > 2 + length) return true
  }
  return theirs.includes('\\') || JSON.stringify(p.dns ?? {}).includes('\\\\')
}

/** Text tshark shows otherwise: it ends a TXT string at a NUL, shows control bytes as escapes and each byte over 0x7f as U+FFFD (a ',' would split it). */
const oddText = (p: AnyPacket): boolean => ofType(p, 16).flat().some((t: string) => /[^\u0020-\u007e]|,/.test(t))

/** UPDATE (opcode 5, RFC 2136) names the sections zones, prerequisites, updates: other tshark fields. */
const update = (p: AnyPacket): boolean => p.dns?.opcode === 5
const dnsList = (v: unknown[]): any => (v.length === 0 ? undefined : v)
const response = (p: AnyPacket, v: unknown): any => (p.dns?.response ? v : undefined)

/**
 * tshark's dns.* fields against `packet.dns` (src/dns.ts `DnsMessage`), as __test__/dns.spec.ts
 * maps them: tshark shows AA, RA and RCODE of responses only, a port-53 class with its top
 * bit, an SRV record's name as service/proto/name rather than dns.resp.name.
 */
export const DNS_FIELDS: Field[] = ([
  f('dns.id', (p) => p.dns?.id),
  f('dns.flags.response', (p) => p.dns?.response),
  f('dns.flags.opcode', (p) => p.dns?.opcode),
  f('dns.flags.authoritative', (p) => response(p, p.dns?.authoritative)),
  f('dns.flags.truncated', (p) => p.dns?.truncated),
  f('dns.flags.recdesired', (p) => p.dns?.recursionDesired),
  f('dns.flags.recavail', (p) => response(p, p.dns?.recursionAvailable)),
  f('dns.flags.rcode', (p) => response(p, p.dns?.rcode)),
  // The header's counts (dns.counts), also of a message cut short; the sections' lengths
  // must be them when nothing is wrong.
  f('dns.count.queries', (p) => p.dns?.counts.questions),
  f('dns.count.answers', (p) => p.dns?.counts.answers),
  f('dns.count.auth_rr', (p) => p.dns?.counts.authorities),
  f('dns.count.add_rr', (p) => p.dns?.counts.additionals),
  f('dns.qry.name', (p) => dnsList(p.dns?.questions.map((q: any) => q.name) ?? [])),
  f('dns.qry.type', (p) => dnsList(p.dns?.questions.map((q: any) => q.type) ?? [])),
  f('dns.qry.class', (p) => dnsList(p.dns?.questions.map((q: any) => (q.unicastResponse ? q.class | 0x8000 : q.class)) ?? [])),
  f('dns.resp.name', (p) => dnsList(records(p, (r) => r.type !== 33).map((r) => r.name))),
  f('dns.resp.type', (p) => dnsList(records(p).map((r) => r.type))),
  f('dns.resp.class', (p) => dnsList(records(p, (r) => r.type !== 41).map((r) => (r.cacheFlush ? r.class | 0x8000 : r.class)))),
  f('dns.resp.ttl', (p) => dnsList(records(p, (r) => r.type !== 41).map((r) => r.ttl))),
  f('dns.a', (p) => dnsList(ofType(p, 1))),
  f('dns.aaaa', (p) => dnsList(ofType(p, 28))),
  f('dns.cname', (p) => dnsList(ofType(p, 5))),
  f('dns.mx.preference', (p) => dnsList(ofType(p, 15, 'preference'))),
  f('dns.mx.mail_exchange', (p) => dnsList(ofType(p, 15, 'exchange'))),
  f('dns.txt', (p) => dnsList(ofType(p, 16).flat()), false, oddText),
  f('dns.srv.priority', (p) => dnsList(ofType(p, 33, 'priority'))),
  f('dns.srv.weight', (p) => dnsList(ofType(p, 33, 'weight'))),
  f('dns.srv.port', (p) => dnsList(ofType(p, 33, 'port'))),
  f('dns.srv.target', (p) => dnsList(ofType(p, 33, 'target'))),
] as Field[]).map((x) => ({
  ...x,
  // Of a message cut short or malformed netring keeps the entries before the fault and
  // tshark goes on past it (e.g. with "<Unknown extended label>"): only the header is compared.
  // tshark stops at an exception in a record it cannot read (malformed): likewise.
  skip: (p, theirs, row) =>
    dnsSkip(p, theirs) ||
    (!/^dns\.(id|flags\.|count\.)/.test(x.name) && (dnsError(p) || update(p) || (row.get('_ws.malformed') ?? '') !== '' || (row.get('_ws.unreassembled') ?? '') !== '')) ||
    // UPDATE's counts are tshark's dns.count.zones, .prerequisites, .updates
    (x.name.startsWith('dns.count.') && update(p) && x.name !== 'dns.count.add_rr') ||
    (x.skip?.(p, theirs, row) ?? false),
}))

/**
 * A plain copy of a view: every getter read (own and inherited), nested views likewise,
 * bytes as hex; so checks see every field, not only those toJSON() shows.
 */
export function snapshot(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object') return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  if (Array.isArray(v)) return v.map((x) => snapshot(x, depth + 1))
  if (depth > 6) return '[deep]'
  const out: Record<string, unknown> = {}
  for (let proto: object | null = v; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const n of Object.getOwnPropertyNames(proto)) {
      if (n === 'constructor' || n in out) continue
      const value = (v as Record<string, unknown>)[n]
      if (typeof value !== 'function') out[n] = snapshot(value, depth + 1)
    }
  }
  return out
}

/** Header fields of one value per header (not lists: options, extension headers). */
const SINGLE = /^(ip|ipv6|tcp|udp|icmp|icmpv6)\.(?!opt\.|option_kind|options|hopopts|routing|fraghdr|dstopts)/

/** Extra tshark fields read for the checks that are not one field each. */
const EXTRA = ['frame.number', 'frame.protocols', '_ws.malformed', '_ws.unreassembled', 'tcp.flags.ace', 'ipv6.nxt', 'ipv6.hopopts.nxt', 'ipv6.routing.nxt', 'ipv6.fraghdr.nxt', 'ipv6.dstopts.nxt', 'ah.next_header', 'shim6.nxt']

let known: Set<string> | undefined
/** The field names this tshark knows (`tshark -G fields`), so a field another version lacks is left out, not fatal. */
function knownFields(): Set<string> {
  if (known !== undefined) return known
  const text = execFileSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] })
  known = new Set(text.split('\n').map((l) => l.split('\t')[2]))
  return known
}

/** `path` read by tshark, one map of field → raw value per frame ('' when absent). */
export function tshark(path: string, fields: string[]): Map<string, string>[] {
  const names = [...new Set([...EXTRA, ...fields])].filter((n) => knownFields().has(n))
  const args = ['-n', '-r', path]
  // Per-frame fields: no IP reassembly, no TCP stream reassembly or relative numbers.
  for (const pref of ['ip.defragment:FALSE', 'ipv6.defragment:FALSE', 'tcp.desegment_tcp_streams:FALSE', 'tcp.analyze_sequence_numbers:FALSE', 'tcp.relative_sequence_numbers:FALSE']) {
    args.push('-o', pref)
  }
  args.push('-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'quote=n')
  for (const n of names) args.push('-e', n)
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] })
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const values = line.split('\t')
      return new Map(names.map((n, i) => [n, values[i] ?? '']))
    })
}

/** tshark's printing normalised: 0x… to decimal, True/False to 1/0, per occurrence. */
function normalise(v: string): string {
  return v
    .split(',')
    .map((part) => (/^0x[0-9a-f]+$/i.test(part) ? BigInt(part).toString() : part === 'True' ? '1' : part === 'False' ? '0' : part))
    .join(',')
}

/**
 * A view value in the same form; undefined, empty lists and empty text as undefined (in
 * -T fields an empty value and an absent one look the same).
 */
function render(v: Value): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'boolean') return v ? '1' : '0'
  const text = Array.isArray(v) ? v.map((x) => String(x)).join(',') : String(v)
  return text === '' ? undefined : text
}

/** The next-header value the chain of extension headers ends with, as tshark shows the chain. */
function finalNextHeader(row: Map<string, string>): number | undefined {
  const first = row.get('ipv6.nxt')?.split(',')[0]
  if (first === undefined || first === '') return undefined
  let nh = Number(first)
  const byType: Record<number, string> = { 0: 'ipv6.hopopts.nxt', 43: 'ipv6.routing.nxt', 44: 'ipv6.fraghdr.nxt', 60: 'ipv6.dstopts.nxt', 51: 'ah.next_header', 140: 'shim6.nxt' }
  const seen: Record<string, number> = {}
  for (let hops = 0; hops < 16; hops++) {
    const field = byType[nh]
    if (field === undefined) return nh
    const values = (row.get(field) ?? '').split(',').filter((v) => v !== '')
    const i = seen[field] ?? 0
    if (i >= values.length) return nh
    seen[field] = i + 1
    nh = Number(values[i])
  }
  return nh
}

/** A packet as the oracle keeps it: the bytes (for the later tests) and what was compared. */
export interface Kept {
  data: Buffer
  linkType: number
  length: number
  timestamp: bigint
  /** Header layers netring found (`ethernet`, `ipv4`, …) and its decodeError. */
  layers: string[]
  decodeError?: { layer: string; reason: string }
  views: Record<string, unknown>
  /** `packetSnapshot()` of the packet as read from the file. */
  full: Record<string, unknown>
}

/** What a packet decodes to, every view read through its getters (`snapshot`). */
export function packetSnapshot(p: AnyPacket): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of ['linkType', 'ethernet', 'sll', 'vlan', 'vlans', 'arp', 'ipv4', 'ipv6', 'ip', 'tcp', 'udp', 'icmp', 'icmpv6', 'payload', 'dns', 'decodeError']) {
    out[key] = snapshot(p[key])
  }
  return out
}

export interface Comparison {
  packets: Kept[]
  /** Fields compared where at least one side had a value. */
  compared: number
  /** How often each tshark field was compared. */
  perField: Map<string, number>
  /** Disagreements, one line each, with the frame's bytes. */
  disagreements: string[]
  /** tshark fields of an inner packet (inside ICMP errors) or of a layer netring stopped at; not compared. */
  skipped: number
}

/** netring's header views, in decode order, and tshark's name of each. */
export const VIEWS: [view: string, protocol: string][] = [
  ['ethernet', 'eth'],
  ['sll', 'sll'],
  ['arp', 'arp'],
  ['ipv4', 'ip'],
  ['ipv6', 'ipv6'],
  ['tcp', 'tcp'],
  ['udp', 'udp'],
  ['icmp', 'icmp'],
  ['icmpv6', 'icmpv6'],
  ['dns', 'dns'],
]

/** The decode-error layer a view belongs to. */
export const VIEW_LAYER: Record<string, string> = { ethernet: 'link', sll: 'link', arp: 'arp', ipv4: 'ipv4', ipv6: 'ipv6', tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmpv6: 'icmpv6', dns: 'dns' }

export function layersOf(p: AnyPacket): string[] {
  return VIEWS.map(([v]) => v).filter((v) => p[v] !== undefined)
}

/** Reads every view of `p`, toJSON() and util.inspect(); throws what a getter threw. */
export function touchAll(p: AnyPacket, withInspect = true): void {
  const seen = new Set<unknown>()
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 6 || ArrayBuffer.isView(v)) return
    seen.add(v)
    let proto: object | null = v
    const names = new Set<string>()
    while (proto !== null && proto !== Object.prototype && proto !== Array.prototype) {
      for (const n of Object.getOwnPropertyNames(proto)) names.add(n)
      proto = Object.getPrototypeOf(proto)
    }
    for (const n of names) {
      if (n === 'constructor') continue
      const value = (v as Record<string, unknown>)[n]
      if (typeof value !== 'function') walk(value, depth + 1)
    }
  }
  for (const key of ['linkType', 'ethernet', 'sll', 'vlan', 'vlans', 'arp', 'ipv4', 'ipv6', 'ip', 'tcp', 'udp', 'icmp', 'icmpv6', 'payload', 'dns', 'decodeError']) {
    walk(p[key], 0)
  }
  JSON.stringify(p.toJSON())
  if (withInspect) inspect(p, { depth: 8 })
}

/** The layer (rank) a tshark field belongs to. */
function fieldLayer(name: string): string | undefined {
  const parts = name.split('.')
  return PROTOCOL_LAYER[`${parts[0]}.${parts[1]}`] ?? PROTOCOL_LAYER[parts[0]]
}

/**
 * Reads `path` with netring and tshark and compares them field by field. `extra` adds
 * fields (DNS) with their own netring side.
 */
export async function compareFile(path: string, extra: Field[] = DNS_FIELDS): Promise<Comparison> {
  const fields = [...FIELDS, ...extra]
  const rows = tshark(
    path,
    fields.map((x) => x.name),
  )
  const names = new Set(rows[0]?.keys() ?? [])
  const result: Comparison = { packets: [], compared: 0, perField: new Map(), disagreements: [], skipped: 0 }
  let i = 0
  for await (const packet of open(`pcapfile:${path}`)) {
    const p = packet as AnyPacket
    const row = rows[i++]
    const data = Buffer.from(p.data)
    const label = `${path.split('/').pop()}#${i}`
    const say = (what: string): void => {
      result.disagreements.push(`${label} ${what}\n    tshark protocols ${row?.get('frame.protocols') ?? '?'}\n    bytes ${data.toString('hex')}`)
    }
    if (row === undefined) {
      say('tshark printed no line for this frame')
      continue
    }
    const views: Record<string, unknown> = {}
    let error: { layer: string; reason: string } | undefined
    try {
      touchAll(p, false)
      error = p.decodeError
      for (const [v] of VIEWS) if (p[v] !== undefined) views[v] = snapshot(p[v])
    } catch (e) {
      say(`a getter threw: ${(e as Error).stack}`)
      continue
    }
    const layers = layersOf(p)
    // BSD loopback: a family netring does not know (2 IPv4; 24, 28, 30 IPv6) tshark may
    // still read, taking its upper half for an ethertype (packet-null.c); not compared.
    if ((p.linkType === 0 || p.linkType === 108) && data.length >= 4) {
      const family = p.linkType === 0 ? data.readUInt32LE(0) : data.readUInt32BE(0)
      if (![2, 24, 28, 30].includes(family)) {
        result.skipped++
        result.packets.push({ data, linkType: p.linkType, length: p.length, timestamp: p.timestamp, layers, decodeError: error, views, full: packetSnapshot(p) })
        continue
      }
    }
    result.packets.push({ data, linkType: p.linkType, length: p.length, timestamp: p.timestamp, layers, decodeError: error, views, full: packetSnapshot(p) })
    // The protocols of this packet, not of one inside it (an ICMP error's quote, IP in IP,
    // Ethernet in IP), which tshark decodes too: the chain up to a link or network layer
    // after the first network layer.
    // An 802.2 LLC header (802.3 frames) netring does not decode: what tshark finds behind it is not compared.
    const full = (row.get('frame.protocols') ?? '').split(':')
    const chain = full.includes('llc') ? full.slice(0, full.indexOf('llc') + 1) : full
    const network = (c: string) => c === 'ip' || c === 'ipv6'
    const first = chain.findIndex(network)
    const second = first < 0 ? -1 : chain.findIndex((c, k) => k > first && (network(c) || ['eth', 'vlan', 'ieee8021ad', 'arp', 'sll'].includes(c)))
    const outer = second < 0 ? chain : chain.slice(0, second)
    const inner = second < 0 ? [] : chain.slice(second)
    const cut = error === undefined ? Infinity : LAYER_RANK[error.layer] ?? -1
    // (a BoundError past a record's data is _ws.unreassembled with reassembly off)
    const malformed = (row.get('_ws.malformed') ?? '') !== '' || (row.get('_ws.unreassembled') ?? '') !== ''
    for (const field of fields) {
      if (!names.has(field.name)) continue
      let theirs = row.get(field.name) ?? ''
      const proto = field.name.split('.')[0]
      const protocolName = proto === 'frame' ? 'frame' : proto
      if (protocolName !== 'frame' && !outer.includes(protocolName)) {
        if (theirs !== '') result.skipped++
        continue
      }
      // A packet inside repeats ip.*/udp.*; the first occurrence is this packet's. Which
      // occurrence of an IPv6 extension header or IP option is whose cannot be told: skipped.
      // netring's ipv6.fragment is one fragment header; of a chain with two (RFC 8200 §4.1
      // allows one) tshark lists both, and which one netring shows is not compared.
      if (field.name.startsWith('ipv6.fraghdr.') && theirs.includes(',')) {
        result.skipped++
        continue
      }
      if (inner.includes(protocolName)) {
        if (/^(ipv6\.(hopopts|routing|fraghdr|dstopts)|ip\.opt)/.test(field.name)) {
          if (theirs !== '') result.skipped++
          continue
        }
        if (theirs.includes(',')) theirs = theirs.split(',')[0]
      }
      if (field.skip?.(p, theirs, row)) {
        if (theirs !== '') result.skipped++
        continue
      }
      let ours: string | undefined
      try {
        ours = render(field.netring(p))
      } catch (e) {
        say(`${field.name}: netring's getter threw ${(e as Error).message}`)
        continue
      }
      // A header field netring shows once that tshark repeats belongs, after the first, to
      // a packet inside that tshark found by itself (SwIPe, tunnels): the first is this one's.
      if (SINGLE.test(field.name) && theirs.includes(',') && !(ours ?? '').includes(',')) theirs = theirs.split(',')[0]
      const t = theirs === '' ? undefined : normalise(theirs)
      // tshark shows the fields of a header cut short; netring stops at that layer.
      const layer = fieldLayer(field.name)
      if (ours === undefined && t !== undefined && layer !== undefined && LAYER_RANK[layer] >= cut) {
        result.skipped++
        continue
      }
      if (ours === undefined && t === undefined) continue
      // tshark stops at an exception (a malformed option inside an extension header, say)
      // and is no oracle past it: what netring shows beyond is not compared.
      if (malformed && t === undefined) {
        result.skipped++
        continue
      }
      result.compared++
      result.perField.set(field.name, (result.perField.get(field.name) ?? 0) + 1)
      const same = field.presence ? (ours === undefined) === (t === undefined) : ours === t
      if (!same) say(`${field.name}: tshark ${t ?? '(absent)'}, netring ${ours ?? '(absent)'}`)
    }
    // The IPv6 extension chain as a whole: netring's final protocol is where tshark's chain ends.
    if (p.ipv6 !== undefined && outer.includes('ipv6') && !inner.includes('ipv6') && !malformed && cut > LAYER_RANK['ipv6-extension']) {
      result.compared++
      const end = finalNextHeader(row)
      if (end !== p.ipv6.protocol) say(`ipv6 final next header: tshark ${end}, netring ${p.ipv6.protocol}`)
    }
    // The views that repeat others agree with them: ip is ipv4 or ipv6, vlan the outer tag,
    // ipv6.ttl the hop limit.
    const same = (what: string, a: unknown, b: unknown): void => {
      result.compared++
      if (JSON.stringify(snapshot(a)) !== JSON.stringify(snapshot(b))) say(`${what}: ${JSON.stringify(snapshot(a))} against ${JSON.stringify(snapshot(b))}`)
    }
    same('ip is ipv4 ?? ipv6', p.ip, p.ipv4 ?? p.ipv6)
    if ((p.vlans ?? []).length > 0) same('vlan is vlans[0]', p.vlan, p.vlans[0])
    if (p.ipv6 !== undefined) same('ipv6.ttl is ipv6.hopLimit', p.ipv6.ttl, p.ipv6.hopLimit)
    const m = p.dns
    if (m !== undefined && m.error === undefined) {
      same('dns.counts are the sections of a whole message', m.counts, { questions: m.questions.length, answers: m.answers.length, authorities: m.authorities.length, additionals: m.additionals.length })
    }
    // Tags: netring's 802.1Q (and 0x9100) tags are tshark's vlan, its 802.1ad tags ieee8021ad.
    for (const [protocol, ours] of [
      ['vlan', q(p).length > 0],
      ['ieee8021ad', ad(p).length > 0],
    ] as const) {
      const theirs = outer.includes(protocol)
      if (ours === theirs) {
        if (ours) result.compared++
      } else if ((ours && !malformed) || (!ours && cut > LAYER_RANK.vlan)) {
        say(`vlan tags: tshark ${theirs ? 'has' : 'has not'} ${protocol} (${chain.join(':')}), netring ${ours ? 'has' : 'has not'}`)
      }
    }
    // Every layer netring reports is one tshark reports, and the other way round (up to a cut).
    // tshark's transport is the first of its chain (an ICMPv6 message's data may hold what it
    // takes for ICMP again); a later fragment's (if tshark shows one) is not netring's.
    const transport = outer.find((c) => ['tcp', 'udp', 'icmp', 'icmpv6'].includes(c))
    for (const [view, protocol] of VIEWS) {
      const ours = p[view] !== undefined
      const isTransport = ['tcp', 'udp', 'icmp', 'icmpv6'].includes(protocol)
      if (isTransport && !ours && laterFragment(p)) continue
      // tshark gives a port to the lower port's protocol (time, chargen, …) before 53's.
      if (view === 'dns' && ours && outer.length > 0 && !['dns', 'data', 'tcp', 'udp'].includes(outer[outer.length - 1])) continue
      const theirs = isTransport ? transport === protocol : outer.includes(protocol)
      const rank = LAYER_RANK[VIEW_LAYER[view]]
      if (ours === theirs) {
        if (ours) result.compared++
        continue
      }
      if (!ours && rank >= cut) continue
      if (ours && malformed) continue
      if (view === 'dns' && dnsSkip(p)) continue
      say(`layer ${view}: tshark ${theirs ? 'has' : 'has not'} ${protocol} (${chain.join(':')}), netring ${ours ? 'has' : 'has not'}${error ? ` (decodeError ${error.layer} ${error.reason})` : ''}`)
    }
  }
  if (i !== rows.length) result.disagreements.push(`${path}: netring read ${i} packets, tshark ${rows.length}`)
  return result
}
