/**
 * Building frames to send: a stack of layer specs (`[{ ethernet }, { ipv4 }, { udp }, { payload }]`,
 * outermost first, as scapy's `Ether()/IP()/UDP()/Raw()`) written into bytes with every
 * length, next-protocol field and checksum filled in unless the spec gives it (gopacket's
 * `SerializeLayers` with `FixLengths` and `ComputeChecksums`).
 *
 * All in TypeScript, on purpose: a frame of 64–1500 bytes is built in about a
 * microsecond, while a native call per frame would cost about as much again; the frames
 * then go to `openTx().sendBatch()` which copies them into the ring in one call.
 * `Template` patches one field of a built frame in place and fixes the checksums that
 * cover it incrementally (RFC 1624), for loops that send millions of near-identical frames.
 *
 * Every spec is checked before a byte is written: a bad value throws a `RangeError`
 * (code `ERR_OUT_OF_RANGE`) or `TypeError` (`ERR_INVALID_ARG_VALUE` / `ERR_INVALID_ARG_TYPE`)
 * whose message names the field (`udp.dstPort`) and the rule.
 */
import { LinkType, type DecodedTcpOption } from './layers'

/** An Ethernet or IP address: text (`'aa:bb:cc:dd:ee:ff'`, `'10.0.0.1'`, `'fe80::1'`) or bytes. */
export type Address = string | Uint8Array

/** The Ethernet II header. */
export interface EthernetSpec {
  dst: Address
  src: Address
  /** EtherType; default from the next layer (VLAN tag's TPID, 0x0800, 0x86dd, 0x0806). */
  type?: number
}

/** An 802.1Q (or 802.1ad, `tpid: 0x88a8`) tag: stack two for QinQ. */
export interface VlanSpec {
  /** VLAN id, 0–4095. */
  id: number
  /** Priority code point, 0–7 (default 0). */
  pcp?: number
  /** Drop eligible indicator (default false). */
  dei?: boolean
  /** Tag protocol identifier (default 0x8100; 0x88a8 for an 802.1ad service tag). */
  tpid?: number
  /** EtherType after the tag; default from the next layer. */
  type?: number
}

/** An ARP packet for Ethernet and IPv4 (RFC 826). */
export interface ArpSpec {
  /** `'request'` (1), `'reply'` (2) or the number (default request). */
  operation?: 'request' | 'reply' | number
  senderMac: Address
  senderIp: Address
  /** Default 00:00:00:00:00:00 (unknown, as in a request). */
  targetMac?: Address
  targetIp: Address
}

/** One IPv4 option (RFC 791 §3.1): `'nop'`, `'eol'`, a router alert (RFC 2113) or any type with its data. */
export type Ipv4Option = 'nop' | 'eol' | { routerAlert: number } | { type: number; data?: Uint8Array }

/** The IPv4 header. */
export interface Ipv4Spec {
  src: Address
  dst: Address
  /** Default 64. */
  ttl?: number
  /** Identification (default 0). */
  id?: number
  /** Type of service byte: DSCP << 2 | ECN (default 0). */
  tos?: number
  /** The 3 flag bits (reserved 4, DF 2, MF 1) or `'DF'`/`'MF'` (default 0). */
  flags?: number | 'DF' | 'MF'
  /** Fragment offset in 8-byte units (default 0). */
  fragmentOffset?: number
  /** Protocol; default from the next layer (6, 17, 1, 58, 4, 41); needed before a payload. */
  protocol?: number
  /** Options, padded with EOL to a multiple of 4 bytes; at most 40 bytes. */
  options?: Ipv4Option[] | Uint8Array
  /** Total length; default the header and all that follows. */
  length?: number
  /** Header checksum; default computed. */
  checksum?: number
}

/** An option of a hop-by-hop or destination options header (RFC 8200 §4.2). */
export type Ipv6Option = { routerAlert: number } | { type: number; data?: Uint8Array }

/** An IPv6 extension header (RFC 8200 §4), in the order they come. */
export type Ipv6ExtensionSpec =
  | { hopByHop: Ipv6Option[] }
  | { destination: Ipv6Option[] }
  | { routing: { type?: number; segmentsLeft?: number; addresses?: Address[]; data?: Uint8Array } }
  | { fragment: { offset?: number; more?: boolean; id: number } }

/** The IPv6 header and its extension headers. */
export interface Ipv6Spec {
  src: Address
  dst: Address
  /** Default 64. */
  hopLimit?: number
  trafficClass?: number
  flowLabel?: number
  /** The transport protocol after the extension headers; default from the next layer (59, no next header, when none). */
  protocol?: number
  extensions?: Ipv6ExtensionSpec[]
  /** Payload length; default all that follows the fixed header. */
  payloadLength?: number
}

/** A TCP option (RFC 9293 §3.2, RFC 7323, RFC 2018): those `Tcp.optionList` reads back
 * (`'nop'`, `'eol'`, `{ mss }`, `{ windowScale }`, `{ sackPermitted: true }`, `{ sack }`,
 * `{ timestamp }`), or any other kind with its data. */
export type TcpOption = Exclude<DecodedTcpOption, { kind: number }> | { kind: number; data?: Uint8Array }

/** The TCP header. */
export interface TcpSpec {
  srcPort: number
  dstPort: number
  seq?: number
  ack?: number
  /** Flag letters as tcpdump prints them (F S R P U E W, `.` for ACK; A for ACK and C for CWR too, N for AE) or the 9 bits as tshark's `tcp.flags`; default none. */
  flags?: string | number
  /** Default 65535. */
  window?: number
  urgentPointer?: number
  /** Options, padded with EOL to a multiple of 4 bytes; at most 40 bytes. */
  options?: TcpOption[]
  /** Default computed. */
  checksum?: number
}

/** The UDP header. */
export interface UdpSpec {
  srcPort: number
  dstPort: number
  /** Default header and data. */
  length?: number
  /** Default computed (0 means none over IPv4, as written). */
  checksum?: number
}

/** ICMP message types by name (RFC 792). */
export const ICMP_TYPES = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'timestamp-request': 13,
  'timestamp-reply': 14,
} as const

/**
 * An ICMP message. Echoes carry `id` and `seq`; an error's second word is `mtu`
 * (destination unreachable code 4), `gateway` (redirect), `pointer` (parameter problem) or
 * 0, and the packet it is about follows as the next layers (`{ ipv4 }, { udp }` or a payload).
 */
export interface IcmpSpec {
  type: keyof typeof ICMP_TYPES | number
  code?: number
  id?: number
  seq?: number
  mtu?: number
  gateway?: Address
  pointer?: number
  checksum?: number
}

/** ICMPv6 message types by name (RFC 4443, RFC 4861). */
export const ICMPV6_TYPES = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'router-solicitation': 133,
  'router-advertisement': 134,
  'neighbor-solicitation': 135,
  'neighbor-advertisement': 136,
} as const

