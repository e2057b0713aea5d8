/**
 * DNS messages (RFC 1035 §4) decoded from a packet's bytes: the header, the four sections,
 * and the data of the common record types; for UDP and TCP port 53 and mDNS (5353).
 *
 * The decoder trusts no count or length in the message: every read is bounds-checked, a
 * compression pointer must point strictly backwards (so names always end), and a name may
 * not pass 255 octets or 128 pointers. It never throws; a message cut short or malformed
 * keeps what was decoded before the fault and says where decoding stopped in `error`.
 *
 * Text is as tshark 4.0 prints it where that is unambiguous (field names follow tshark's
 * `dns.*` fields and dns-packet, in camelCase). Where tshark is ambiguous the decoder
 * follows dig (`dns_name_totext`): see `DnsQuestion.name`.
 */
import { ipv4String, ipv6String } from './layers'

/** The root name, as tshark's `dns.qry.name` shows it. */
export const DNS_ROOT = '<Root>'

/**
 * Record type names by number (the IANA "Resource Record (RR) TYPEs" registry, plus the
 * query types). A number not in it is named `TYPE<n>` (RFC 3597 §5), e.g. `TYPE65534`.
 */
export const DNS_TYPES: Readonly<Record<number, string>> = Object.freeze({
  1: 'A', 2: 'NS', 3: 'MD', 4: 'MF', 5: 'CNAME', 6: 'SOA', 7: 'MB', 8: 'MG', 9: 'MR', 10: 'NULL',
  11: 'WKS', 12: 'PTR', 13: 'HINFO', 14: 'MINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB',
  19: 'X25', 20: 'ISDN', 21: 'RT', 22: 'NSAP', 23: 'NSAP-PTR', 24: 'SIG', 25: 'KEY', 26: 'PX',
  27: 'GPOS', 28: 'AAAA', 29: 'LOC', 30: 'NXT', 31: 'EID', 32: 'NIMLOC', 33: 'SRV', 34: 'ATMA',
  35: 'NAPTR', 36: 'KX', 37: 'CERT', 38: 'A6', 39: 'DNAME', 40: 'SINK', 41: 'OPT', 42: 'APL',
  43: 'DS', 44: 'SSHFP', 45: 'IPSECKEY', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 49: 'DHCID',
  50: 'NSEC3', 51: 'NSEC3PARAM', 52: 'TLSA', 53: 'SMIMEA', 55: 'HIP', 56: 'NINFO', 57: 'RKEY',
  58: 'TALINK', 59: 'CDS', 60: 'CDNSKEY', 61: 'OPENPGPKEY', 62: 'CSYNC', 63: 'ZONEMD', 64: 'SVCB',
  65: 'HTTPS', 99: 'SPF', 100: 'UINFO', 101: 'UID', 102: 'GID', 103: 'UNSPEC', 104: 'NID',
  105: 'L32', 106: 'L64', 107: 'LP', 108: 'EUI48', 109: 'EUI64', 249: 'TKEY', 250: 'TSIG',
  251: 'IXFR', 252: 'AXFR', 253: 'MAILB', 254: 'MAILA', 255: 'ANY', 256: 'URI', 257: 'CAA',
  258: 'AVC', 259: 'DOA', 260: 'AMTRELAY', 32768: 'TA', 32769: 'DLV',
})

/** MX data (RFC 1035 §3.3.9). */
export interface DnsMx {
  preference: number
  exchange: string
}

/** SRV data (RFC 2782). */
export interface DnsSrv {
  priority: number
  weight: number
  port: number
  target: string
}

/** SOA data (RFC 1035 §3.3.13); the intervals in seconds. */
export interface DnsSoa {
  mname: string
  rname: string
  serial: number
  refresh: number
  retry: number
  expire: number
  minimum: number
}

/** One EDNS option (RFC 6891 §6.1.2): its code and a copy of its data. */
export interface DnsOption {
  code: number
  data: Buffer
}

/**
 * OPT data (EDNS, RFC 6891 §6.1.3), read from the record's CLASS and TTL fields as well as
 * its RDATA. The message's full response code is `(extendedRcode << 4) | message.rcode`.
 */
