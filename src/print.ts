/**
 * One line per packet as `tcpdump -nn` prints it: time, link, network and transport
 * summary, length; `-q` (quiet), `-e` (link header), `-x`/`-X` (hex, hex and ASCII), `-v`
 * (IP header fields) and the `-t` family of time formats. Formats follow tcpdump 4.99's
 * print-*.c for Ethernet, Linux cooked, ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6 and DNS;
 * other protocols print as tcpdump prints an unknown one.
 */
import { decodeDns, type DnsMessage, type DnsRecord } from './dns'
import type { Icmp, Ipv4, Ipv6, Tcp } from './layers'
import { ipv4String, ipv6String, LinkType } from './layers'
import type { Packet } from './packet'

/** How `-t` … `-ttttt` print the time. */
export type TimeFormat = 'time' | 'none' | 'epoch' | 'delta' | 'date' | 'since-first'

export interface PrintOptions {
  /** `-q`: less protocol detail (TCP and UDP as `tcp N` / `UDP, length N`). */
  quiet?: boolean
  /** `-e`: the link-layer header too. */
  link?: boolean
  /** `-x`: the packet in hex after each line; `-X`: hex and ASCII. */
  hex?: 'hex' | 'ascii'
  /** `-xx`/`-XX`: the hex starts at the link header, not the network header. */
  hexLink?: boolean
  /** `-v`: number of v's (IP header fields, on their own line for TCP/UDP). */
  verbose?: number
  /** `-t`…: default the time of day (local time, microseconds). */
  time?: TimeFormat
  /** The name of interface `ifindex`, for Linux cooked v2 packets (`any`); tcpdump asks
   * its own namespace, and prints `?` for an index it does not know. */
  interfaceName?: (ifindex: number) => string | undefined
}

const ETHERTYPES: Record<number, string> = {
  0x0800: 'IPv4',
  0x0806: 'ARP',
  0x8035: 'Reverse ARP',
  0x86dd: 'IPv6',
  0x8100: '802.1Q',
  0x88a8: '802.1Q-QinQ',
  0x9100: '802.1Q-9100',
  0x8847: 'MPLS unicast',
  0x8848: 'MPLS multicast',
  0x8863: 'PPPoE D',
  0x8864: 'PPPoE S',
  0x888e: 'EAPOL',
  0x88cc: 'LLDP',
  0x9000: 'Loopback',
}

const IP_PROTOCOLS: Record<number, string> = { 1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 103: 'PIM', 112: 'VRRP', 132: 'SCTP' }

const two = (n: number): string => String(n).padStart(2, '0')
const six = (n: number): string => String(n).padStart(6, '0')

/** tcpdump's `-ttt` / `-ttttt` form of a span of microseconds: `HH:MM:SS.ffffff`. */
function span(us: bigint): string {
  const negative = us < 0n
  const abs = negative ? -us : us
  const s = Number(abs / 1_000_000n)
  const text = `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}.${six(Number(abs % 1_000_000n))}`
  return negative ? `-${text}` : text
}

/** Prints packets as tcpdump does; keeps what tcpdump keeps between packets (the last
 * time, TCP's first sequence numbers). */
export class PacketPrinter {
  readonly #options: PrintOptions
  #first: bigint | undefined
  #previous: bigint | undefined
  /** Per TCP connection, the sequence and acknowledgment numbers of its first packet. */
  readonly #tcp = new Map<string, { seq: number; ack: number }>()

  constructor(options: PrintOptions = {}) {
    this.#options = options
  }

  /** The packet's line (with `-x`/`-X` the hex lines after it), without a final newline. */
  format(packet: Packet): string {
    let line = this.#time(packet.timestamp)
    line += this.#body(packet)
    const hex = this.#options.hex
    if (hex !== undefined) {
      const start = this.#options.hexLink === true ? 0 : networkStart(packet)
      line += hexDump(packet.data.subarray(start), hex === 'ascii')
    }
    return line
  }