/**
 * An ICMPv6 message. Echoes carry `id` and `seq`; neighbour solicitations and
 * advertisements a `target` address, the advertisement's `router`/`solicited`/`override`
 * flags and a source or target link-layer address option (`linkAddress`); errors their
 * `mtu` (packet too big) or `pointer` and the packet they are about as the next layers.
 */
export interface Icmpv6Spec {
  type: keyof typeof ICMPV6_TYPES | number
  code?: number
  id?: number
  seq?: number
  target?: Address
  router?: boolean
  solicited?: boolean
  override?: boolean
  /** The source (solicitation) or target (advertisement) link-layer address option. */
  linkAddress?: Address
  mtu?: number
  pointer?: number
  checksum?: number
}

/** A DNS question. */
export interface DnsQuestionSpec {
  name: string
  /** Type name (`'A'`, `'AAAA'`, …) or number; default A. */
  type?: string | number
  /** Default 1 (IN). */
  class?: number
}

/** A DNS resource record; `data` by type: an address (A, AAAA), a name (CNAME, NS, PTR), `{ preference, exchange }` (MX), text (TXT) or raw bytes. */
export interface DnsRecordSpec {
  name: string
  type?: string | number
  class?: number
  /** Default 0. */
  ttl?: number
  data: string | string[] | Uint8Array | { preference: number; exchange: string }
}

/** A DNS message (RFC 1035 §4.1), names written without compression; after a `tcp` layer it gets its 2-byte length prefix (§4.2.2). */
export interface DnsSpec {
  id?: number
  /** A response (QR). Default: true when there are answers. */
  response?: boolean
  opcode?: number
  authoritative?: boolean
  truncated?: boolean
  /** Recursion desired; default true. */
  recursionDesired?: boolean
  recursionAvailable?: boolean
  rcode?: number
  questions?: DnsQuestionSpec[]
  answers?: DnsRecordSpec[]
  authorities?: DnsRecordSpec[]
  additionals?: DnsRecordSpec[]
}

/** One layer of a frame, outermost first. */
export type LayerSpec =
  | { ethernet: EthernetSpec }
  | { vlan: VlanSpec }
  | { arp: ArpSpec }
  | { ipv4: Ipv4Spec }
  | { ipv6: Ipv6Spec }
  | { tcp: TcpSpec }
  | { udp: UdpSpec }
  | { icmp: IcmpSpec }
  | { icmpv6: Icmpv6Spec }
  | { dns: DnsSpec }
  | { payload: Uint8Array | string }

export interface BuildOptions {
  /**
   * The link type of the interface the frame is for (`LinkType`; an interface's
   * `linkType` from `interfaces()`): ETHERNET (default) wants an `ethernet` layer first
   * and pads to 60 bytes; RAW, IPV4 and IPV6 (tun) start at the IP header; NULL and LOOP
   * get their 4-byte address family header written in front.
   */
  linkType?: number
  /** When given, the IP packet (the frame after its link header and VLAN tags) may not be longer. */
  mtu?: number
}

/** Ethernet frames shorter than this (without the FCS) are padded with zeros (IEEE 802.3 minimum). */
export const ETHERNET_MIN_FRAME = 60

const IPV4_MAX_OPTIONS = 40
/** No options: shared, frozen so that nothing appends to it. */
const NO_OPTIONS = Object.freeze([]) as unknown as number[]
const TCP_MAX_OPTIONS = 40

type Kind = 'ethernet' | 'vlan' | 'arp' | 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'dns' | 'payload'
const KINDS: readonly Kind[] = ['ethernet', 'vlan', 'arp', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'dns', 'payload']
const KIND_SET: ReadonlySet<Kind> = new Set(KINDS)

function rangeError(field: string, value: unknown, rule: string): RangeError {
  return Object.assign(new RangeError(`${field}: ${String(value)} is out of range: ${rule}`), { code: 'ERR_OUT_OF_RANGE' })
}
function valueError(field: string, value: unknown, rule: string): TypeError {
  const shown = typeof value === 'string' ? `'${value}'` : String(value)
  return Object.assign(new TypeError(`${field}: ${shown} ${rule}`), { code: 'ERR_INVALID_ARG_VALUE' })
}

function uint(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw Object.assign(new TypeError(`${field}: must be an integer from 0 to ${max}, got ${typeof value === 'number' ? value : typeof value}`), {
      code: 'ERR_INVALID_ARG_TYPE',
    })
  }
  if (value < 0 || value > max) throw rangeError(field, value, `must be an integer from 0 to ${max}`)
  return value
}
const opt = (field: string, value: number | undefined, max: number, fallback: number): number =>
  value === undefined ? fallback : uint(field, value, max)

/** Parsed address text, by text: a send loop builds from the same few addresses. Bounded. */
const parsedAddresses = new Map<string, Uint8Array>()
const PARSED_ADDRESSES_MAX = 4096

function bytesOf(field: string, value: Address, length: number, parse: (s: string) => number[] | undefined, what: string): Uint8Array {
  if (typeof value === 'string') {
    const cached = parsedAddresses.get(value)
    if (cached !== undefined && cached.length === length) return cached
  }
  if (value instanceof Uint8Array) {
    if (value.length !== length) throw valueError(field, `<${value.length} bytes>`, `is not ${what}: it must be ${length} bytes`)
    return value
  }
  if (typeof value !== 'string') throw Object.assign(new TypeError(`${field}: must be a string or Uint8Array, got ${typeof value}`), { code: 'ERR_INVALID_ARG_TYPE' })
  const parsed = parse(value)
  if (parsed === undefined) throw valueError(field, value, `is not ${what}`)
  const bytes = Uint8Array.from(parsed)
  if (parsedAddresses.size >= PARSED_ADDRESSES_MAX) parsedAddresses.clear()
  parsedAddresses.set(value, bytes)
  return bytes
}

function parseMac(s: string): number[] | undefined {
  const parts = s.split(/[:-]/)
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined
  return parts.map((p) => parseInt(p, 16))
}

function parseIpv4(s: string): number[] | undefined {
  const parts = s.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined
  return parts.map(Number)
}

function parseIpv6(s: string): number[] | undefined {
  let text = s
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    tail = v4
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (h: string): number[] | undefined => {
    if (h === '') return []
    const g = h.split(':')
    return g.every((x) => /^[0-9a-fA-F]{1,4}$/.test(x)) ? g.map((x) => parseInt(x, 16)) : undefined
  }
  const head = groups(halves[0])
  const rest = halves.length === 2 ? groups(halves[1]) : []
  if (head === undefined || rest === undefined) return undefined
  let all: number[]
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined
    all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
  } else {
    if (head.length !== 8) return undefined
    all = head
  }
  const out = all.flatMap((g) => [g >> 8, g & 0xff])
  if (tail.length === 4) out.splice(12, 4, ...tail)
  return out
}