export interface DnsOpt {
  /** The CLASS field: the requestor's UDP payload size. */
  udpPayloadSize: number
  /** The TTL's top byte: the upper 8 bits of the 12-bit response code. */
  extendedRcode: number
  /** The TTL's second byte: the EDNS version. */
  version: number
  /** The TTL's low 16 bits: DO (0x8000) and the reserved Z bits, as tshark's `dns.resp.z`. */
  flags: number
  options: DnsOption[]
}

/** CAA data (RFC 8659 §4.1). */
export interface DnsCaa {
  /** The flags byte; 0x80 is Issuer Critical. */
  flags: number
  /** The property tag, e.g. `issue`, `issuewild`, `iodef` (ASCII, read as latin1). */
  tag: string
  /** The property value, as UTF-8. */
  value: string
}

/** HINFO data (RFC 1035 §3.3.2): two character-strings, as UTF-8. */
export interface DnsHinfo {
  cpu: string
  os: string
}

/**
 * A record's data, by its type:
 * - A: `'192.0.2.1'`;
 * - AAAA: RFC 5952 text as tshark (and `inet_ntop`) prints it: lowercase, the longest run
 *   of two or more zero groups (the first of equal runs) written `::`, and `::ffff:a.b.c.d` /
 *   `::a.b.c.d` for IPv4-mapped and IPv4-compatible addresses;
 * - NS, CNAME, PTR, DNAME: the name;
 * - MX: `DnsMx`; SRV: `DnsSrv`; SOA: `DnsSoa`; OPT: `DnsOpt`; CAA: `DnsCaa`; HINFO: `DnsHinfo`;
 * - TXT: each character-string, decoded as UTF-8 (a byte that is not UTF-8 becomes U+FFFD;
 *   tshark 4.0 shows each byte above 0x7f so);
 * - any other type: a copy of the RDATA (safe to keep after a `zeroCopy` packet is released).
 */
export type DnsData = string | string[] | Buffer | DnsMx | DnsSrv | DnsSoa | DnsOpt | DnsCaa | DnsHinfo

/** One entry of the question section. */
export interface DnsQuestion {
  /**
   * The name, labels joined by `.`, without the trailing dot; the root is `'<Root>'`, as
   * tshark shows it. Inside a label, `.` and `\` are written `\.` and `\\`, and a byte
   * outside `!`..`~` (0x21–0x7e, so space too) as `\DDD` (three decimal digits), as dig
   * does; tshark 4.0 prints dots and backslashes in labels bare, so `a\.b` there is `a.b`.
   */
  name: string
  type: number
  /** The CLASS field without its top bit (mDNS's unicast-response bit, RFC 6762 §5.4). */
  class: number
  /** The CLASS field's top bit: mDNS's "QU" (unicast response wanted). */
  unicastResponse: boolean
  /** `DNS_TYPES[type]`, or `TYPE<n>`. */
  typeName: string
}

/** One resource record of the answer, authority or additional section. */
export interface DnsRecord {
  /** As `DnsQuestion.name`. */
  name: string
  type: number
  /**
   * The CLASS field without its top bit (mDNS's cache-flush bit, RFC 6762 §10.2); for OPT,
   * the whole field, which is the UDP payload size.
   */
  class: number
  /** The CLASS field's top bit, mDNS's cache-flush bit; false for OPT. */
  cacheFlush: boolean
  /** `DNS_TYPES[type]`, or `TYPE<n>`. */
  typeName: string
  /** The TTL field, unsigned; for OPT the extended RCODE, version and flags (see `DnsOpt`). */
  ttl: number
  data: DnsData
}

/** A decoded DNS message. Offsets in `error` count from the message's first byte (after a TCP length prefix). */
export interface DnsMessage {
  id: number
  /** QR: a response, not a query. */
  response: boolean
  opcode: number
  /** AA. */
  authoritative: boolean
  /** TC. */
  truncated: boolean
  /** RD. */
  recursionDesired: boolean
  /** RA. */
  recursionAvailable: boolean
  /** AD (RFC 4035). */
  authenticData: boolean
  /** CD (RFC 4035). */
  checkingDisabled: boolean
  /** The header's 4-bit RCODE (an OPT record's `extendedRcode` holds the upper bits). */
  rcode: number
  questions: DnsQuestion[]
  answers: DnsRecord[]
  authorities: DnsRecord[]
  additionals: DnsRecord[]
  /** What the header says each section holds (QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT): the
   * arrays' lengths unless the message is cut short or the counts lie. */
  counts: { questions: number; answers: number; authorities: number; additionals: number }
  /**
   * Set when the message was cut short or malformed: where decoding stopped and why, e.g.
   * `answers[1] at offset 45: RDLENGTH 16 runs past the message's end (58 bytes)`. The
   * entries decoded before stay; the one at fault and all after it are left out.
   */
  error?: string
}