  #time(ns: bigint): string {
    const us = ns / 1000n
    const format = this.#options.time ?? 'time'
    const previous = this.#previous ?? us
    this.#previous = us
    this.#first ??= us
    const fraction = six(Number(us % 1_000_000n))
    const date = new Date(Number(us / 1000n))
    const clock = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${fraction}`
    switch (format) {
      case 'none':
        return ''
      case 'epoch':
        return `${us / 1_000_000n}.${fraction} `
      case 'delta':
        return ` ${span(us - previous)} `
      case 'since-first':
        return ` ${span(us - this.#first)} `
      case 'date':
        return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${clock} `
      default:
        return `${clock} `
    }
  }

  #body(p: Packet): string {
    const o = this.#options
    const ethernet = p.ethernet
    if (ethernet !== undefined) {
      const header = (): string =>
        `${ethernet.src} > ${ethernet.dst}${ethernet.type <= 1500 ? ', 802.3' : `, ${ethertypeText(ethernet.type, o.quiet === true)}`}, length ${p.length}: `
      const known = p.arp !== undefined || p.ipv4 !== undefined || p.ipv6 !== undefined || p.decodeError !== undefined
      if (!known && ethernet.type > 1500 && p.vlans.length === 0) {
        // As tcpdump prints a frame of a type it does not decode: the header, and (unless
        // -q, or -x/-X print the bytes anyway) the rest in hex and ASCII.
        const dump = o.quiet === true || o.hex !== undefined ? '' : hexDump(p.data.subarray(14), true)
        return header() + dump
      }
      // tcpdump shows the tags with the link header only (-e).
      return (o.link === true ? header() + this.#vlans(p) : '') + this.#network(p, ethernet.etherType, ethernet.type <= 1500)
    }
    const sll = p.sll
    if (sll !== undefined) {
      let head = ''
      if (sll.version === 2) {
        const name = o.interfaceName?.(sll.ifindex ?? 0) ?? '?'
        head = `${name.padEnd(5)} ${(SLL_TYPES[sll.packetType] ?? '?').padEnd(3)} `
      }
      if (o.link === true) head += sllHead(p, o.quiet === true) + this.#vlans(p)
      return head + this.#network(p, p.vlans.length > 0 ? innerEtherType(p) : sll.protocol, sll.protocol === 1 || sll.protocol === 4)
    }
    if (p.linkType === LinkType.NULL || p.linkType === LinkType.LOOP) {
      const head = o.link === true ? `AF ${p.ip?.version === 6 ? 'IPv6' : 'IPv4'} (${loopbackFamily(p)}), length ${p.length}: ` : ''
      return head + this.#network(p, p.ip?.version === 6 ? 0x86dd : p.ip !== undefined ? 0x0800 : 0, false)
    }
    if (p.linkType === LinkType.RAW || p.linkType === LinkType.IPV4 || p.linkType === LinkType.IPV6) {
      return this.#network(p, p.ip?.version === 6 ? 0x86dd : p.ip !== undefined ? 0x0800 : 0, false)
    }
    return `[link type ${p.linkType}], length ${p.length}`
  }

  /** The VLAN tags tcpdump prints before the network layer. */
  #vlans(p: Packet): string {
    let text = ''
    const tags = p.vlans
    tags.forEach((tag, i) => {
      const next = i + 1 < tags.length ? tags[i + 1].tpid : innerEtherType(p)
      text += `vlan ${tag.id}, p ${tag.tci >> 13}${(tag.tci & 0x1000) !== 0 ? ', DEI' : ''}, ${ethertypeText(next, this.#options.quiet === true)}, `
    })
    return text
  }

  /** The network layer on; its name ("IP", "ARP, ") only without -e, which named the EtherType. */
  #network(p: Packet, etherType: number, ieee8023: boolean): string {
    const named = this.#options.link !== true
    // With -v, tcpdump names the address types: "ARP, Ethernet (len 6), IPv4 (len 4), ".
    const arpName = (named ? 'ARP, ' : '') + ((this.#options.verbose ?? 0) > 0 && p.arp?.hardwareType === 1 && p.arp.protocolType === 0x0800 ? `Ethernet (len ${p.arp.hardwareSize}), IPv4 (len ${p.arp.protocolSize}), ` : '')
    const arp = p.arp
    if (arp !== undefined) {
      const length = `, length ${p.length - networkStart(p)}`
      if (arp.hardwareType !== 1 || arp.protocolType !== 0x0800 || arp.hardwareSize !== 6 || arp.protocolSize !== 4) {
        return `${arpName}${arpOperation(arp.operation)}${length}`
      }
      switch (arp.operation) {
        case 1:
          return `${arpName}Request who-has ${arp.targetIp}${arp.targetMac === '00:00:00:00:00:00' ? '' : ` (${arp.targetMac})`} tell ${arp.senderIp}${length}`
        case 2:
          return `${arpName}Reply ${arp.senderIp} is-at ${arp.senderMac}${length}`
        default:
          return `${arpName}${arpOperation(arp.operation)}${length}`
      }
    }
    const ipv4 = p.ipv4
    if (ipv4 !== undefined) return this.#ipv4(p, ipv4, named ? 'IP ' : '')
    const ipv6 = p.ipv6
    if (ipv6 !== undefined) return this.#ipv6(p, ipv6, named ? 'IP6 ' : '')
    const error = p.decodeError
    if (error !== undefined && (error.layer === 'ipv4' || error.layer === 'ipv6')) return `${error.layer === 'ipv4' ? 'IP' : 'IP6'} [|${error.layer === 'ipv4' ? 'ip' : 'ip6'}]`
    if (ieee8023) return `LLC, length ${p.length - networkStart(p)}`
    return `ethertype ${ETHERTYPES[etherType] ?? 'Unknown'} (0x${etherType.toString(16).padStart(4, '0')}), length ${p.length}`
  }

  #ipv4(p: Packet, ip: Ipv4, name: string): string {
    const v = this.#options.verbose ?? 0
    let head = name
    if (v > 0) {
      const flags = [ip.flags & 4 ? '+' : '', ip.dontFragment ? 'DF' : '', ip.moreFragments ? '+' : ''].filter((f) => f !== '')
      const proto = IP_PROTOCOLS[ip.protocol] ?? 'unknown'
      head += `(tos 0x${ip.tos.toString(16)}, ttl ${ip.ttl}, id ${ip.id}, offset ${ip.fragmentOffset * 8}, flags [${flags.length > 0 ? flags.join('') : 'none'}], proto ${proto} (${ip.protocol}), length ${ip.length}`
      if (ip.headerLength > 20) head += `, options (${ipv4Options(ip.options)})`
      head += ')\n    '
    }
    const src = ip.src
    const dst = ip.dst
    if (ip.fragmentOffset !== 0) return `${head}${src} > ${dst}: ${ipProtocolName(ip.protocol)}`
    return head + this.#transport(p, src, dst, ip.length - ip.headerLength)
  }

  #ipv6(p: Packet, ip: Ipv6, name: string): string {
    const v = this.#options.verbose ?? 0
    let head = name
    if (v > 0) {
      head += `(${ip.flowLabel !== 0 ? `flowlabel 0x${ip.flowLabel.toString(16).padStart(5, '0')}, ` : ''}${ip.trafficClass !== 0 ? `class 0x${ip.trafficClass.toString(16)}, ` : ''}hlim ${ip.hopLimit}, next-header ${IP_PROTOCOLS[ip.nextHeader] ?? (ip.nextHeader === 0 ? 'Options' : 'unknown')} (${ip.nextHeader}) payload length: ${ip.payloadLength}) `
    }
    const src = ip.src
    const dst = ip.dst
    let extensions = ''
    if ((ip.extensions & 1) !== 0) extensions += 'HBH '
    if ((ip.extensions & 8) !== 0) extensions += 'DSTOPT '
    if ((ip.extensions & 2) !== 0) extensions += 'srcrt '
    const fragment = ip.fragment
    const length = ip.payloadLength - ((p.transportOffset ?? 0) - networkStart(p) - 40)
    if (fragment !== undefined) {
      extensions += `frag (${fragment.offset * 8}${fragment.more || fragment.offset !== 0 ? `|${length}` : ''}) `
      if (fragment.offset !== 0) return `${head}${src} > ${dst}: ${extensions}`.trimEnd()
    }
    if (extensions === '') return head + this.#transport(p, src, dst, length)
    // tcpdump prints the extension headers between the addresses and the transport.
    const rest = this.#transport(p, src, dst, length)
    const after = rest.indexOf(': ', rest.indexOf(' > ') + 3)
    return after < 0 ? head + rest : `${head}${rest.slice(0, after + 2)}${extensions}${rest.slice(after + 2)}`
  }