const MAC_RULE = 'a MAC address (6 hex bytes separated by colons, aa:bb:cc:dd:ee:ff)'
const IPV4_RULE = 'an IPv4 address (4 decimal numbers from 0 to 255 separated by dots)'
const IPV6_RULE = 'an IPv6 address (RFC 4291 text: up to 8 groups of hex, one :: at most)'
const mac = (field: string, v: Address): Uint8Array => bytesOf(field, v, 6, parseMac, MAC_RULE)
const ipv4 = (field: string, v: Address): Uint8Array => bytesOf(field, v, 4, parseIpv4, IPV4_RULE)
const ipv6 = (field: string, v: Address): Uint8Array => bytesOf(field, v, 16, parseIpv6, IPV6_RULE)

/** The DNS type numbers of the names a spec may use. */
const DNS_TYPE_NUMBERS: Readonly<Record<string, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255, CAA: 257,
}

function dnsType(field: string, t: string | number | undefined): number {
  if (t === undefined) return 1
  if (typeof t === 'number') return uint(field, t, 0xffff)
  const n = DNS_TYPE_NUMBERS[t.toUpperCase()] ?? (/^TYPE[0-9]+$/i.test(t) ? Number(t.slice(4)) : undefined)
  if (n === undefined || n > 0xffff) throw valueError(field, t, `is not a DNS type this builder knows (${Object.keys(DNS_TYPE_NUMBERS).join(', ')}, TYPEn, or a number)`)
  return n
}

function dnsName(field: string, name: string): number[] {
  const out: number[] = []
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name
  if (trimmed !== '' && trimmed !== '<Root>') {
    for (const label of trimmed.split('.')) {
      const bytes = Buffer.from(label, 'utf8')
      if (bytes.length === 0 || bytes.length > 63) throw valueError(field, name, 'is not a DNS name: each label must be 1 to 63 bytes')
      out.push(bytes.length, ...bytes)
    }
  }
  out.push(0)
  if (out.length > 255) throw valueError(field, name, 'is not a DNS name: it must be at most 255 bytes written')
  return out
}

/** Writes a DNS message (no compression) and returns its bytes. */
export function encodeDns(spec: DnsSpec, field = 'dns'): Buffer {
  const out: number[] = []
  const u16 = (v: number): void => void out.push(v >> 8, v & 0xff)
  const questions = spec.questions ?? []
  const sections = [spec.answers ?? [], spec.authorities ?? [], spec.additionals ?? []]
  u16(opt(`${field}.id`, spec.id, 0xffff, 0))
  const response = spec.response ?? sections[0].length > 0
  const flags =
    (response ? 0x8000 : 0) |
    (opt(`${field}.opcode`, spec.opcode, 15, 0) << 11) |
    (spec.authoritative === true ? 0x400 : 0) |
    (spec.truncated === true ? 0x200 : 0) |
    (spec.recursionDesired !== false ? 0x100 : 0) |
    (spec.recursionAvailable === true ? 0x80 : 0) |
    opt(`${field}.rcode`, spec.rcode, 15, 0)
  u16(flags)
  for (const n of [questions.length, ...sections.map((s) => s.length)]) u16(uint(`${field} section count`, n, 0xffff))
  questions.forEach((q, i) => {
    const f = `${field}.questions[${i}]`
    out.push(...dnsName(`${f}.name`, q.name))
    u16(dnsType(`${f}.type`, q.type))
    u16(opt(`${f}.class`, q.class, 0xffff, 1))
  })
  const names = ['answers', 'authorities', 'additionals']
  sections.forEach((records, s) =>
    records.forEach((r, i) => {
      const f = `${field}.${names[s]}[${i}]`
      out.push(...dnsName(`${f}.name`, r.name))
      const type = dnsType(`${f}.type`, r.type)
      u16(type)
      u16(opt(`${f}.class`, r.class, 0xffff, 1))
      const ttl = opt(`${f}.ttl`, r.ttl, 0xffffffff, 0)
      u16(ttl >>> 16)
      u16(ttl & 0xffff)
      const data = dnsData(`${f}.data`, type, r.data)
      u16(uint(`${f}.data length`, data.length, 0xffff))
      out.push(...data)
    }),
  )
  return Buffer.from(out)
}

function dnsData(field: string, type: number, data: DnsRecordSpec['data']): number[] {
  if (data instanceof Uint8Array) return [...data]
  if (type === 1 && typeof data === 'string') return [...ipv4(field, data)]
  if (type === 28 && typeof data === 'string') return [...ipv6(field, data)]
  if ((type === 2 || type === 5 || type === 12) && typeof data === 'string') return dnsName(field, data)
  if (type === 15 && typeof data === 'object' && !Array.isArray(data)) {
    const p = uint(`${field}.preference`, data.preference, 0xffff)
    return [p >> 8, p & 0xff, ...dnsName(`${field}.exchange`, data.exchange)]
  }
  if (type === 16 && (typeof data === 'string' || Array.isArray(data))) {
    return (typeof data === 'string' ? [data] : data).flatMap((s) => {
      const b = Buffer.from(s, 'utf8')
      if (b.length > 255) throw valueError(field, s, 'is too long for a TXT string (at most 255 bytes)')
      return [b.length, ...b]
    })
  }
  throw valueError(field, typeof data === 'string' ? data : JSON.stringify(data), `does not fit record type ${type}: give an address (A, AAAA), a name (NS, CNAME, PTR), { preference, exchange } (MX), text (TXT) or bytes`)
}

function kindOf(layer: LayerSpec, i: number): Kind {
  if (typeof layer !== 'object' || layer === null) throw Object.assign(new TypeError(`layers[${i}]: must be an object like { ipv4: {...} }`), { code: 'ERR_INVALID_ARG_TYPE' })
  let only: string | undefined
  let count = 0
  for (const key in layer) {
    only = key
    count++
  }
  if (count === 1 && KIND_SET.has(only as Kind)) return only as Kind
  throw valueError(`layers[${i}]`, `{ ${Object.keys(layer).join(', ')} }`, `must have exactly one key of ${KINDS.join(', ')}`)
}

/** What a layer makes its predecessor write as "next protocol". */
const ETHERTYPE: Partial<Record<Kind, number>> = { arp: 0x0806, ipv4: 0x0800, ipv6: 0x86dd }
const IP_PROTOCOL: Partial<Record<Kind, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, ipv4: 4, ipv6: 41 }

const IPV6_EXT_NUMBER = { hopByHop: 0, routing: 43, fragment: 44, destination: 60 } as const

/** One layer laid out: where it is and its header bytes (written in the plan, fixed later). */
interface Planned {
  kind: Kind
  at: number
  /** Its header bytes (for dns and payload: all its bytes). */
  bytes: Uint8Array
  spec: LayerSpec
}

function tlvOptions(field: string, options: Ipv6Option[]): number[] {
  const out: number[] = []
  options.forEach((o, i) => {
    if ('routerAlert' in o) out.push(5, 2, ...u16be(uint(`${field}[${i}].routerAlert`, o.routerAlert, 0xffff)))
    else {
      const type = uint(`${field}[${i}].type`, o.type, 255)
      const data = o.data ?? new Uint8Array(0)
      if (type === 0) out.push(0)
      else out.push(type, uint(`${field}[${i}].data length`, data.length, 255), ...data)
    }
  })
  // Header is 2 bytes + options, padded to a multiple of 8 with Pad1 / PadN.
  const pad = (8 - ((out.length + 2) % 8)) % 8
  if (pad === 1) out.push(0)
  else if (pad > 1) out.push(1, pad - 2, ...new Array<number>(pad - 2).fill(0))
  return out
}

