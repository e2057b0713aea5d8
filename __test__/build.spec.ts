/**
 * The frame builder: every layer and option read back by netring's own decoder (the
 * round trip), every frame read by tshark with checksum validation on (the oracle), bad
 * specs as typed errors naming field and rule, `Template`'s incremental checksums equal
 * to a full rebuild, and (privileged) built frames accepted by the kernel of a peer
 * namespace: a UDP socket there receives them, and it answers built pings.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'

import { build, buildInto, decode, LinkType, openRing, openTx, Template, updateChecksum, type LayerSpec, type Packet } from 'netring'
import { PEER_IP, SELF_IP } from '../examples/netns'
import { pcap } from './helpers/dns'
import { B, privileged, privilegedPeer } from './helpers/netns'

const mac1 = '02:00:00:00:00:01'
const mac2 = '02:00:00:00:00:02'
const eth = { ethernet: { src: mac2, dst: mac1 } }
const v4 = { src: '10.0.0.1', dst: '192.168.7.254' }
const v6 = { src: 'fe80::1', dst: '2001:db8::2:1' }

interface Case {
  name: string
  layers: LayerSpec[]
  /** tshark's frame.protocols must end with this. */
  protocols: string
  linkType?: number
  /** tshark warns about it on purpose (nonsense flag combinations). */
  warns?: true
  check(t: import('ava').ExecutionContext, p: Packet): void
}

