/**
 * `interfaces()` against `ip -j` (iproute2 reads the same rtnetlink dumps): names,
 * indexes, MACs, MTUs, flags, addresses and counters, in this namespace and in a named
 * one, and `netring interfaces --netns` printing them.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import test from 'ava'

import { build, interfaces, LinkType, openTx } from 'netring'
import { PEER_IP, SELF_IP, SELF_IP6 } from '../examples/netns'
import { B, privilegedPeer } from './helpers/netns'

interface IpLink {
  ifindex: number
  ifname: string
  address?: string
  mtu: number
  flags: string[]
  operstate: string
  stats64?: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } }
}

test('this namespace: the same interfaces, indexes, MACs and MTUs as ip -j link', (t) => {
  const ip = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as IpLink[]
  const mine = interfaces()
  t.deepEqual(
    mine.map((i) => [i.index, i.name, i.mtu, i.mac, i.state]),
    ip.map((l) => [l.ifindex, l.ifname, l.mtu, l.address ?? '', l.operstate]),
  )
  const lo = mine.find((i) => i.name === 'lo')!
  t.like(lo, { loopback: true, up: true, linkType: LinkType.ETHERNET, hardwareType: 772 })
  t.deepEqual(lo.addresses[0], { family: 'IPv4', address: '127.0.0.1', prefixLength: 8, scope: 'host' })
})

test('bad options and a missing namespace are typed errors', (t) => {
  t.throws(() => interfaces({ netns: 5 as unknown as string }), { instanceOf: TypeError })
  t.throws(() => interfaces({ nope: 1 } as unknown as { netns: string }), { instanceOf: TypeError, message: /unknown option "nope"/ })
  t.throws(() => interfaces({ netns: 'netring-no-such-namespace' }), { instanceOf: TypeError, message: /network namespace "netring-no-such-namespace" does not exist/ })
})

privilegedPeer('a named namespace: addresses, flags, promiscuous, tun link type and counters that move with sent frames', async (t, ns) => {
  ns.ip('link', 'set', B, 'promisc', 'on')
  ns.ip('tuntap', 'add', 'dev', 'nrtun0', 'mode', 'tun')
  const before = interfaces({ netns: ns.name })
  t.deepEqual(
    before.map((i) => i.name),
    ['lo', B, 'nrtun0'],
  )
  const nr1 = before.find((i) => i.name === B)!
  t.like(nr1, { mac: ns.selfMac, mtu: 1500, up: true, running: true, promiscuous: true, loopback: false, state: 'UP', linkType: LinkType.ETHERNET, hardwareType: 1 })
  t.deepEqual(nr1.addresses, [
    { family: 'IPv4', address: SELF_IP, prefixLength: 24, scope: 'global' },
    { family: 'IPv6', address: SELF_IP6, prefixLength: 64, scope: 'global' },
  ])
  t.like(before.find((i) => i.name === 'nrtun0'), { linkType: LinkType.RAW, hardwareType: 65534, mac: '', up: false })
  // The peer's nr0 is not here, and the peer namespace lists it.
  t.deepEqual(
    interfaces({ netns: ns.peer }).map((i) => i.name),
    ['lo', 'nr0'],
  )

  const tx = openTx(`ring:${B}`, { netns: ns.name })
  const frame = build([{ ethernet: { src: ns.selfMac, dst: ns.peerMac } }, { ipv4: { src: SELF_IP, dst: PEER_IP } }, { udp: { srcPort: 9, dstPort: 9 } }, { payload: Buffer.alloc(100) }])
  await tx.sendBatch(Array.from({ length: 50 }, () => frame))
  await tx.close()
  const after = interfaces({ netns: ns.name }).find((i) => i.name === B)!
  const ip = (JSON.parse(ns.ip('-j', '-s', 'link', 'show', B)) as IpLink[])[0]
  t.true(after.counters!.txPackets - nr1.counters!.txPackets >= 50)
  t.true(after.counters!.txBytes - nr1.counters!.txBytes >= 50 * frame.length)
  t.is(after.counters!.txPackets, ip.stats64!.tx.packets)
  t.is(after.counters!.rxBytes, ip.stats64!.rx.bytes)

  const cli = execFileSync(process.execPath, [join(__dirname, '..', 'dist', 'src', 'cli.js'), 'interfaces', '--netns', ns.name, B], { encoding: 'utf8' })
  t.regex(cli, new RegExp(`^${B} {14}UP {13}${SELF_IP.replace(/\./g, '\\.')}/24 ${SELF_IP6}/64\n {4}index ${nr1.index} mtu 1500 linktype 1 ${ns.selfMac} <UP,RUNNING,PROMISC>  rx \\d+ packets \\d+ bytes 0 errors 0 dropped  tx \\d+ packets`))
})