const u16be = (v: number): [number, number] => [v >> 8, v & 0xff]
const u32be = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]

function ipv4Options(field: string, options: Ipv4Spec['options']): number[] {
  if (options === undefined || options.length === 0) return NO_OPTIONS
  let out: number[]
  if (options instanceof Uint8Array) out = [...options]
  else {
    out = []
    options.forEach((o, i) => {
      if (o === 'nop') out.push(1)
      else if (o === 'eol') out.push(0)
      else if (typeof o === 'object' && 'routerAlert' in o) out.push(148, 4, ...u16be(uint(`${field}[${i}].routerAlert`, o.routerAlert, 0xffff)))
      else if (typeof o === 'object' && 'type' in o) {
        const data = o.data ?? new Uint8Array(0)
        out.push(uint(`${field}[${i}].type`, o.type, 255), uint(`${field}[${i}].data length`, data.length + 2, 255), ...data)
      } else throw valueError(`${field}[${i}]`, JSON.stringify(o), "must be 'nop', 'eol', { routerAlert } or { type, data }")
    })
  }
  while (out.length % 4 !== 0) out.push(0)
  if (out.length > IPV4_MAX_OPTIONS) throw rangeError(`${field}`, `${out.length} bytes`, `IPv4 options can be at most ${IPV4_MAX_OPTIONS} bytes (header length field: 15 × 4 = 60 bytes)`)
  return out
}

function tcpOptions(field: string, options: TcpOption[] | undefined): number[] {
  if (options === undefined || options.length === 0) return NO_OPTIONS
  const out: number[] = []
  ;(options ?? []).forEach((o, i) => {
    const f = `${field}[${i}]`
    if (o === 'nop') out.push(1)
    else if (o === 'eol') out.push(0)
    else if ('mss' in o) out.push(2, 4, ...u16be(uint(`${f}.mss`, o.mss, 0xffff)))
    else if ('windowScale' in o) out.push(3, 3, uint(`${f}.windowScale`, o.windowScale, 14))
    else if ('sackPermitted' in o) out.push(4, 2)
    else if ('sack' in o) {
      if (o.sack.length < 1 || o.sack.length > 4) throw rangeError(`${f}.sack`, `${o.sack.length} blocks`, 'a SACK option has 1 to 4 blocks')
      out.push(5, 2 + 8 * o.sack.length, ...o.sack.flatMap(([l, r], k) => [...u32be(uint(`${f}.sack[${k}][0]`, l, 0xffffffff)), ...u32be(uint(`${f}.sack[${k}][1]`, r, 0xffffffff))]))
    } else if ('timestamp' in o) out.push(8, 10, ...u32be(uint(`${f}.timestamp[0]`, o.timestamp[0], 0xffffffff)), ...u32be(uint(`${f}.timestamp[1]`, o.timestamp[1], 0xffffffff)))
    else if ('kind' in o) {
      const data = o.data ?? new Uint8Array(0)
      out.push(uint(`${f}.kind`, o.kind, 255), uint(`${f}.data length`, data.length + 2, 255), ...data)
    } else throw valueError(f, JSON.stringify(o), "must be 'nop', 'eol', { mss }, { windowScale }, { sackPermitted }, { sack }, { timestamp } or { kind, data }")
  })
  while (out.length % 4 !== 0) out.push(0)
  if (out.length > TCP_MAX_OPTIONS) throw rangeError(field, `${out.length} bytes`, `TCP options can be at most ${TCP_MAX_OPTIONS} bytes (data offset field: 15 × 4 = 60 bytes)`)
  return out
}

const TCP_FLAG_LETTERS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, W: 0x80, C: 0x80, N: 0x100, '.': 0x10 }

function tcpFlags(field: string, flags: string | number | undefined): number {
  if (flags === undefined) return 0
  if (typeof flags === 'number') return uint(field, flags, 0x1ff)
  let bits = 0
  for (const c of flags) {
    const bit = TCP_FLAG_LETTERS[c.toUpperCase()]
    if (bit === undefined) throw valueError(field, flags, "is not TCP flags: letters of F S R P A U E C N (tcpdump's, '.' for ACK) or a number")
    bits |= bit
  }
  return bits
}

function typeNumber(field: string, type: string | number, names: Readonly<Record<string, number>>): number {
  if (typeof type === 'number') return uint(field, type, 255)
  const n = names[type]
  if (n === undefined) throw valueError(field, type, `is not a message type: one of ${Object.keys(names).join(', ')}, or a number`)
  return n
}