const cases: Case[] = [
  {
    name: 'Ethernet + raw payload, padded to 60',
    layers: [{ ethernet: { src: mac2, dst: mac1, type: 0x88b5 } }, { payload: Buffer.from('abc') }],
    protocols: 'eth:ethertype:data',
    check(t, p) {
      t.is(p.data.length, 60)
      t.like(p.ethernet?.toJSON(), { src: mac2, dst: mac1, type: 0x88b5 })
      t.deepEqual([...p.data.subarray(14, 17)], [0x61, 0x62, 0x63])
      t.true(p.data.subarray(17).every((b) => b === 0))
    },
  },
  {
    name: 'IPv4 (every field, router alert + NOP options) / UDP / payload',
    layers: [eth, { ipv4: { ...v4, ttl: 7, id: 0xbeef, tos: 0xb8, flags: 'DF', options: [{ routerAlert: 0 }, 'nop', { type: 0x44, data: Buffer.from([5, 0x40, 0, 0, 0, 0]) }] } }, { udp: { srcPort: 40000, dstPort: 9 } }, { payload: Buffer.alloc(100, 7) }],
    protocols: 'eth:ethertype:ip:udp:data',
    check(t, p) {
      t.like(p.ipv4?.toJSON(), { ...v4, ttl: 7, id: 0xbeef, tos: 0xb8, flags: 2, protocol: 17, headerLength: 36, length: 36 + 8 + 100 })
      t.deepEqual(p.ipv4?.optionList, [{ routerAlert: 0 }, 'nop', { type: 0x44, data: Buffer.from([5, 0x40, 0, 0, 0, 0]) }])
      t.like(p.udp?.toJSON(), { srcPort: 40000, dstPort: 9, length: 108 })
      t.deepEqual(p.payload, Buffer.alloc(100, 7))
    },
  },
  {
    name: 'IPv4 fragment (MF, offset) carrying a payload with its protocol',
    layers: [eth, { ipv4: { ...v4, flags: 'MF', fragmentOffset: 185, protocol: 17, id: 3 } }, { payload: Buffer.alloc(40, 1) }],
    protocols: 'eth:ethertype:ip:data',
    check(t, p) {
      t.like(p.ipv4?.toJSON(), { flags: 1, fragmentOffset: 185, protocol: 17, id: 3 })
      t.true(p.ipv4?.moreFragments)
    },
  },
  {
    name: '802.1ad + 802.1Q (QinQ) / IPv4 / TCP SYN with every option',
    layers: [
      eth,
      { vlan: { id: 5, tpid: 0x88a8, pcp: 5, dei: true } },
      { vlan: { id: 4094, pcp: 3 } },
      { ipv4: v4 },
      { tcp: { srcPort: 33000, dstPort: 443, seq: 0xfffffff0, ack: 0, flags: 'S', window: 64240, options: [{ mss: 1460 }, { sackPermitted: true }, { timestamp: [123456, 0] }, 'nop', { windowScale: 7 }] } },
    ],
    protocols: 'eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:tcp',
    check(t, p) {
      t.deepEqual(p.vlans, [
        { tpid: 0x88a8, tci: (5 << 13) | 0x1000 | 5, id: 5 },
        { tpid: 0x8100, tci: (3 << 13) | 4094, id: 4094 },
      ])
      t.like(p.tcp?.toJSON(), { srcPort: 33000, dstPort: 443, seq: 0xfffffff0, ack: 0, flags: 0x002, window: 64240, headerLength: 40 })
      t.deepEqual(p.tcp?.optionList, [{ mss: 1460 }, { sackPermitted: true }, { timestamp: [123456, 0] }, 'nop', { windowScale: 7 }])
    },
  },
  {
    name: 'IPv4 / TCP PSH|ACK with SACK blocks, urgent pointer and data',
    layers: [eth, { ipv4: v4 }, { tcp: { srcPort: 80, dstPort: 1025, seq: 1, ack: 2, flags: 'PAU', urgentPointer: 3, options: ['nop', 'nop', { sack: [[10, 20], [30, 40]] }] } }, { payload: 'GET / HTTP/1.0\r\n\r\n' }],
    protocols: 'eth:ethertype:ip:tcp:http',
    check(t, p) {
      t.like(p.tcp?.toJSON(), { seq: 1, ack: 2, flags: 0x038, urgentPointer: 3 })
      t.deepEqual(p.tcp?.optionList, ['nop', 'nop', { sack: [[10, 20], [30, 40]] }])
      t.is(p.payload.toString(), 'GET / HTTP/1.0\r\n\r\n')
    },
  },
  {
    name: 'TCP flags as a number, all nine',
    warns: true,
    layers: [eth, { ipv4: v4 }, { tcp: { srcPort: 1, dstPort: 2, flags: 0x1ff } }],
    protocols: 'eth:ethertype:ip:tcp',
    check(t, p) {
      t.is(p.tcp?.flags, 0x1ff)
      t.true(p.tcp?.NS)
    },
  },
  {
    name: 'IPv6 (traffic class, flow label) with hop-by-hop, routing, fragment, destination options / UDP',
    layers: [
      eth,
      {
        ipv6: {
          ...v6,
          hopLimit: 3,
          trafficClass: 0xa5,
          flowLabel: 0xabcde,
          extensions: [{ hopByHop: [{ routerAlert: 0 }] }, { routing: { type: 2, addresses: ['2001:db8::99'] } }, { fragment: { id: 0x12345678, offset: 0, more: false } }, { destination: [{ type: 0x1e, data: Buffer.from([1, 2, 3]) }] }],
        },
      },
      { udp: { srcPort: 5, dstPort: 6 } },
      { payload: 'hello' },
    ],
    protocols: 'eth:ethertype:ipv6:ipv6.hopopts:ipv6.routing:ipv6.fraghdr:ipv6.dstopts:udp:data',
    check(t, p) {
      t.like(p.ipv6?.toJSON(), { ...v6, hopLimit: 3, trafficClass: 0xa5, flowLabel: 0xabcde, nextHeader: 0, protocol: 17, extensions: 1 | 2 | 4 | 8 })
      t.deepEqual(p.ipv6?.fragment, { offset: 0, more: false, id: 0x12345678 })
      t.like(p.udp?.toJSON(), { srcPort: 5, dstPort: 6, length: 13 })
      t.is(p.payload.toString(), 'hello')
      // hop-by-hop: next 43, length 0, router alert 05 02 00 00, PadN 01 00
      t.deepEqual([...p.data.subarray(54, 62)], [43, 0, 5, 2, 0, 0, 1, 0])
    },
  },
  {
    name: 'IPv6 / TCP with a timestamp option',
    layers: [eth, { ipv6: v6 }, { tcp: { srcPort: 22, dstPort: 50000, flags: 'A', seq: 9, ack: 10, options: ['nop', 'nop', { timestamp: [1, 2] }] } }],
    protocols: 'eth:ethertype:ipv6:tcp',
    check(t, p) {
      t.like(p.tcp?.toJSON(), { srcPort: 22, dstPort: 50000, flags: 0x10, seq: 9, ack: 10 })
      t.deepEqual(p.tcp?.optionList, ['nop', 'nop', { timestamp: [1, 2] }])
    },
  },
  {
    name: 'ICMP echo request with data',
    layers: [eth, { ipv4: v4 }, { icmp: { type: 'echo-request', id: 0x1234, seq: 7 } }, { payload: Buffer.alloc(56, 0x55) }],
    protocols: 'eth:ethertype:ip:icmp:data',
    check(t, p) {
      t.like(p.icmp?.toJSON(), { type: 8, code: 0, id: 0x1234, seq: 7 })
      t.is(p.payload.length, 56)
    },
  },
  {
    name: 'ICMP echo reply',
    layers: [eth, { ipv4: v4 }, { icmp: { type: 'echo-reply', id: 1, seq: 65535 } }],
    protocols: 'eth:ethertype:ip:icmp',
    check(t, p) {
      t.like(p.icmp?.toJSON(), { type: 0, id: 1, seq: 65535 })
    },
  },
  {
    name: 'ICMP port unreachable quoting the IPv4/UDP packet',
    layers: [eth, { ipv4: { src: v4.dst, dst: v4.src } }, { icmp: { type: 'destination-unreachable', code: 3 } }, { ipv4: v4 }, { udp: { srcPort: 1, dstPort: 2 } }, { payload: 'x' }],
    protocols: 'eth:ethertype:ip:icmp:ip:udp:data',
    check(t, p) {
      t.like(p.icmp?.toJSON(), { type: 3, code: 3 })
      const inner = decode(p.payload, LinkType.RAW)
      t.like(inner.ipv4?.toJSON(), { ...v4, protocol: 17, length: 29 })
      t.like(inner.udp?.toJSON(), { srcPort: 1, dstPort: 2 })
    },
  },
  {
    name: 'ICMP fragmentation needed (code 4) with the next-hop MTU',
    layers: [eth, { ipv4: v4 }, { icmp: { type: 'destination-unreachable', code: 4, mtu: 1400 } }, { ipv4: v4 }, { tcp: { srcPort: 1, dstPort: 2 } }],
    protocols: 'eth:ethertype:ip:icmp:ip:tcp',
    check(t, p) {
      t.is(p.data.readUInt16BE(p.transportOffset! + 6), 1400)
    },
  },
  {
    name: 'ICMP time exceeded, redirect, parameter problem',
    layers: [eth, { ipv4: v4 }, { icmp: { type: 'time-exceeded', code: 0 } }, { ipv4: v4 }, { udp: { srcPort: 33434, dstPort: 33435 } }],
    protocols: 'eth:ethertype:ip:icmp:ip:udp',
    check(t, p) {
      t.like(p.icmp?.toJSON(), { type: 11, code: 0 })
    },
  },
  {
    name: 'ICMP redirect with its gateway',
    layers: [eth, { ipv4: v4 }, { icmp: { type: 'redirect', code: 1, gateway: '10.0.0.254' } }, { ipv4: v4 }, { udp: { srcPort: 1, dstPort: 2 } }],
    protocols: 'eth:ethertype:ip:icmp:ip:udp',
    check(t, p) {
      t.deepEqual([...p.data.subarray(p.transportOffset! + 4, p.transportOffset! + 8)], [10, 0, 0, 254])
    },
  },
  {
    name: 'ICMP parameter problem with its pointer',
    layers: [eth, { ipv4: v4 }, { icmp: { type: 'parameter-problem', pointer: 9 } }, { ipv4: v4 }, { udp: { srcPort: 1, dstPort: 2 } }],
    protocols: 'eth:ethertype:ip:icmp:ip:udp',
    check(t, p) {
      t.is(p.data[p.transportOffset! + 4], 9)
    },
  },
  {
    name: 'ICMPv6 echo request and reply',
    layers: [eth, { ipv6: v6 }, { icmpv6: { type: 'echo-request', id: 3, seq: 4 } }, { payload: 'ping' }],
    protocols: 'eth:ethertype:ipv6:icmpv6:data',
    check(t, p) {
      t.like(p.icmpv6?.toJSON(), { type: 128, id: 3, seq: 4 })
    },
  },
  {
    name: 'ICMPv6 neighbour solicitation with the source link-layer address',
    layers: [{ ethernet: { src: mac2, dst: '33:33:ff:00:00:02' } }, { ipv6: { src: 'fe80::1', dst: 'ff02::1:ff00:2', hopLimit: 255 } }, { icmpv6: { type: 'neighbor-solicitation', target: 'fe80::2', linkAddress: mac2 } }],
    protocols: 'eth:ethertype:ipv6:icmpv6',
    check(t, p) {
      t.like(p.icmpv6?.toJSON(), { type: 135, code: 0 })
      t.deepEqual([...p.payload], [...Buffer.from('fe800000000000000000000000000002', 'hex'), 1, 1, 2, 0, 0, 0, 0, 2])
    },
  },
  {
    name: 'ICMPv6 neighbour advertisement (solicited, override) with the target link-layer address',
    layers: [eth, { ipv6: { src: 'fe80::2', dst: 'fe80::1', hopLimit: 255 } }, { icmpv6: { type: 'neighbor-advertisement', target: 'fe80::2', solicited: true, override: true, linkAddress: mac1 } }],
    protocols: 'eth:ethertype:ipv6:icmpv6',
    check(t, p) {
      t.like(p.icmpv6?.toJSON(), { type: 136 })
      t.is(p.data[p.transportOffset! + 4], 0x60)
      t.deepEqual([...p.payload.subarray(16)], [2, 1, 2, 0, 0, 0, 0, 1])
    },
  },
  {
    name: 'ICMPv6 packet too big quoting an IPv6/UDP packet',
    layers: [eth, { ipv6: v6 }, { icmpv6: { type: 'packet-too-big', mtu: 1280 } }, { ipv6: { src: v6.dst, dst: v6.src } }, { udp: { srcPort: 1, dstPort: 2 } }],
    protocols: 'eth:ethertype:ipv6:icmpv6:ipv6:udp',
    check(t, p) {
      t.is(p.data.readUInt32BE(p.transportOffset! + 4), 1280)
    },
  },
  {
    name: 'ARP request and reply',
    layers: [{ ethernet: { src: mac2, dst: 'ff:ff:ff:ff:ff:ff' } }, { arp: { operation: 'reply', senderMac: mac2, senderIp: '10.0.0.2', targetMac: mac1, targetIp: '10.0.0.1' } }],
    protocols: 'eth:ethertype:arp',
    check(t, p) {
      t.like(p.arp?.toJSON(), { hardwareType: 1, protocolType: 0x800, operation: 2, senderMac: mac2, senderIp: '10.0.0.2', targetMac: mac1, targetIp: '10.0.0.1' })
    },
  },
  {
    name: 'DNS query over UDP/IPv4',
    layers: [eth, { ipv4: v4 }, { udp: { srcPort: 5353, dstPort: 53 } }, { dns: { id: 0xabcd, questions: [{ name: 'example.com', type: 'AAAA' }, { name: 'example.org', type: 'MX' }] } }],
    protocols: 'eth:ethertype:ip:udp:dns',
    check(t, p) {
      const d = p.dns!
      t.like(d, { id: 0xabcd, response: false, recursionDesired: true })
      t.deepEqual(
        d.questions.map((q) => [q.name, q.type, q.class]),
        [['example.com', 28, 1], ['example.org', 15, 1]],
      )
    },
  },
  {
    name: 'DNS response over UDP/IPv6 with A, AAAA, CNAME, MX, TXT, PTR and NS records',
    layers: [
      eth,
      { ipv6: v6 },
      { udp: { srcPort: 53, dstPort: 40000 } },
      {
        dns: {
          id: 1,
          authoritative: true,
          recursionAvailable: true,
          questions: [{ name: 'www.example.com' }],
          answers: [
            { name: 'www.example.com', type: 'CNAME', ttl: 300, data: 'example.com' },
            { name: 'example.com', type: 'A', ttl: 60, data: '93.184.216.34' },
            { name: 'example.com', type: 'AAAA', ttl: 60, data: '2606:2800:220:1::248' },
            { name: 'example.com', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'mail.example.com' } },
            { name: 'example.com', type: 'TXT', ttl: 60, data: ['v=spf1 -all', 'second'] },
            { name: '34.216.184.93.in-addr.arpa', type: 'PTR', ttl: 60, data: 'example.com' },
          ],
          authorities: [{ name: 'example.com', type: 'NS', ttl: 86400, data: 'a.iana-servers.net' }],
        },
      },
    ],
    protocols: 'eth:ethertype:ipv6:udp:dns',
    check(t, p) {
      const d = p.dns!
      t.like(d, { id: 1, response: true, authoritative: true, recursionAvailable: true })
      t.is(d.error, undefined)
      t.deepEqual(
        d.answers.map((r) => [r.name, r.type, r.ttl, r.data]),
        [
          ['www.example.com', 5, 300, 'example.com'],
          ['example.com', 1, 60, '93.184.216.34'],
          ['example.com', 28, 60, '2606:2800:220:1::248'],
          ['example.com', 15, 60, { preference: 10, exchange: 'mail.example.com' }],
          ['example.com', 16, 60, ['v=spf1 -all', 'second']],
          ['34.216.184.93.in-addr.arpa', 12, 60, 'example.com'],
        ],
      )
      t.deepEqual(d.authorities.map((r) => [r.type, r.data]), [[2, 'a.iana-servers.net']])
    },
  },
  {
    name: 'DNS query over TCP, with its length prefix',
    layers: [eth, { ipv4: v4 }, { tcp: { srcPort: 40001, dstPort: 53, flags: 'PA', seq: 1, ack: 1 } }, { dns: { id: 9, questions: [{ name: 'example.net', type: 'TXT' }] } }],
    protocols: 'eth:ethertype:ip:tcp:dns',
    check(t, p) {
      t.is(p.payload.readUInt16BE(0), p.payload.length - 2)
      t.like(p.dns, { id: 9, response: false })
      t.deepEqual(p.dns?.questions.map((q) => [q.name, q.type]), [['example.net', 16]])
    },
  },
  {
    name: 'raw IP (tun, LINKTYPE_RAW): no link header, no padding',
    linkType: LinkType.RAW,
    layers: [{ ipv4: v4 }, { udp: { srcPort: 1, dstPort: 2 } }],
    protocols: 'raw:ip:udp',
    check(t, p) {
      t.is(p.data.length, 28)
      t.is(p.data[0], 0x45)
      t.like(p.udp?.toJSON(), { srcPort: 1, dstPort: 2, length: 8 })
    },
  },
  {
    name: 'raw IPv6 (LINKTYPE_RAW)',
    linkType: LinkType.RAW,
    layers: [{ ipv6: v6 }, { icmpv6: { type: 'echo-request', id: 1, seq: 1 } }],
    protocols: 'raw:ipv6:icmpv6',
    check(t, p) {
      t.is(p.data.length, 48)
      t.like(p.icmpv6?.toJSON(), { type: 128, id: 1, seq: 1 })
    },
  },
]