/** A name may take at most this many octets on the wire, length bytes and root included (RFC 1035 §2.3.4). */
const MAX_NAME_OCTETS = 255
/** A name may follow at most this many compression pointers. */
const MAX_POINTERS = 128
const HEADER_LENGTH = 12
const TYPE_OPT = 41

/** Why decoding stopped; thrown inside the decoder only, and caught by `decodeDns`. */
class Stop {
  constructor(readonly reason: string) {}
}

/** The message being read: `bytes[base, end)`, and the next byte to read. */
interface Reader {
  readonly bytes: Uint8Array
  readonly base: number
  readonly end: number
  pos: number
}

/**
 * Decodes the DNS message in `bytes[offset, offset + length)` (by default, all of `bytes`).
 * With `tcp`, the message follows a 2-byte length prefix (RFC 1035 §4.2.2), and bytes after
 * the length it gives are not read; bytes after the last record the header counts are
 * ignored. Returns undefined when there are not 12 header bytes.
 * Never throws. Strings and `Buffer`s in the result are copies: the message does not
 * keep `bytes` alive or depend on it.
 */
export function decodeDns(bytes: Uint8Array, offset = 0, length?: number, tcp = false): DnsMessage | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined
  const start = Math.max(0, Math.trunc(offset) || 0)
  const available = Math.max(0, bytes.length - start)
  let end = start + (length === undefined ? available : Math.min(available, Math.max(0, Math.trunc(length) || 0)))
  let base = start
  let cut: string | undefined
  if (tcp) {
    if (end - start < 2) return undefined
    const prefix = (bytes[start] << 8) | bytes[start + 1]
    base = start + 2
    if (base + prefix <= end) end = base + prefix
    else cut = `the TCP length prefix says ${prefix} bytes, ${end - base} are here`
  }
  if (end - base < HEADER_LENGTH) return undefined

  const flags = (bytes[base + 2] << 8) | bytes[base + 3]
  const message: DnsMessage = {
    id: (bytes[base] << 8) | bytes[base + 1],
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    authenticData: (flags & 0x0020) !== 0,
    checkingDisabled: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    counts: {
      questions: (bytes[base + 4] << 8) | bytes[base + 5],
      answers: (bytes[base + 6] << 8) | bytes[base + 7],
      authorities: (bytes[base + 8] << 8) | bytes[base + 9],
      additionals: (bytes[base + 10] << 8) | bytes[base + 11],
    },
  }
  const r: Reader = { bytes, base, end, pos: base + HEADER_LENGTH }
  const qdcount = (bytes[base + 4] << 8) | bytes[base + 5]
  let section = 'questions'
  let index = 0
  let at = r.pos
  try {
    for (; index < qdcount; index++) {
      at = r.pos
      message.questions.push(readQuestion(r, qdcount))
    }
    const sections = [message.answers, message.authorities, message.additionals]
    const names = ['answers', 'authorities', 'additionals']
    for (let s = 0; s < 3; s++) {
      section = names[s]
      const count = (bytes[base + 6 + 2 * s] << 8) | bytes[base + 7 + 2 * s]
      const list = sections[s]
      for (index = 0; index < count; index++) {
        at = r.pos
        list.push(readRecord(r, count))
      }
    }
  } catch (stop) {
    if (!(stop instanceof Stop)) throw stop
    message.error = `${section}[${index}] at offset ${at - base}: ${stop.reason}${cut === undefined ? '' : `; ${cut}`}`
    return message
  }
  if (cut !== undefined) message.error = cut
  return message
}

function readQuestion(r: Reader, count: number): DnsQuestion {
  if (r.pos >= r.end) throw new Stop(`the message ends (${r.end - r.base} bytes) but the header counts ${count}`)
  const name = readName(r, r.end, false)
  const b = r.bytes
  const p = r.pos
  if (p + 4 > r.end) throw new Stop(`the type and class run past the message's end (${r.end - r.base} bytes)`)
  const type = (b[p] << 8) | b[p + 1]
  const cls = (b[p + 2] << 8) | b[p + 3]
  r.pos = p + 4
  return { name, type, class: cls & 0x7fff, unicastResponse: cls >= 0x8000, typeName: typeName(type) }
}