/** Lays out each layer's header bytes from its spec (lengths, next protocols and checksums still 0 where computed). */
function plan(layers: readonly LayerSpec[], options: BuildOptions): { planned: Planned[]; total: number; link: number } {
  if (!Array.isArray(layers) || layers.length === 0) throw Object.assign(new TypeError('layers: must be a non-empty array of layer specs'), { code: 'ERR_INVALID_ARG_TYPE' })
  const linkType = options.linkType ?? LinkType.ETHERNET
  const kinds = layers.map(kindOf)
  const planned: Planned[] = []
  let at = 0
  let link = 0
  if (linkType === LinkType.ETHERNET) {
    if (kinds[0] !== 'ethernet') throw valueError('layers[0]', kinds[0], `cannot start an Ethernet frame (linkType ${linkType}): put { ethernet: { src, dst } } first`)
  } else if (linkType === LinkType.RAW || linkType === LinkType.IPV4 || linkType === LinkType.IPV6 || linkType === LinkType.NULL || linkType === LinkType.LOOP) {
    const want = linkType === LinkType.IPV4 ? ['ipv4'] : linkType === LinkType.IPV6 ? ['ipv6'] : ['ipv4', 'ipv6']
    if (!want.includes(kinds[0])) throw valueError('layers[0]', kinds[0], `cannot start a frame of linkType ${linkType} (no link header): it must be ${want.join(' or ')}`)
    if (linkType === LinkType.NULL || linkType === LinkType.LOOP) {
      // The address family: AF_INET 2; AF_INET6 is 10 on Linux (24/28/30 on the BSDs).
      const family = kinds[0] === 'ipv4' ? 2 : 10
      const header = new Uint8Array(4)
      new DataView(header.buffer).setUint32(0, family, linkType === LinkType.NULL ? isLittleEndian() : false)
      planned.push({ kind: 'payload', at: 0, bytes: header, spec: { payload: header } })
      at = link = 4
    }
  } else throw rangeError('options.linkType', linkType, 'the builder writes ETHERNET (1), RAW (101), IPV4 (228), IPV6 (229), NULL (0) and LOOP (108)')

  for (let i = 0; i < layers.length; i++) {
    const kind = kinds[i]
    const next = kinds[i + 1]
    const layer = layers[i]
    let bytes: Uint8Array
    if (kind === 'ethernet') {
      if (i !== 0) throw valueError(`layers[${i}]`, kind, 'must be the first layer')
      const s = (layer as { ethernet: EthernetSpec }).ethernet
      bytes = new Uint8Array(14)
      bytes.set(mac('ethernet.dst', s.dst), 0)
      bytes.set(mac('ethernet.src', s.src), 6)
      bytes.set(u16be(etherTypeFor('ethernet.type', s.type, layers[i + 1], next)), 12)
    } else if (kind === 'vlan') {
      if (kinds[i - 1] !== 'ethernet' && kinds[i - 1] !== 'vlan') throw valueError(`layers[${i}]`, kind, 'must follow ethernet or another vlan')
      const s = (layer as { vlan: VlanSpec }).vlan
      const tci = (opt('vlan.pcp', s.pcp, 7, 0) << 13) | (s.dei === true ? 0x1000 : 0) | uint('vlan.id', s.id, 4095)
      bytes = Uint8Array.from([...u16be(tci), ...u16be(etherTypeFor('vlan.type', s.type, layers[i + 1], next))])
    } else if (kind === 'arp') {
      const s = (layer as { arp: ArpSpec }).arp
      const op = s.operation === undefined || s.operation === 'request' ? 1 : s.operation === 'reply' ? 2 : uint('arp.operation', s.operation, 0xffff)
      bytes = new Uint8Array(28)
      bytes.set([0, 1, 8, 0, 6, 4, ...u16be(op)], 0)
      bytes.set(mac('arp.senderMac', s.senderMac), 8)
      bytes.set(ipv4('arp.senderIp', s.senderIp), 14)
      bytes.set(mac('arp.targetMac', s.targetMac ?? new Uint8Array(6)), 18)
      bytes.set(ipv4('arp.targetIp', s.targetIp), 24)
    } else if (kind === 'ipv4') {
      const s = (layer as { ipv4: Ipv4Spec }).ipv4
      const o = ipv4Options('ipv4.options', s.options)
      bytes = new Uint8Array(20 + o.length)
      const flags = s.flags === 'DF' ? 2 : s.flags === 'MF' ? 1 : opt('ipv4.flags', s.flags, 7, 0)
      const frag = (flags << 13) | opt('ipv4.fragmentOffset', s.fragmentOffset, 0x1fff, 0)
      let protocol = s.protocol === undefined ? IP_PROTOCOL[next ?? 'payload'] : uint('ipv4.protocol', s.protocol, 255)
      if (protocol === undefined) {
        if (next !== undefined) throw valueError('ipv4.protocol', 'undefined', `must be given when a ${next} layer follows`)
        protocol = 255 // nothing follows: "reserved"
      }
      const id = opt('ipv4.id', s.id, 0xffff, 0)
      bytes[0] = 0x40 | (bytes.length / 4)
      bytes[1] = opt('ipv4.tos', s.tos, 255, 0)
      bytes[4] = id >> 8
      bytes[5] = id & 0xff
      bytes[6] = frag >> 8
      bytes[7] = frag & 0xff
      bytes[8] = opt('ipv4.ttl', s.ttl, 255, 64)
      bytes[9] = protocol
      bytes.set(ipv4('ipv4.src', s.src), 12)
      bytes.set(ipv4('ipv4.dst', s.dst), 16)
      if (o.length > 0) bytes.set(o, 20)
    } else if (kind === 'ipv6') {
      const s = (layer as { ipv6: Ipv6Spec }).ipv6
      const exts = s.extensions ?? []
      let protocol = s.protocol === undefined ? IP_PROTOCOL[next ?? 'payload'] : uint('ipv6.protocol', s.protocol, 255)
      if (protocol === undefined) {
        if (next !== undefined) throw valueError('ipv6.protocol', 'undefined', `must be given when a ${next} layer follows`)
        protocol = 59 // No Next Header
      }
      const chunks: number[][] = []
      const numbers: number[] = []
      exts.forEach((e, k) => {
        const f = `ipv6.extensions[${k}]`
        if ('hopByHop' in e || 'destination' in e) {
          const hop = 'hopByHop' in e
          if (hop && k !== 0) throw valueError(f, 'hopByHop', 'must be the first extension header (RFC 8200 §4.1)')
          const body = tlvOptions(`${f}.${hop ? 'hopByHop' : 'destination'}`, hop ? e.hopByHop : e.destination)
          chunks.push([0, (body.length + 2) / 8 - 1, ...body])
          numbers.push(hop ? IPV6_EXT_NUMBER.hopByHop : IPV6_EXT_NUMBER.destination)
        } else if ('routing' in e) {
          const r = e.routing
          const data = r.data !== undefined ? [...r.data] : [0, 0, 0, 0, ...(r.addresses ?? []).flatMap((a, n) => [...ipv6(`${f}.routing.addresses[${n}]`, a)])]
          while ((data.length + 4) % 8 !== 0) data.push(0)
          const type = opt(`${f}.routing.type`, r.type, 255, 0)
          const left = opt(`${f}.routing.segmentsLeft`, r.segmentsLeft, 255, r.addresses?.length ?? 0)
          chunks.push([0, uint(`${f}.routing length`, (data.length + 4) / 8 - 1, 255), type, left, ...data])
          numbers.push(IPV6_EXT_NUMBER.routing)
        } else if ('fragment' in e) {
          const fr = e.fragment
          const off = (opt(`${f}.fragment.offset`, fr.offset, 0x1fff, 0) << 3) | (fr.more === true ? 1 : 0)
          chunks.push([0, 0, ...u16be(off), ...u32be(uint(`${f}.fragment.id`, fr.id, 0xffffffff))])
          numbers.push(IPV6_EXT_NUMBER.fragment)
        } else throw valueError(f, JSON.stringify(e), 'must be { hopByHop }, { destination }, { routing } or { fragment }')
      })
      for (let k = 0; k < chunks.length; k++) chunks[k][0] = k + 1 < chunks.length ? numbers[k + 1] : protocol
      const extBytes = chunks.flat()
      bytes = new Uint8Array(40 + extBytes.length)
      const tc = opt('ipv6.trafficClass', s.trafficClass, 255, 0)
      const flow = opt('ipv6.flowLabel', s.flowLabel, 0xfffff, 0)
      bytes.set([0x60 | (tc >> 4), ((tc & 0xf) << 4) | (flow >> 16), (flow >> 8) & 0xff, flow & 0xff, 0, 0, numbers.length > 0 ? numbers[0] : protocol, opt('ipv6.hopLimit', s.hopLimit, 255, 64)], 0)
      bytes.set(ipv6('ipv6.src', s.src), 8)
      bytes.set(ipv6('ipv6.dst', s.dst), 24)
      bytes.set(extBytes, 40)
    } else if (kind === 'tcp') {
      const s = (layer as { tcp: TcpSpec }).tcp
      const o = tcpOptions('tcp.options', s.options)
      bytes = new Uint8Array(20 + o.length)
      const flags = tcpFlags('tcp.flags', s.flags)
      bytes.set([
        ...u16be(uint('tcp.srcPort', s.srcPort, 0xffff)),
        ...u16be(uint('tcp.dstPort', s.dstPort, 0xffff)),
        ...u32be(opt('tcp.seq', s.seq, 0xffffffff, 0)),
        ...u32be(opt('tcp.ack', s.ack, 0xffffffff, 0)),
        ((bytes.length / 4) << 4) | (flags >> 8),
        flags & 0xff,
        ...u16be(opt('tcp.window', s.window, 0xffff, 65535)),
        0,
        0,
        ...u16be(opt('tcp.urgentPointer', s.urgentPointer, 0xffff, 0)),
        ...o,
      ])
    } else if (kind === 'udp') {
      const s = (layer as { udp: UdpSpec }).udp
      const src = uint('udp.srcPort', s.srcPort, 0xffff)
      const dst = uint('udp.dstPort', s.dstPort, 0xffff)
      bytes = new Uint8Array(8)
      bytes[0] = src >> 8
      bytes[1] = src & 0xff
      bytes[2] = dst >> 8
      bytes[3] = dst & 0xff
    } else if (kind === 'icmp') {
      const s = (layer as { icmp: IcmpSpec }).icmp
      const type = typeNumber('icmp.type', s.type, ICMP_TYPES)
      let second: number[]
      if (type === 0 || type === 8 || type === 13 || type === 14) second = [...u16be(opt('icmp.id', s.id, 0xffff, 0)), ...u16be(opt('icmp.seq', s.seq, 0xffff, 0))]
      else if (type === 5) second = [...ipv4('icmp.gateway', s.gateway ?? '0.0.0.0')]
      else if (type === 12) second = [opt('icmp.pointer', s.pointer, 255, 0), 0, 0, 0]
      else if (type === 3) second = [0, 0, ...u16be(opt('icmp.mtu', s.mtu, 0xffff, 0))]
      else second = [0, 0, 0, 0]
      bytes = Uint8Array.from([type, opt('icmp.code', s.code, 255, 0), 0, 0, ...second])
    } else if (kind === 'icmpv6') {
      const s = (layer as { icmpv6: Icmpv6Spec }).icmpv6
      const type = typeNumber('icmpv6.type', s.type, ICMPV6_TYPES)
      let body: number[]
      if (type === 128 || type === 129) body = [...u16be(opt('icmpv6.id', s.id, 0xffff, 0)), ...u16be(opt('icmpv6.seq', s.seq, 0xffff, 0))]
      else if (type === 135 || type === 136) {
        if (s.target === undefined) throw valueError('icmpv6.target', 'undefined', 'must be given for a neighbour solicitation or advertisement')
        const flags = type === 136 ? (s.router === true ? 0x80 : 0) | (s.solicited === true ? 0x40 : 0) | (s.override === true ? 0x20 : 0) : 0
        body = [flags, 0, 0, 0, ...ipv6('icmpv6.target', s.target)]
        if (s.linkAddress !== undefined) body.push(type === 135 ? 1 : 2, 1, ...mac('icmpv6.linkAddress', s.linkAddress))
      } else if (type === 2) body = u32be(opt('icmpv6.mtu', s.mtu, 0xffffffff, 1280))
      else if (type === 4) body = u32be(opt('icmpv6.pointer', s.pointer, 0xffffffff, 0))
      else body = [0, 0, 0, 0]
      bytes = Uint8Array.from([type, opt('icmpv6.code', s.code, 255, 0), 0, 0, ...body])
    } else if (kind === 'dns') {
      const message = encodeDns((layer as { dns: DnsSpec }).dns)
      if (kinds[i - 1] === 'tcp') {
        // DNS over TCP: the message after its 2-byte length (RFC 1035 §4.2.2).
        bytes = new Uint8Array(2 + message.length)
        bytes[0] = uint('dns length', message.length, 0xffff) >> 8
        bytes[1] = message.length & 0xff
        bytes.set(message, 2)
      } else bytes = message
    } else {
      const p = (layer as { payload: Uint8Array | string }).payload
      if (typeof p === 'string') bytes = Buffer.from(p, 'utf8')
      else if (p instanceof Uint8Array) bytes = p
      else throw Object.assign(new TypeError(`payload: must be a Buffer, Uint8Array or string, got ${typeof p}`), { code: 'ERR_INVALID_ARG_TYPE' })
    }
    planned.push({ kind, at, bytes, spec: layer })
    at += bytes.length
    if (kind === 'ethernet' || kind === 'vlan') link = at
  }
  const total = at
  // Lengths and pseudo-headers are checked here, so that fix() never throws into a
  // half-written buffer.
  let ip: Kind | undefined
  for (const p of planned) {
    const s = p.spec as Record<string, { length?: number; payloadLength?: number; checksum?: number }>
    if (p.kind === 'ipv4' && s.ipv4.length === undefined) uint('ipv4.length', total - p.at, 0xffff)
    if (p.kind === 'ipv6' && s.ipv6.payloadLength === undefined) uint('ipv6.payloadLength', total - p.at - 40, 0xffff)
    if (p.kind === 'udp' && s.udp.length === undefined) uint('udp.length', total - p.at, 0xffff)
    if ((p.kind === 'tcp' || p.kind === 'udp' || p.kind === 'icmpv6') && s[p.kind].checksum === undefined) {
      if (p.kind === 'icmpv6' && ip !== 'ipv6') throw valueError('icmpv6', 'checksum', 'needs an IPv6 layer before it for the pseudo-header (or give icmpv6.checksum)')
      if (ip === undefined) throw valueError(p.kind, 'checksum', `needs an IP layer before it for the pseudo-header (or give ${p.kind}.checksum)`)
    }
    if (p.kind === 'ipv4' || p.kind === 'ipv6') ip = p.kind
  }
  if (options.mtu !== undefined) {
    const mtu = uint('options.mtu', options.mtu, 0xffffffff)
    if (total - link > mtu) throw rangeError('payload', `a packet of ${total - link} bytes`, `the frame's IP packet may be at most the MTU, ${mtu} bytes`)
  }
  return { planned, total, link }
}