  /** `SRC.PORT > DST.PORT: …` of the transport layer; `length` is the IP payload's. */
  #transport(p: Packet, src: string, dst: string, length: number): string {
    const quiet = this.#options.quiet === true
    const tcp = p.tcp
    if (tcp !== undefined) {
      const addresses = `${src}.${tcp.srcPort} > ${dst}.${tcp.dstPort}: `
      const data = length - tcp.headerLength
      if (quiet) return `${addresses}tcp ${data}`
      return addresses + this.#tcpText(p, tcp, src, dst, data)
    }
    const udp = p.udp
    if (udp !== undefined) {
      const addresses = `${src}.${udp.srcPort} > ${dst}.${udp.dstPort}: `
      const data = udp.length - 8
      if (!quiet && isDnsPort(udp.srcPort, udp.dstPort)) {
        const dns = decodeDns(p.payload)
        if (dns !== undefined) return `${addresses}${dnsText(dns, udp.srcPort === 5353 || udp.dstPort === 5353)}${dns.error === undefined ? ` (${data})` : ''}`
      }
      return `${addresses}UDP, length ${data}`
    }
    const icmp = p.icmp
    if (icmp !== undefined) return `${src} > ${dst}: ICMP ${icmpText(icmp, p)}, length ${length}`
    const icmpv6 = p.icmpv6
    if (icmpv6 !== undefined) return `${src} > ${dst}: ICMP6, ${icmpv6Text(icmpv6, p)}, length ${length}`
    const error = p.decodeError
    if (error !== undefined) return `${src} > ${dst}: [|${error.layer}]`
    // As tcpdump prints a protocol it does not decode (print-ip.c: " ip-proto-%u %u").
    return `${src} > ${dst}:  ${ipProtocolName(p.ip?.protocol ?? 0)} ${length}`
  }

  #tcpText(p: Packet, tcp: Tcp, src: string, dst: string, data: number): string {
    const flags = tcp.flags
    let seq = tcp.seq
    let ack = tcp.ack
    // Relative sequence numbers, as tcpdump without -S: the first packet of a connection
    // (or a SYN) sets each direction's base; later ones print their distance from it.
    const reversed = src > dst || (src === dst && tcp.srcPort > tcp.dstPort)
    const key = reversed ? `${dst}.${tcp.dstPort}>${src}.${tcp.srcPort}` : `${src}.${tcp.srcPort}>${dst}.${tcp.dstPort}`
    const known = this.#tcp.get(key)
    let base = { seq: 0, ack: 0 }
    if (known === undefined || (flags & 0x02) !== 0) {
      this.#tcp.set(key, reversed ? { seq: (ack - 1) >>> 0, ack: seq } : { seq, ack: (ack - 1) >>> 0 })
    } else {
      base = reversed ? { seq: known.ack, ack: known.seq } : known
      seq = (seq - base.seq) >>> 0
      ack = (ack - base.ack) >>> 0
    }
    let text = `Flags [${tcpFlags(flags)}]`
    if ((this.#options.verbose ?? 0) > 1 || data > 0 || (flags & 0x07) !== 0) {
      text += `, seq ${seq}`
      if (data > 0) text += `:${(seq + data) >>> 0}`
    }
    if ((flags & 0x10) !== 0) text += `, ack ${ack}`
    text += `, win ${tcp.window}`
    if ((flags & 0x20) !== 0) text += `, urg ${tcp.urgentPointer}`
    if (tcp.headerLength > 20) text += `, options [${tcpOptions(tcp.options, base.ack)}]`
    text += `, length ${data}`
    if (data > 0 && HTTP_PORTS.some((port) => port === tcp.srcPort || port === tcp.dstPort)) text += ': HTTP'
    else if (data > 0 && isDnsPort(tcp.srcPort, tcp.dstPort)) {
      const dns = decodeDns(p.payload, 0, undefined, true)
      if (dns !== undefined) text += `: ${dnsText(dns, false)}${dns.error === undefined ? ` (${data - 2})` : ''}`
    }
    return text
  }
}