function readRecord(r: Reader, count: number): DnsRecord {
  if (r.pos >= r.end) throw new Stop(`the message ends (${r.end - r.base} bytes) but the header counts ${count}`)
  const name = readName(r, r.end, false)
  const b = r.bytes
  const p = r.pos
  if (p + 10 > r.end) throw new Stop(`the type, class, TTL and RDLENGTH run past the message's end (${r.end - r.base} bytes)`)
  const type = (b[p] << 8) | b[p + 1]
  const cls = (b[p + 2] << 8) | b[p + 3]
  const ttl = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0
  const rdlength = (b[p + 8] << 8) | b[p + 9]
  const from = p + 10
  const to = from + rdlength
  if (to > r.end) throw new Stop(`RDLENGTH ${rdlength} runs past the message's end (${r.end - r.base} bytes)`)
  r.pos = from
  const data = readData(r, type, cls, ttl, from, to)
  r.pos = to
  const opt = type === TYPE_OPT
  return {
    name,
    type,
    class: opt ? cls : cls & 0x7fff,
    cacheFlush: !opt && cls >= 0x8000,
    typeName: typeName(type),
    ttl,
    data,
  }
}

/** The names of types 0–511 in a plain array: a lookup in the frozen DNS_TYPES is slower. */
const LOW_TYPE_NAMES: readonly string[] = Array.from({ length: 512 }, (_, type) => DNS_TYPES[type] ?? `TYPE${type}`)

function typeName(type: number): string {
  return type < 512 ? LOW_TYPE_NAMES[type] : (DNS_TYPES[type] ?? `TYPE${type}`)
}

/** The RDATA in `[from, to)` of a record of `type`; `r.pos` is `from`. */
function readData(r: Reader, type: number, cls: number, ttl: number, from: number, to: number): DnsData {
  const b = r.bytes
  const size = to - from
  switch (type) {
    case 1: // A
      if (size !== 4) throw new Stop(`A data is ${size} bytes, not 4`)
      return ipv4String(b, from)
    case 28: // AAAA
      if (size !== 16) throw new Stop(`AAAA data is ${size} bytes, not 16`)
      return ipv6String(b, from)
    case 2: // NS
    case 5: // CNAME
    case 12: // PTR
    case 39: // DNAME
      return readName(r, to)
    case 15: {
      // MX
      if (size < 3) throw new Stop(`MX data is ${size} bytes, less than 3`)
      const preference = (b[from] << 8) | b[from + 1]
      r.pos = from + 2
      return { preference, exchange: readName(r, to) }
    }
    case 33: {
      // SRV
      if (size < 7) throw new Stop(`SRV data is ${size} bytes, less than 7`)
      const priority = (b[from] << 8) | b[from + 1]
      const weight = (b[from + 2] << 8) | b[from + 3]
      const port = (b[from + 4] << 8) | b[from + 5]
      r.pos = from + 6
      return { priority, weight, port, target: readName(r, to) }
    }
    case 6: {
      // SOA
      const mname = readName(r, to)
      const rname = readName(r, to)
      const p = r.pos
      if (p + 20 > to) throw new Stop(`SOA data ends ${p + 20 - to} bytes before its five counters`)
      return { mname, rname, serial: u32(b, p), refresh: u32(b, p + 4), retry: u32(b, p + 8), expire: u32(b, p + 12), minimum: u32(b, p + 16) }
    }
    case 16: {
      // TXT
      const texts: string[] = []
      for (let p = from; p < to; ) {
        const n = b[p]
        if (p + 1 + n > to) throw new Stop(`TXT string ${texts.length} (${n} bytes) runs past the data's end`)
        texts.push(utf8(b, p + 1, p + 1 + n))
        p += 1 + n
      }
      return texts
    }
    case 13: {
      // HINFO
      const cpuEnd = from + 1 + (size > 0 ? b[from] : 0)
      if (size < 2 || cpuEnd >= to || cpuEnd + 1 + b[cpuEnd] > to) throw new Stop(`HINFO data (${size} bytes) does not hold two strings`)
      return { cpu: utf8(b, from + 1, cpuEnd), os: utf8(b, cpuEnd + 1, cpuEnd + 1 + b[cpuEnd]) }
    }
    case 257: {
      // CAA
      const tagEnd = from + 2 + (size > 1 ? b[from + 1] : 0)
      if (size < 2 || tagEnd > to) throw new Stop(`CAA data (${size} bytes) does not hold its tag`)
      return { flags: b[from], tag: latin1(b, from + 2, tagEnd), value: utf8(b, tagEnd, to) }
    }
    case TYPE_OPT: {
      const options: DnsOption[] = []
      for (let p = from; p < to; ) {
        if (p + 4 > to) throw new Stop(`OPT option ${options.length} header runs past the data's end`)
        const code = (b[p] << 8) | b[p + 1]
        const n = (b[p + 2] << 8) | b[p + 3]
        if (p + 4 + n > to) throw new Stop(`OPT option ${options.length} (code ${code}, ${n} bytes) runs past the data's end`)
        options.push({ code, data: Buffer.from(b.subarray(p + 4, p + 4 + n)) })
        p += 4 + n
      }
      return { udpPayloadSize: cls, extendedRcode: ttl >>> 24, version: (ttl >>> 16) & 0xff, flags: ttl & 0xffff, options }
    }
    default:
      return Buffer.from(b.subarray(from, to))
  }
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0
}