let littleEndian: boolean | undefined
function isLittleEndian(): boolean {
  littleEndian ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  return littleEndian
}

function etherTypeFor(field: string, given: number | undefined, nextLayer: LayerSpec | undefined, next: Kind | undefined): number {
  if (given !== undefined) return uint(field, given, 0xffff)
  if (next === 'vlan') return opt('vlan.tpid', (nextLayer as { vlan: VlanSpec }).vlan.tpid, 0xffff, 0x8100)
  const t = ETHERTYPE[next ?? 'payload']
  if (t === undefined) throw valueError(field, 'undefined', `must be given when ${next === undefined ? 'nothing' : `a ${next} layer`} follows`)
  return t
}

/** The one's complement sum of `b[from, to)` as 16-bit big-endian words, added to `sum` (not folded). */
export function sum16(b: Uint8Array, from: number, to: number, sum = 0): number {
  let i = from
  for (; i + 1 < to; i += 2) sum += (b[i] << 8) | b[i + 1]
  if (i < to) sum += b[i] << 8
  return sum
}

/** Folds a sum to 16 bits and complements it: the Internet checksum (RFC 1071). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return ~sum & 0xffff
}

/** The Internet checksum of `b[from, to)`. */
export function checksum(b: Uint8Array, from = 0, to = b.length): number {
  return fold(sum16(b, from, to))
}