/** TCP ports whose data tcpdump names HTTP (http, http-alt, squid). */
const HTTP_PORTS = [80, 8080, 3128]

const isDnsPort = (a: number, b: number): boolean => a === 53 || b === 53 || a === 5353 || b === 5353

function ethertypeText(type: number, quiet: boolean): string {
  const name = ETHERTYPES[type]
  if (quiet) return name ?? `Unknown Ethertype (0x${type.toString(16).padStart(4, '0')})`
  return `ethertype ${name ?? 'Unknown'} (0x${type.toString(16).padStart(4, '0')})`
}

/** What tcpdump prints for an IP protocol it has no decoder for; a later fragment's
 * `ip-proto-N` has no length after it. */
const ipProtocolName = (protocol: number): string => `ip-proto-${protocol}`

/** Where the network header starts in the packet's bytes. */
const networkStart = (p: Packet): number => p.networkOffset ?? 0

/** The EtherType after the last VLAN tag. */
function innerEtherType(p: Packet): number {
  const start = networkStart(p)
  const data = p.data
  return start >= 2 && start <= data.length ? (data[start - 2] << 8) | data[start - 1] : 0
}

const SLL_TYPES = ['In', 'B', 'M', 'P', 'Out']

/** The cooked header as tcpdump's -e prints it (print-sll.c): direction (SLL) or interface
 * index (SLL2), an Ethernet source address, and without -q the protocol and length. */