function utf8(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('utf8')
}

function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1')
}

/**
 * The name at `r.pos`, whose labels before its first pointer (or its end) must lie below
 * `limit` (the end of the record data, or with `inData` false, the message); leaves `r.pos` after them. A pointer must point below the labels that led to it
 * (strictly backwards), so a loop cannot form; MAX_POINTERS and MAX_NAME_OCTETS bound the rest.
 */
function readName(r: Reader, limit: number, inData = true): string {
  const b = r.bytes
  let p = r.pos
  let bound = limit
  let within = inData ? "the record data's" : "the message's"
  let segment = p
  let resume = -1
  let pointers = 0
  let octets = 1 // the root's length byte
  let text = ''
  for (;;) {
    if (p >= bound) throw new Stop(`the name at offset ${r.pos - r.base} runs past ${within} end`)
    const len = b[p]
    if (len === 0) {
      p++
      break
    }
    if (len >= 0xc0) {
      if (p + 1 >= bound) throw new Stop(`the compression pointer at offset ${p - r.base} is cut short`)
      const target = r.base + (((len & 0x3f) << 8) | b[p + 1])
      if (target >= segment) throw new Stop(`the compression pointer at offset ${p - r.base} to offset ${target - r.base} does not point backwards`)
      if (++pointers > MAX_POINTERS) throw new Stop(`the name at offset ${r.pos - r.base} follows more than ${MAX_POINTERS} compression pointers`)
      if (resume < 0) resume = p + 2
      p = segment = target
      bound = r.end
      within = "the message's"
      continue
    }
    if (len >= 0x40) throw new Stop(`the label type 0x${(len & 0xc0).toString(16)} at offset ${p - r.base} is not supported`)
    octets += len + 1
    if (octets > MAX_NAME_OCTETS) throw new Stop(`the name at offset ${r.pos - r.base} is longer than ${MAX_NAME_OCTETS} octets`)
    if (p + 1 + len > bound) throw new Stop(`the label at offset ${p - r.base} runs past ${within} end`)
    if (text !== '') text += '.'
    text += label(b, p + 1, p + 1 + len)
    p += 1 + len
  }
  r.pos = resume < 0 ? p : resume
  return text === '' ? DNS_ROOT : text
}

/** One label's text: `.` and `\` escaped with `\`, bytes outside 0x21–0x7e as `\DDD` (as dig). */
function label(b: Uint8Array, from: number, to: number): string {
  let text = ''
  for (let i = from; i < to; i++) {
    const c = b[i]
    if (c > 0x20 && c < 0x7f) {
      text += c === 0x2e || c === 0x5c ? (c === 0x2e ? '\\.' : '\\\\') : String.fromCharCode(c)
    } else {
      text += c < 10 ? `\\00${c}` : c < 100 ? `\\0${c}` : `\\${c}`
    }
  }
  return text
}