/** Where an IP header is and what its pseudo-header needs. */
interface IpContext {
  v6: boolean
  at: number
  /** For IPv6: where its final destination address is (a routing header's last address), else the header's dst. */
  dstAt: number
}

/**
 * Builds `layers` into `buf` at `offset` and returns the frame's length. Bytes of `buf`
 * past the frame are not touched (the Ethernet padding is written, as zeros).
 * Throws a `RangeError` when the frame does not fit.
 */
export function buildInto(buf: Uint8Array, layers: readonly LayerSpec[], options: BuildOptions & { offset?: number } = {}): number {
  if (!(buf instanceof Uint8Array)) throw Object.assign(new TypeError(`buf: must be a Buffer or Uint8Array, got ${typeof buf}`), { code: 'ERR_INVALID_ARG_TYPE' })
  const { planned, total } = plan(layers, options)
  const offset = opt('options.offset', options.offset, buf.length, 0)
  const padded = (options.linkType ?? LinkType.ETHERNET) === LinkType.ETHERNET ? Math.max(total, ETHERNET_MIN_FRAME) : total
  if (offset + padded > buf.length) throw rangeError('buf', `${buf.length - offset} bytes`, `the frame needs ${padded} bytes`)
  const b = offset === 0 ? buf : buf.subarray(offset)
  for (const p of planned) b.set(p.bytes, p.at)
  b.fill(0, total, padded)
  fix(b, planned, total)
  return padded
}

/** Builds `layers` into a new Buffer (see `buildInto`). */
export function build(layers: readonly LayerSpec[], options: BuildOptions = {}): Buffer {
  const { planned, total } = plan(layers, options)
  const padded = (options.linkType ?? LinkType.ETHERNET) === LinkType.ETHERNET ? Math.max(total, ETHERNET_MIN_FRAME) : total
  const b = Buffer.alloc(padded)
  for (const p of planned) b.set(p.bytes, p.at)
  fix(b, planned, total)
  return b
}

const writeU16 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = v >> 8
  b[at + 1] = v & 0xff
}

/** Fills lengths, then checksums from the innermost layer out. */
function fix(b: Uint8Array, planned: Planned[], end: number): void {
  const ips: Array<IpContext | undefined> = []
  let ip: IpContext | undefined
  for (const p of planned) {
    ips.push(ip)
    if (p.kind === 'ipv4') {
      const s = (p.spec as { ipv4: Ipv4Spec }).ipv4
      writeU16(b, p.at + 2, s.length !== undefined ? uint('ipv4.length', s.length, 0xffff) : uint('ipv4.length', end - p.at, 0xffff))
      ip = { v6: false, at: p.at, dstAt: p.at + 16 }
    } else if (p.kind === 'ipv6') {
      const s = (p.spec as { ipv6: Ipv6Spec }).ipv6
      writeU16(b, p.at + 4, s.payloadLength !== undefined ? uint('ipv6.payloadLength', s.payloadLength, 0xffff) : uint('ipv6.payloadLength', end - p.at - 40, 0xffff))
      let dstAt = p.at + 24
      // RFC 8200 §8.1: with a routing header, the pseudo-header has the final destination.
      const exts = s.extensions ?? []
      let at = p.at + 40
      for (const e of exts) {
        const length = (b[at + 1] + 1) * 8
        if ('routing' in e && e.routing.addresses !== undefined && e.routing.addresses.length > 0 && (e.routing.segmentsLeft ?? e.routing.addresses.length) > 0) dstAt = at + length - 16
        at += 'fragment' in e ? 8 : length
      }
      ip = { v6: true, at: p.at, dstAt }
    } else if (p.kind === 'udp') {
      const s = (p.spec as { udp: UdpSpec }).udp
      writeU16(b, p.at + 4, s.length !== undefined ? uint('udp.length', s.length, 0xffff) : uint('udp.length', end - p.at, 0xffff))
    }
  }
  for (let i = planned.length - 1; i >= 0; i--) {
    const p = planned[i]
    const ctx = ips[i]
    if (p.kind === 'ipv4') {
      const s = (p.spec as { ipv4: Ipv4Spec }).ipv4
      const headerEnd = p.at + p.bytes.length
      writeU16(b, p.at + 10, 0) // summed as zero (and it may hold an old one: Template.recompute)
      writeU16(b, p.at + 10, s.checksum !== undefined ? uint('ipv4.checksum', s.checksum, 0xffff) : checksum(b, p.at, headerEnd))
    } else if (p.kind === 'udp' || p.kind === 'tcp' || p.kind === 'icmpv6' || p.kind === 'icmp') {
      const given = (p.spec as Record<string, { checksum?: number }>)[p.kind].checksum
      const at = p.at + (p.kind === 'udp' ? 6 : p.kind === 'tcp' ? 16 : 2)
      if (given !== undefined) {
        writeU16(b, at, uint(`${p.kind}.checksum`, given, 0xffff))
        continue
      }
      if (p.kind === 'icmpv6' && (ctx === undefined || !ctx.v6)) throw valueError('icmpv6', 'checksum', 'needs an IPv6 layer before it for the pseudo-header (or give icmpv6.checksum)')
      writeU16(b, at, 0)
      const protocol = p.kind === 'udp' ? 17 : p.kind === 'tcp' ? 6 : 58
      let sum = p.kind === 'icmp' || ctx === undefined ? 0 : pseudoHeader(b, ctx, protocol, end - p.at)
      if (p.kind !== 'icmp' && ctx === undefined) throw valueError(p.kind, 'checksum', `needs an IP layer before it for the pseudo-header (or give ${p.kind}.checksum)`)
      sum = sum16(b, p.at, end, sum)
      let c = fold(sum)
      if (c === 0 && p.kind === 'udp') c = 0xffff // RFC 768: 0 means "no checksum"
      writeU16(b, at, c)
    }
  }
}

function pseudoHeader(b: Uint8Array, ip: IpContext, protocol: number, length: number): number {
  if (ip.v6) return sum16(b, ip.at + 8, ip.at + 24, sum16(b, ip.dstAt, ip.dstAt + 16)) + Math.floor(length / 0x10000) + (length & 0xffff) + protocol
  return sum16(b, ip.at + 12, ip.at + 20) + length + protocol
}

/** A field a `Template` can rewrite: its layer and name as in the specs. */
export type TemplateField =
  | 'ipv4.id'
  | 'ipv4.ttl'
  | 'ipv4.src'
  | 'ipv4.dst'
  | 'udp.srcPort'
  | 'udp.dstPort'
  | 'tcp.srcPort'
  | 'tcp.dstPort'
  | 'tcp.seq'
  | 'tcp.ack'
  | 'icmp.id'
  | 'icmp.seq'
  | 'icmpv6.id'
  | 'icmpv6.seq'