function sllHead(p: Packet, quiet: boolean): string {
  const sll = p.sll!
  let head = sll.version === 2 ? `ifindex ${sll.ifindex ?? 0} ` : `${(SLL_TYPES[sll.packetType] ?? '?').padStart(3)} `
  const address = sll.address
  if (address.length === 17) head += `${address} `
  if (quiet) return head
  const protocol = sll.protocol
  const names: Record<number, string> = { 1: '802.3', 4: '802.2' }
  head += protocol <= 1500 ? `${names[protocol] ?? `ethertype Unknown (0x${protocol.toString(16).padStart(4, '0')})`}, ` : `${ethertypeText(protocol, false)}, `
  return `${head}length ${p.length}: `
}

function loopbackFamily(p: Packet): number {
  const d = p.data
  return p.linkType === LinkType.LOOP ? (d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3] : d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24)
}

function arpOperation(op: number): string {
  const names: Record<number, string> = { 1: 'Request', 2: 'Reply', 3: 'Reverse Request', 4: 'Reverse Reply', 8: 'Inverse Request', 9: 'Inverse Reply' }
  return names[op] ?? `Unknown (${op})`
}

/** tcpdump's letters for TCP flags, in its order. */
function tcpFlags(flags: number): string {
  const letters: Array<[number, string]> = [
    [0x01, 'F'],
    [0x02, 'S'],
    [0x04, 'R'],
    [0x08, 'P'],
    [0x10, '.'],
    [0x20, 'U'],
    [0x40, 'E'],
    [0x80, 'W'],
    [0x100, 'e'],
  ]
  const text = letters.map(([bit, letter]) => ((flags & bit) !== 0 ? letter : '')).join('')
  return text === '' ? 'none' : text
}

/** TCP options as tcpdump lists them; SACK blocks relative to `base` (the peer's first
 * sequence number), as tcpdump prints them. */