for (const c of cases) {
  test(`round trip: ${c.name}`, (t) => {
    const frame = build(c.layers, { linkType: c.linkType })
    const p = decode(frame, c.linkType ?? LinkType.ETHERNET)
    t.is(p.decodeError, undefined)
    c.check(t, p)
    // buildInto into a dirty buffer at an offset writes the same bytes, padding included.
    const buf = Buffer.alloc(frame.length + 20, 0xee)
    t.is(buildInto(buf, c.layers, { linkType: c.linkType, offset: 7 }), frame.length)
    t.deepEqual(buf.subarray(7, 7 + frame.length), frame)
    t.is(buf[6], 0xee)
  })
}

/** Writes `frames` as a pcap of `linkType` and has tshark read them with every checksum checked. */
function tshark(frames: Buffer[], linkType: number, fields: string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'netring-build-'))
  try {
    const file = join(dir, 'f.pcap')
    const bytes = pcap(frames)
    bytes.writeUInt32LE(linkType, 20)
    writeFileSync(file, bytes)
    const prefs = ['ip', 'tcp', 'udp'].flatMap((p) => ['-o', `${p}.check_checksum:TRUE`])
    const out = execFileSync('tshark', ['-r', file, ...prefs, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=;', ...fields.flatMap((f) => ['-e', f])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return out.trimEnd().split('\n').map((line) => line.split('\t'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const haveTshark = (() => {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const withTshark = haveTshark || process.env.CI === 'true' ? test : test.skip

const STATUS = ['ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status']

withTshark('tshark reads every built frame as its protocol, every checksum good, no warnings', (t) => {
  for (const linkType of [LinkType.ETHERNET, LinkType.RAW]) {
    const mine = cases.filter((c) => (c.linkType ?? LinkType.ETHERNET) === linkType)
    const rows = tshark(
      mine.map((c) => build(c.layers, { linkType })),
      linkType,
      ['frame.protocols', '_ws.malformed', '_ws.expert.severity', ...STATUS],
    )
    t.is(rows.length, mine.length)
    mine.forEach((c, i) => {
      const [protocols, malformed, severity, ...status] = rows[i]
      t.is(protocols, c.protocols, c.name)
      t.is(malformed, '', c.name)
      // Expert infos are allowed at "chat" level (TCP SYN, connection notes), not warnings.
      const levels = severity === '' ? [] : severity.split(';').map(Number)
      t.true(c.warns === true || levels.every((l) => l <= 0x200000), `${c.name}: expert severity ${severity}`)
      const all = status.flatMap((s) => (s === '' ? [] : s.split(';')))
      t.true(all.length > 0 || !/ip|icmp|udp|tcp/.test(c.protocols), `${c.name}: no checksum checked`)
      t.deepEqual(all, all.map(() => '1'), `${c.name}: checksum status ${status.join(' ')}`)
    })
  }
})

test('lengths and next-protocol fields can be given, checksums too', (t) => {
  const f = build([eth, { ipv4: { ...v4, length: 1000, checksum: 0x1234, protocol: 99 } }, { udp: { srcPort: 1, dstPort: 2, length: 77, checksum: 0 } }])
  const p = decode(f)
  t.like(p.ipv4?.toJSON(), { length: 1000, checksum: 0x1234, protocol: 99 })
  t.is(f.readUInt16BE(14 + 20 + 4), 77)
  t.is(f.readUInt16BE(14 + 20 + 6), 0)
})

test('a UDP checksum that sums to 0 is sent as 0xffff (RFC 768)', (t) => {
  // Find a port whose checksum computes to zero, then check it is written 0xffff.
  for (let port = 0; port < 65536; port++) {
    const f = build([eth, { ipv4: v4 }, { udp: { srcPort: port, dstPort: 0 } }])
    if (f.readUInt16BE(40) === 0xffff) {
      t.pass()
      return
    }
  }
  t.fail('no port found whose UDP checksum is 0xffff')
})

test('Template.set patches one field and its checksums exactly as a full rebuild does', (t) => {
  const spec = (srcPort: number, dstPort: number, id: number, src: string, ttl: number): LayerSpec[] => [
    eth,
    { ipv4: { src, dst: '10.0.0.2', id, ttl } },
    { udp: { srcPort, dstPort } },
    { payload: Buffer.from('0123456789abcdef0123') },
  ]
  const tpl = new Template(spec(1, 2, 3, '10.0.0.1', 64))
  let seed = 1
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n
  let state = [1, 2, 3, '10.0.0.1', 64] as [number, number, number, string, number]
  for (let i = 0; i < 5000; i++) {
    const which = rand(5)
    if (which === 0) tpl.set('udp.srcPort', (state[0] = rand(65536)))
    else if (which === 1) tpl.set('udp.dstPort', (state[1] = rand(65536)))
    else if (which === 2) tpl.set('ipv4.id', (state[2] = rand(65536)))
    else if (which === 3) tpl.set('ipv4.src', (state[3] = `10.${rand(256)}.${rand(256)}.${rand(256)}`))
    else tpl.set('ipv4.ttl', (state[4] = rand(256)))
    const expected = build(spec(...state))
    if (!tpl.frame.equals(expected)) {
      t.fail(`after step ${i} (${JSON.stringify(state)}): ${tpl.frame.toString('hex')} != ${expected.toString('hex')}`)
      return
    }
  }
  const tcp = new Template([eth, { ipv6: v6 }, { tcp: { srcPort: 1, dstPort: 2, seq: 5, flags: 'S' } }])
  tcp.set('tcp.seq', 0xfffffffe)
  tcp.set('tcp.dstPort', 8080)
  t.deepEqual(tcp.frame, build([eth, { ipv6: v6 }, { tcp: { srcPort: 1, dstPort: 8080, seq: 0xfffffffe, flags: 'S' } }]))
  const ping = new Template([eth, { ipv4: v4 }, { icmp: { type: 'echo-request', id: 9, seq: 0 } }])
  ping.set('icmp.seq', 4242)
  t.deepEqual(ping.frame, build([eth, { ipv4: v4 }, { icmp: { type: 'echo-request', id: 9, seq: 4242 } }]))
  t.is(tpl.offsetOf('udp.srcPort'), 34)
  t.throws(() => tpl.set('tcp.seq', 1), { instanceOf: TypeError, message: /field: 'tcp.seq' is not in this template/ })
  t.throws(() => tpl.set('udp.srcPort', 70000), { instanceOf: RangeError, message: 'udp.srcPort: 70000 is out of range: must be an integer from 0 to 65535' })
})

test('Template on an ICMP error patches the outer header only, and the quoted packet stays as built', (t) => {
  const layers = (src: string, id: number): LayerSpec[] => [eth, { ipv4: { src, dst: v4.src, id } }, { icmp: { type: 'destination-unreachable', code: 3 } }, { ipv4: v4 }, { udp: { srcPort: 1, dstPort: 2 } }]
  const tpl = new Template(layers('10.9.9.9', 0))
  tpl.set('ipv4.src', '10.1.2.3')
  tpl.set('ipv4.id', 77)
  t.deepEqual(tpl.frame, build(layers('10.1.2.3', 77)))
})

test('a spec that fails on its lengths or pseudo-header writes nothing into the buffer', (t) => {
  const buf = Buffer.alloc(70_000, 0xee)
  t.throws(() => buildInto(buf, [eth, { ipv4: { ...v4, protocol: 17 } }, { payload: Buffer.alloc(65_536) }]), { instanceOf: RangeError, message: /^ipv4\.length: 65556 is out of range/ })
  t.throws(() => buildInto(buf, [{ ethernet: { ...eth.ethernet, type: 0x88b5 } }, { udp: { srcPort: 1, dstPort: 2 } }]), { instanceOf: TypeError, message: /^udp: 'checksum' needs an IP layer before it/ })
  t.true(buf.every((b) => b === 0xee))
})

test('Template.recompute fixes lengths and checksums after a change of payload bytes', (t) => {
  const layers = (data: string): LayerSpec[] => [eth, { ipv6: v6 }, { udp: { srcPort: 1, dstPort: 2 } }, { payload: data }]
  const tpl = new Template(layers('aaaa'))
  tpl.frame.write('abcd', tpl.frame.length - 4)
  t.notDeepEqual(tpl.frame, build(layers('abcd')))
  tpl.recompute()
  t.deepEqual(tpl.frame, build(layers('abcd')))
})

test('updateChecksum is RFC 1624 eqn. 3 (its worked example)', (t) => {
  // RFC 1624 §4: HC = 0xDD2F, m = 0x5555 → m' = 0x3285 gives HC' = 0x0000.
  t.is(updateChecksum(0xdd2f, 0x5555, 0x3285), 0x0000)
})

const bad: Array<[string, LayerSpec[], { linkType?: number; mtu?: number } | undefined, typeof RangeError | typeof TypeError, string | RegExp]> = [
  ['port 70000', [eth, { ipv4: v4 }, { udp: { srcPort: 70000, dstPort: 1 } }], undefined, RangeError, 'udp.srcPort: 70000 is out of range: must be an integer from 0 to 65535'],
  ['a negative TCP port', [eth, { ipv4: v4 }, { tcp: { srcPort: 1, dstPort: -1 } }], undefined, RangeError, 'tcp.dstPort: -1 is out of range: must be an integer from 0 to 65535'],
  ['a fractional port', [eth, { ipv4: v4 }, { udp: { srcPort: 1.5, dstPort: 1 } }], undefined, TypeError, 'udp.srcPort: must be an integer from 0 to 65535, got 1.5'],
  ['an IPv4 address with 5 parts', [eth, { ipv4: { src: '10.0.0.1.5', dst: '10.0.0.2' } }], undefined, TypeError, "ipv4.src: '10.0.0.1.5' is not an IPv4 address (4 decimal numbers from 0 to 255 separated by dots)"],
  ['an IPv4 part over 255', [eth, { ipv4: { src: '10.0.0.1', dst: '10.0.0.256' } }], undefined, TypeError, /^ipv4\.dst: '10\.0\.0\.256' is not an IPv4 address/],
  ['an IPv6 address with two ::', [eth, { ipv6: { src: '1::2::3', dst: '::1' } }], undefined, TypeError, /^ipv6\.src: '1::2::3' is not an IPv6 address/],
  ['a MAC with 5 bytes', [{ ethernet: { src: '02:00:00:00:00', dst: mac1 } }, { payload: 'x' }], undefined, TypeError, /^ethernet\.src: '02:00:00:00:00' is not a MAC address/],
  ['a payload past the MTU', [eth, { ipv4: v4 }, { udp: { srcPort: 1, dstPort: 2 } }, { payload: Buffer.alloc(1473) }], { mtu: 1500 }, RangeError, "payload: a packet of 1501 bytes is out of range: the frame's IP packet may be at most the MTU, 1500 bytes"],
  ['an IP packet over 65535 bytes', [eth, { ipv4: v4 }, { payload: Buffer.alloc(65536) }], undefined, TypeError, /ipv4\.protocol/],
  ['an IP packet over 65535 bytes (length)', [eth, { ipv4: { ...v4, protocol: 17 } }, { payload: Buffer.alloc(65536) }], undefined, RangeError, 'ipv4.length: 65556 is out of range: must be an integer from 0 to 65535'],
  ['IPv4 options past 40 bytes', [eth, { ipv4: { ...v4, options: [{ type: 7, data: Buffer.alloc(39) }] } }], undefined, RangeError, 'ipv4.options: 44 bytes is out of range: IPv4 options can be at most 40 bytes (header length field: 15 × 4 = 60 bytes)'],
  ['TCP options past 40 bytes', [eth, { ipv4: v4 }, { tcp: { srcPort: 1, dstPort: 2, options: [{ timestamp: [1, 2] }, { timestamp: [1, 2] }, { timestamp: [1, 2] }, { timestamp: [1, 2] }, { mss: 1 }] } }], undefined, RangeError, 'tcp.options: 44 bytes is out of range: TCP options can be at most 40 bytes (data offset field: 15 × 4 = 60 bytes)'],
  ['a window scale over 14', [eth, { ipv4: v4 }, { tcp: { srcPort: 1, dstPort: 2, options: [{ windowScale: 15 }] } }], undefined, RangeError, 'tcp.options[0].windowScale: 15 is out of range: must be an integer from 0 to 14'],
  ['VLAN id 4096', [eth, { vlan: { id: 4096 } }, { ipv4: v4 }], undefined, RangeError, 'vlan.id: 4096 is out of range: must be an integer from 0 to 4095'],
  ['unknown TCP flag letters', [eth, { ipv4: v4 }, { tcp: { srcPort: 1, dstPort: 2, flags: 'SX' } }], undefined, TypeError, /^tcp\.flags: 'SX' is not TCP flags/],
  ['an unknown ICMP type name', [eth, { ipv4: v4 }, { icmp: { type: 'echo' as 'echo-request' } }], undefined, TypeError, /^icmp\.type: 'echo' is not a message type: one of echo-reply/],
  ['a layer with two keys', [eth, { ipv4: v4, udp: { srcPort: 1, dstPort: 2 } } as unknown as LayerSpec], undefined, TypeError, /^layers\[1\]: '\{ ipv4, udp \}' must have exactly one key/],
  ['an Ethernet frame not starting with ethernet', [{ ipv4: v4 }], undefined, TypeError, /^layers\[0\]: 'ipv4' cannot start an Ethernet frame/],
  ['ethernet on a raw IP link', [eth, { ipv4: v4 }], { linkType: LinkType.RAW }, TypeError, /^layers\[0\]: 'ethernet' cannot start a frame of linkType 101/],
  ['a DNS label of 64 bytes', [eth, { ipv4: v4 }, { udp: { srcPort: 1, dstPort: 53 } }, { dns: { questions: [{ name: `${'a'.repeat(64)}.com` }] } }], undefined, TypeError, /^dns\.questions\[0\]\.name: .* each label must be 1 to 63 bytes/],
  ['a neighbour solicitation without its target', [eth, { ipv6: v6 }, { icmpv6: { type: 'neighbor-solicitation' } }], undefined, TypeError, /^icmpv6\.target: .*must be given/],
  ['ICMPv6 over IPv4', [eth, { ipv4: v4 }, { icmpv6: { type: 'echo-request' } }], undefined, TypeError, /^icmpv6: .*needs an IPv6 layer/],
]

for (const [name, layers, options, Class, message] of bad) {
  test(`bad spec: ${name}`, (t) => {
    const error = t.throws(() => build(layers, options), { instanceOf: Class, message })
    t.is((error as Error & { code?: string }).code, Class === RangeError ? 'ERR_OUT_OF_RANGE' : (error as Error & { code?: string }).code)
    t.throws(() => buildInto(Buffer.alloc(70000), layers, options), { instanceOf: Class })
  })
}

test('buildInto: a buffer too small is a RangeError saying how much is needed', (t) => {
  t.throws(() => buildInto(Buffer.alloc(59), [{ ethernet: { ...eth.ethernet, type: 0x88b5 } }, { payload: 'x' }]), { instanceOf: RangeError, message: 'buf: 59 bytes is out of range: the frame needs 60 bytes' })
})

// ── Through the kernel: a peer namespace accepts what the TX ring sends ──

privilegedPeer('built UDP datagrams sent through the TX ring reach a UDP socket in the peer namespace', async (t, ns) => {
  const count = 2000
  // The receiver: a plain UDP socket in the far namespace counts datagrams and checks
  // their payload; it says "ready" once bound and prints the count when idle for 1 s.
  const receiver = spawn('ip', ['netns', 'exec', ns.peer, process.execPath, '-e', UDP_RECEIVER, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  receiver.stdout.on('data', (d: Buffer) => (output += d.toString()))
  try {
    await until(() => output.includes('ready'), 10_000, 'receiver did not start')
    const tx = openTx(`ring:${B}`, { netns: ns.name })
    const tpl = new Template([
      { ethernet: { src: ns.selfMac, dst: ns.peerMac } },
      { ipv4: { src: SELF_IP, dst: PEER_IP, flags: 'DF' } },
      { udp: { srcPort: 1024, dstPort: 9999 } },
      { payload: 'netring build test' },
    ])
    const frames: Buffer[] = []
    for (let i = 0; i < count; i++) {
      tpl.set('udp.srcPort', 1024 + i) // a fresh checksum per frame
      tpl.set('ipv4.id', i)
      frames.push(Buffer.from(tpl.frame))
    }
    // In bursts the receiving socket's buffer (rmem_default) holds.
    for (let i = 0; i < count; i += 100) {
      await tx.sendBatch(frames.slice(i, i + 100))
      await new Promise((r) => setTimeout(r, 10))
    }
    t.deepEqual(await tx.close(), { sent: count, errors: 0, queued: count })
    await until(() => /received \d+/.test(output), 15_000, `receiver got: ${output}`)
    const got = Number(/received (\d+) ports (\d+)/.exec(output)?.[1])
    t.is(got, count)
    t.is(Number(/ports (\d+)/.exec(output)?.[1]), count)
  } finally {
    receiver.kill()
  }
})

privilegedPeer('the peer answers built ICMP and ICMPv6 echo requests, a neighbour solicitation and TCP SYNs (RST)', async (t, ns) => {
  const capture = openRing(B, { netns: ns.name })
  const tx = openTx(`ring:${B}`, { netns: ns.name })
  try {
    const frames = [1, 2, 3].map((seq) =>
      build([{ ethernet: { src: ns.selfMac, dst: ns.peerMac } }, { ipv4: { src: SELF_IP, dst: PEER_IP } }, { icmp: { type: 'echo-request', id: 0x4e52, seq } }, { payload: Buffer.alloc(32, seq) }]),
    )
    // Neighbour discovery first (the peer must learn our MAC), then an echo request.
    const ns6 = build([
      { ethernet: { src: ns.selfMac, dst: '33:33:ff:00:00:02' } },
      { ipv6: { src: 'fd00:6e72::1', dst: 'ff02::1:ff00:2', hopLimit: 255 } },
      { icmpv6: { type: 'neighbor-solicitation', target: 'fd00:6e72::2', linkAddress: ns.selfMac } },
    ])
    const ping6 = build([{ ethernet: { src: ns.selfMac, dst: ns.peerMac } }, { ipv6: { src: 'fd00:6e72::1', dst: 'fd00:6e72::2' } }, { icmpv6: { type: 'echo-request', id: 7, seq: 1 } }, { payload: 'six' }])
    // TCP SYNs to a closed port: the peer's kernel answers RST only for a segment whose checksum is good.
    const syn = build([{ ethernet: { src: ns.selfMac, dst: ns.peerMac } }, { ipv4: { src: SELF_IP, dst: PEER_IP } }, { tcp: { srcPort: 40404, dstPort: 1, seq: 1000, flags: 'S', options: [{ mss: 1460 }, 'nop', { windowScale: 7 }, { sackPermitted: true }, { timestamp: [1, 0] }] } }])
    const syn6 = build([{ ethernet: { src: ns.selfMac, dst: ns.peerMac } }, { ipv6: { src: 'fd00:6e72::1', dst: 'fd00:6e72::2' } }, { tcp: { srcPort: 40406, dstPort: 1, seq: 2000, flags: 'S', options: [{ mss: 1440 }] } }])
    // The control: the same SYN with a wrong checksum gets no answer.
    const badSyn = build([{ ethernet: { src: ns.selfMac, dst: ns.peerMac } }, { ipv4: { src: SELF_IP, dst: PEER_IP } }, { tcp: { srcPort: 40405, dstPort: 1, seq: 1000, flags: 'S', checksum: (decode(syn).tcp!.checksum + 1) & 0xffff } }])
    const seen = { echo: new Set<number>(), na: false, echo6: false, rst: false, rst6: false, rstBad: false }
    const reading = (async () => {
      for await (const p of capture) {
        if (p.direction === 'outgoing') continue
        if (p.icmp?.type === 0 && p.icmp.id === 0x4e52) seen.echo.add(p.icmp.seq!)
        if (p.icmpv6?.type === 136) seen.na = true
        if (p.icmpv6?.type === 129 && p.icmpv6.id === 7) seen.echo6 = true
        const tcp = p.tcp
        if (tcp?.RST === true && tcp.dstPort === 40404 && tcp.ack === 1001) seen.rst = true
        if (tcp?.RST === true && tcp.dstPort === 40406 && tcp.ack === 2001) seen.rst6 = true
        if (tcp?.RST === true && tcp.dstPort === 40405) seen.rstBad = true
        if (seen.echo.size === 3 && seen.na && seen.echo6 && seen.rst && seen.rst6) break
      }
    })()
    await tx.sendBatch([...frames, ns6])
    await new Promise((r) => setTimeout(r, 200))
    await tx.sendBatch([ping6, badSyn, syn, syn6])
    await Promise.race([reading, new Promise((r) => setTimeout(r, 5000))])
    t.deepEqual([...seen.echo].sort(), [1, 2, 3])
    t.true(seen.na, 'neighbour advertisement for the solicitation')
    t.true(seen.echo6, 'ICMPv6 echo reply')
    t.true(seen.rst, 'RST for the IPv4 SYN')
    t.true(seen.rst6, 'RST for the IPv6 SYN')
    t.false(seen.rstBad, 'no answer to the SYN with a bad checksum')
  } finally {
    await tx.close()
    await capture.close()
  }
})

privileged('a frame built for LINKTYPE_RAW, sent on a tun device, reaches the tun reader as that IP packet', async (t, ns) => {
  ns.ip('tuntap', 'add', 'dev', 'nrtun0', 'mode', 'tun')
  ns.ip('link', 'set', 'nrtun0', 'addrgenmode', 'none') // no link-local address, so no DAD or MLD of its own
  ns.ip('link', 'set', 'nrtun0', 'up')
  // The tun's reader: a process holding /dev/net/tun attached to nrtun0, printing what it reads.
  const reader = spawn('ip', ['netns', 'exec', ns.name, 'python3', join(__dirname, 'helpers', 'tun-read.py'), 'nrtun0', '2'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  reader.stdout.on('data', (d: Buffer) => (output += d.toString()))
  try {
    await until(() => output.includes('ready'), 10_000, 'tun reader did not start')
    const frames = [
      build([{ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' } }, { udp: { srcPort: 1, dstPort: 2 } }, { payload: 'tun' }], { linkType: LinkType.RAW }),
      build([{ ipv6: { src: 'fd00::1', dst: 'fd00::2' } }, { icmpv6: { type: 'echo-request', id: 1, seq: 2 } }], { linkType: LinkType.RAW }),
    ]
    const tx = openTx(`ring:nrtun0`, { netns: ns.name })
    await tx.sendBatch(frames)
    t.deepEqual(await tx.close(), { sent: 2, errors: 0, queued: 2 })
    await until(() => output.trim().split('\n').length >= 3, 10_000, `tun reader got: ${output}`)
    t.deepEqual(output.trim().split('\n').slice(1), frames.map((f) => f.toString('hex')))
  } finally {
    reader.kill()
  }
})

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(what)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const UDP_RECEIVER = `
const want = Number(process.argv[1]);
const s = require('node:dgram').createSocket('udp4');
let n = 0, last = 0; const ports = new Set();
s.on('message', (m, r) => { if (m.toString() === 'netring build test') { n++; ports.add(r.port) } last = Date.now() });
s.bind(9999, () => { console.log('ready'); last = Date.now() });
const t = setInterval(() => { if ((n >= want) || Date.now() - last > 3000) { console.log('received ' + n + ' ports ' + ports.size); clearInterval(t); s.close() } }, 100);
`