/**
 * A frame built once, then changed in place one field at a time, each change fixing the
 * checksums that cover the field incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')),
 * as trafgen's `csumudp` recomputes after a counter: no allocation and no pass over the
 * payload per frame. `frame` is the bytes to send; send it (or a copy) after each change.
 * Fields are those of the outermost layer of their kind (not of a packet quoted in an ICMP
 * error); IPv6 addresses are not among them (build a new template instead).
 *
 * ```ts
 * const t = new Template([{ ethernet: { src, dst } }, { ipv4: { src: '10.0.0.1', dst: '10.0.0.2' } }, { udp: { srcPort: 1, dstPort: 9 } }, { payload: Buffer.alloc(18) }])
 * for (let port = 1024; port < 2048; port++) { t.set('udp.srcPort', port); await tx.send(t.frame) }
 * ```
 */
export class Template {
  /** The frame's bytes (a Buffer of its own, padded), changed in place by `set`. */
  readonly frame: Buffer
  readonly #fields = new Map<TemplateField, { at: number; size: 1 | 2 | 4; sums: number[] }>()
  readonly #udpSums = new Set<number>()
  readonly #planned: Planned[]
  readonly #end: number

  constructor(layers: readonly LayerSpec[], options: BuildOptions = {}) {
    this.frame = build(layers, options)
    const { planned, total } = plan(layers, options)
    this.#planned = planned
    this.#end = total
    // The checksums covering each field: its own layer's, and for an IP address the
    // IPv4 header checksum and the transport checksum over the pseudo-header.
    for (let i = 0; i < planned.length; i++) {
      const p = planned[i]
      // The IP layer's own transport: the next layer (not one in a packet an ICMP error quotes).
      const after = planned[i + 1] as Planned | undefined
      const transport = after !== undefined && (after.kind === 'tcp' || after.kind === 'udp') ? after : undefined
      if (p.kind === 'ipv4' && !this.#fields.has('ipv4.src')) {
        const ipSum = p.at + 10
        const l4 = transport !== undefined ? [transport.at + (transport.kind === 'udp' ? 6 : transport.kind === 'tcp' ? 16 : 2)] : []
        this.#add('ipv4.id', p.at + 4, 2, [ipSum])
        this.#add('ipv4.ttl', p.at + 8, 1, [ipSum]) // the byte before protocol: the high half of the word
        this.#add('ipv4.src', p.at + 12, 4, [ipSum, ...l4])
        this.#add('ipv4.dst', p.at + 16, 4, [ipSum, ...l4])
      } else if ((p.kind === 'udp' || p.kind === 'tcp') && !this.#fields.has(`${p.kind}.srcPort`)) {
        const sum = p.at + (p.kind === 'udp' ? 6 : 16)
        if (p.kind === 'udp') this.#udpSums.add(sum)
        this.#add(`${p.kind}.srcPort`, p.at, 2, [sum])
        this.#add(`${p.kind}.dstPort`, p.at + 2, 2, [sum])
        if (p.kind === 'tcp') {
          this.#add('tcp.seq', p.at + 4, 4, [sum])
          this.#add('tcp.ack', p.at + 8, 4, [sum])
        }
      } else if ((p.kind === 'icmp' || p.kind === 'icmpv6') && !this.#fields.has(`${p.kind}.id`)) {
        this.#add(`${p.kind}.id`, p.at + 4, 2, [p.at + 2])
        this.#add(`${p.kind}.seq`, p.at + 6, 2, [p.at + 2])
      }
    }
  }

  /**
   * Recomputes every length and checksum of `frame` from its bytes, after you changed
   * bytes `set` does not know (payload, options) in place: a full pass, as `build` does.
   */
  recompute(): void {
    fix(this.frame, this.#planned, this.#end)
  }

  #add(field: TemplateField, at: number, size: 1 | 2 | 4, sums: number[]): void {
    this.#fields.set(field, { at, size, sums })
  }

  /** Byte offset of `field` in `frame` (throws when the frame has no such field). */
  offsetOf(field: TemplateField): number {
    return this.#get(field).at
  }

  #get(field: TemplateField): { at: number; size: 1 | 2 | 4; sums: number[] } {
    const f = this.#fields.get(field)
    if (f === undefined) throw valueError('field', field, `is not in this template (it has ${[...this.#fields.keys()].join(', ')})`)
    return f
  }

  /**
   * Writes `value` into `field` and fixes the checksums over it: RFC 1624 per 16-bit
   * word changed. Addresses take text or numbers (`0x0a000001`).
   */
  set(field: TemplateField, value: number | string): void {
    const f = this.#get(field)
    let v: number
    if (typeof value === 'string') {
      const parsed = parseIpv4(value)
      if (f.size !== 4 || parsed === undefined) throw valueError(field, value, f.size === 4 && field.startsWith('ipv4') ? `is not ${IPV4_RULE}` : 'must be a number')
      v = ((parsed[0] << 24) | (parsed[1] << 16) | (parsed[2] << 8) | parsed[3]) >>> 0
    } else v = uint(field, value, f.size === 1 ? 0xff : f.size === 2 ? 0xffff : 0xffffffff)
    const b = this.frame
    if (f.size === 1) {
      const old = (b[f.at] << 8) | b[f.at + 1]
      b[f.at] = v
      this.#adjust(f.sums, old, (v << 8) | b[f.at + 1])
    } else if (f.size === 2) {
      const old = (b[f.at] << 8) | b[f.at + 1]
      b[f.at] = v >> 8
      b[f.at + 1] = v & 0xff
      this.#adjust(f.sums, old, v)
    } else {
      const hi = (b[f.at] << 8) | b[f.at + 1]
      const lo = (b[f.at + 2] << 8) | b[f.at + 3]
      b[f.at] = v >>> 24
      b[f.at + 1] = (v >>> 16) & 0xff
      b[f.at + 2] = (v >>> 8) & 0xff
      b[f.at + 3] = v & 0xff
      this.#adjust(f.sums, hi, v >>> 16, lo, v & 0xffff)
    }
  }

  #adjust(sums: number[], old: number, now: number, old2 = 0, now2 = 0): void {
    const b = this.frame
    for (const at of sums) {
      const hc = (b[at] << 8) | b[at + 1]
      if (this.#udpSums.has(at) && hc === 0) continue // UDP over IPv4 sent without a checksum stays so
      const c = updateChecksum(updateChecksum(hc, old, now), old2, now2)
      const out = c === 0 && this.#udpSums.has(at) ? 0xffff : c
      b[at] = out >> 8
      b[at + 1] = out & 0xff
    }
  }
}

/**
 * RFC 1624 eqn. 3: the checksum `hc` after one 16-bit word it covers changed from `old`
 * to `now`: HC' = ~(~HC + ~m + m').
 */
export function updateChecksum(hc: number, old: number, now: number): number {
  let sum = (~hc & 0xffff) + (~old & 0xffff) + now
  sum = (sum & 0xffff) + (sum >>> 16)
  sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}