function tcpOptions(o: Buffer, base: number): string {
  const parts: string[] = []
  for (let i = 0; i < o.length; ) {
    const kind = o[i]
    if (kind === 0) {
      parts.push('eol')
      break
    }
    if (kind === 1) {
      parts.push('nop')
      i++
      continue
    }
    if (i + 1 >= o.length) {
      parts.push(`[|tcp]`)
      break
    }
    const len = o[i + 1]
    if (len < 2 || i + len > o.length) {
      parts.push(`[|tcp]`)
      break
    }
    const u16 = (k: number): number => (o[i + k] << 8) | o[i + k + 1]
    const u32 = (k: number): number => ((o[i + k] << 24) | (o[i + k + 1] << 16) | (o[i + k + 2] << 8) | o[i + k + 3]) >>> 0
    switch (kind) {
      case 2:
        parts.push(len === 4 ? `mss ${u16(2)}` : `mss [bad opt]`)
        break
      case 3:
        parts.push(len === 3 ? `wscale ${o[i + 2]}` : `wscale [bad opt]`)
        break
      case 4:
        parts.push('sackOK')
        break
      case 5: {
        const blocks = (len - 2) / 8
        let text = `sack ${Math.floor(blocks)} `
        for (let k = 0; k + 8 <= len - 2; k += 8) text += `{${(u32(2 + k) - base) >>> 0}:${(u32(6 + k) - base) >>> 0}}`
        parts.push(text)
        break
      }
      case 8:
        parts.push(len === 10 ? `TS val ${u32(2)} ecr ${u32(6)}` : `TS [bad opt]`)
        break
      case 34:
        parts.push(`tfo${len === 2 ? '  cookiereq' : ` cookie ${o.subarray(i + 2, i + len).toString('hex')}`}`)
        break
      default:
        parts.push(`unknown-${kind}${len > 2 ? ` 0x${o.subarray(i + 2, i + len).toString('hex')}` : ''}`)
    }
    i += len
  }
  return parts.join(',')
}

function ipv4Options(o: Buffer): string {
  const parts: string[] = []
  for (let i = 0; i < o.length; ) {
    const kind = o[i]
    if (kind === 0) {
      parts.push('EOL')
      break
    }
    if (kind === 1) {
      parts.push('NOP')
      i++
      continue
    }
    const len = o[i + 1] ?? 0
    if (len < 2 || i + len > o.length) break
    if (kind === 7) {
      const hops: string[] = []
      for (let k = i + 3; k + 4 <= i + len; k += 4) hops.push(`${ipv4String(o, k)}${k + 4 === i - 1 + o[i + 2] ? ',' : ''}`)
      parts.push(`RR ${hops.join(' ')}`)
    } else if (kind === 148) parts.push(`RA value ${(o[i + 2] << 8) | o[i + 3]}`)
    else parts.push(`unknown ${kind}`)
    i += len
  }
  return parts.join(',')
}

/** The echo fields of an ICMP or ICMPv6 echo request or reply. */
const echo = (icmp: Icmp): string => `, id ${icmp.id ?? 0}, seq ${icmp.seq ?? 0}`

const UNREACH = ['net', 'host', 'protocol', 'port']

/** The ICMP or ICMPv6 message from its type byte on. */
const icmpBytes = (p: Packet): Buffer => p.data.subarray(p.transportOffset ?? p.data.length)

function icmpText(icmp: Icmp, p: Packet): string {
  switch (icmp.type) {
    case 0:
      return `echo reply${echo(icmp)}`
    case 8:
      return `echo request${echo(icmp)}`
    case 3: {
      // The datagram that could not be delivered follows the 8-byte header.
      const inner = icmpBytes(p).subarray(8)
      const proto = inner.length >= 20 ? inner[9] : -1
      const dst = inner.length >= 20 ? ipv4String(inner, 16) : ''
      const ihl = inner.length >= 1 ? (inner[0] & 15) * 4 : 0
      if (icmp.code === 3 && inner.length >= ihl + 4) {
        const port = (inner[ihl + 2] << 8) | inner[ihl + 3]
        return `${dst} ${proto === 6 ? 'tcp' : proto === 17 ? 'udp' : `ip-proto-${proto}`} port ${port} unreachable`
      }
      if (icmp.code === 2) return `${dst} protocol ${proto} unreachable`
      if (icmp.code < 4) return `${UNREACH[icmp.code]} ${dst} unreachable`
      return `${dst} unreachable - code ${icmp.code}`
    }
    case 11:
      return icmp.code === 0 ? 'time exceeded in-transit' : 'ip reassembly time exceeded'
    case 5:
      return 'redirect'
    case 13:
      return 'time stamp query'
    case 14:
      return 'time stamp reply'
    default:
      return `type-#${icmp.type}`
  }
}

const ICMP6_TYPES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded in-transit',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'multicast listener report',
  132: 'multicast listener done',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'multicast listener report v2',
}

function icmpv6Text(icmp: Icmp, p: Packet): string {
  const name = ICMP6_TYPES[icmp.type] ?? `unknown icmp6 type (${icmp.type})`
  const body = icmpBytes(p)
  switch (icmp.type) {
    case 128:
    case 129:
      return `${name}${echo(icmp)}`
    case 135:
      return body.length >= 24 ? `${name}, who has ${ipv6String(body, 8)}` : name
    case 136:
      return body.length >= 24 ? `${name}, tgt is ${ipv6String(body, 8)}` : name
    case 143:
      return body.length >= 8 ? `${name}, ${(body[6] << 8) | body[7]} group record(s)` : name
    default:
      return name
  }
}

const DNS_OPCODES = ['', ' iquery', ' status', ' op3', ' notify', ' update', ' op6', ' op7', ' op8', ' updateA', ' updateD', ' updateDA', ' updateM', ' updateMA', ' zoneInit', ' zoneRef']
const DNS_RCODES = ['', ' FormErr', ' ServFail', ' NXDomain', ' NotImp', ' Refused', ' YXDomain', ' YXRRSet', ' NXRRSet', ' NotAuth', ' NotZone']

/** A DNS message as tcpdump's print-domain.c summarizes it (without -v); one cut short
 * ends in tcpdump's `[|domain]` after what could be read. */
function dnsText(m: DnsMessage, mdns: boolean): string {
  return dnsSummary(m, mdns) + (m.error === undefined ? '' : ' [|domain]')
}

function dnsSummary(m: DnsMessage, mdns: boolean): string {
  const counts = (q: number, an: number, ns: number, ar: number): string =>
    `${q !== 1 ? ` [${q}q]` : ''}${an !== 0 ? ` [${an}a]` : ''}${ns !== 0 ? ` [${ns}n]` : ''}${ar !== 0 ? ` [${ar}au]` : ''}`
  if (!m.response) {
    let text = `${m.id}${DNS_OPCODES[m.opcode] ?? ''}${m.recursionDesired ? '+' : ''}${m.checkingDisabled ? '%' : ''}`
    text += counts(m.counts.questions, m.counts.answers, m.counts.authorities, m.counts.additionals)
    for (const q of m.questions) text += ` ${q.typeName}? ${dnsName(q.name)}`
    return text
  }
  let text = `${m.id}${DNS_OPCODES[m.opcode] ?? ''}${DNS_RCODES[m.rcode] ?? ` Resp${m.rcode}`}${m.authoritative ? '*' : ''}${m.recursionAvailable || mdns ? '' : '-'}${m.truncated ? '|' : ''}`
  if (m.counts.questions !== 1) text += ` [${m.counts.questions}q]`
  text += ` ${m.counts.answers}/${m.counts.authorities}/${m.counts.additionals}`
  text += m.answers.map((r, i) => `${i === 0 ? ' ' : ','} ${dnsRecordText(r)}`.replace(/^ {2}/, ' ')).join('')
  return text
}

const dnsName = (name: string): string => (name === '<Root>' ? '.' : name.endsWith('.') ? name : `${name}.`)

function dnsRecordText(r: DnsRecord): string {
  const d = r.data as unknown
  switch (r.typeName) {
    case 'A':
    case 'AAAA':
      return `${r.typeName} ${String(d)}`
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return `${r.typeName} ${dnsName(String(d))}`
    case 'MX': {
      const mx = d as { preference: number; exchange: string }
      return `MX ${dnsName(mx.exchange)} ${mx.preference}`
    }
    case 'SRV': {
      const srv = d as { priority: number; weight: number; port: number; target: string }
      return `SRV ${dnsName(srv.target)}:${srv.port} ${srv.priority} ${srv.weight}`
    }
    case 'TXT':
      return `TXT ${(d as string[]).map((s) => `"${s}"`).join(' ')}`
    default:
      return r.typeName
  }
}

/** tcpdump's -x / -X lines: offset, 8 groups of 2 bytes, and with ASCII the printable characters. */
function hexDump(bytes: Buffer, ascii: boolean): string {
  let text = ''
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16)
    let hex = ''
    for (let k = 0; k < row.length; k += 2) hex += ` ${row.subarray(k, k + 2).toString('hex')}`
    text += `\n\t0x${at.toString(16).padStart(4, '0')}: ${hex}`
    if (ascii) {
      const chars = [...row].map((c) => (c > 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('')
      text += `${' '.repeat(40 - hex.length)}  ${chars}`
    }
  }
  return text
}

