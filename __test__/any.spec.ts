/**
 * `ring:any` / `int:any`: every interface of the namespace through one cooked socket, each
 * packet behind a Linux cooked v2 header, checked against tcpdump -i any on the same traffic.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { LinkType, open, record, type Packet } from 'netring'
import { A, B, frame, privileged, sendFrom, seqOf, startTcpdump, type Netns } from './helpers/netns'

const dir = mkdtempSync(join(tmpdir(), 'netring-any-'))

/** Pings 127.0.0.1 `count` times inside the namespace (lo up first). */
function pingLoopback(ns: Netns, count: number): void {
  ns.ip('link', 'set', 'lo', 'up')
  execFileSync('ip', ['netns', 'exec', ns.name, 'ping', '-c', String(count), '-i', '0.2', '-q', '127.0.0.1'], { stdio: 'ignore' })
}

/** Sends 10 frames B → A and 2 pings on lo while `capture` runs; returns the first
 * `expected` packets it got. */
async function traffic(ns: Netns, uri: string, expected: number, filter?: string): Promise<{ packets: Packet[]; names: Map<number, string | undefined> }> {
  const capture = open(uri, { netns: ns.name, filter })
  const packets: Packet[] = []
  const names = new Map<number, string | undefined>()
  // Not a timing assertion: a packet gone missing would stall the loop forever, so an
  // idle capture ends after 5 s and the counts below say what came.
  let idle = setTimeout(() => capture.close(), 5000)
  const reading = (async () => {
    for await (const p of capture) {
      clearTimeout(idle)
      idle = setTimeout(() => capture.close(), 5000)
      packets.push(p.copy())
      names.set(p.ifindex, capture.interfaceName(p.ifindex))
      if (packets.length === expected) break
    }
    clearTimeout(idle)
  })()
  await sendFrom(ns, Array.from({ length: 10 }, (_, i) => frame(i, 80, ns.mac(A))))
  pingLoopback(ns, 2)
  await reading
  capture.close()
  return { packets, names }
}

for (const scheme of ['ring', 'int']) {
  privileged(`${scheme}:any sees both ends of the veth and lo, each packet with its interface, direction and cooked header`, async (t, ns) => {
    const { packets, names } = await traffic(ns, `${scheme}:any`, 24)
    t.true(packets.every((p) => p.linkType === LinkType.LINUX_SLL2 && p.sll?.version === 2))
    const ours = packets.filter((p) => p.sll?.protocol === 0x88b5)
    // Each frame leaves B and arrives at A: two copies, the cooked header says which.
    t.is(ours.length, 20)
    for (const p of ours) {
      const from = names.get(p.ifindex)
      t.is(p.sll?.ifindex, p.ifindex)
      t.is(from, p.direction === 'outgoing' ? B : A)
      t.is(p.length, 20 + 80 - 14, 'the cooked header replaces the Ethernet header')
      t.is(seqOf(p.data.subarray(20 - 14)), seqOf(frame(ours.indexOf(p) >> 1, 80)))
    }
    // lo: each ping's request and reply once, not once leaving and once arriving.
    const loopback = packets.filter((p) => names.get(p.ifindex) === 'lo' && p.icmp !== undefined)
    t.deepEqual(
      loopback.map((p) => `${p.direction} ${p.icmp?.type}`),
      ['incoming 8', 'incoming 0', 'incoming 8', 'incoming 0'],
    )
  })
}

privileged('ring:any filters as tcpdump -i any does: icmp, ifindex, inbound', async (t, ns) => {
  // What came (interface, direction, protocol), once it was all that should come.
  const kinds = async (filter: string, expected: number): Promise<string[]> => {
    const { packets } = await traffic(ns, 'ring:any', expected, filter)
    t.is(packets.length, expected, filter)
    return [...new Set(packets.map((p) => `${p.ifindex} ${p.direction} ${p.sll?.protocol}`))].sort()
  }
  t.deepEqual(await kinds('icmp', 4), ['1 incoming 2048'])
  t.deepEqual(await kinds(`ifindex ${ns.ifindex(A)}`, 10), [`${ns.ifindex(A)} incoming ${0x88b5}`])
  t.deepEqual(await kinds('inbound and not icmp and not ip6', 10), [`${ns.ifindex(A)} incoming ${0x88b5}`])
  // The cooked header's hardware type: in the copy, not in what the kernel filters.
  t.throws(() => open('ring:any', { netns: ns.name, filter: 'link[8:2] == 1' }), { message: /byte 8 of the Linux cooked header/ })
  t.throws(() => open('ring:any', { netns: ns.name, zeroCopy: true }), { instanceOf: TypeError, message: /option zeroCopy does not apply to the any device/ })
})

privileged('record from any: pcapng with a named block per interface, pcap as LINUX_SLL2; tcpdump and tshark read both', async (t, ns) => {
  for (const name of ['any.pcapng', 'any.pcap']) {
    const path = join(dir, name)
    const recorder = record('ring:any', { netns: ns.name, write: path, filter: 'icmp or ether proto 0x88b5' })
    await sendFrom(ns, Array.from({ length: 10 }, (_, i) => frame(i, 80, ns.mac(A))))
    pingLoopback(ns, 2)
    while (recorder.progress().packets < 24) await new Promise((resolve) => setTimeout(resolve, 20))
    recorder.stop()
    const tcpdump = execFileSync('tcpdump', ['--count', '-r', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    t.regex(tcpdump, /^24 packets/m, name)
    const fields = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'sll.ifindex'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const seen = new Set(fields.trim().split('\n'))
    if (name.endsWith('.pcapng')) t.deepEqual([...seen].sort(), [`${A}\t${ns.ifindex(A)}`, `${B}\t${ns.ifindex(B)}`, `lo\t1`].sort())
    if (name.endsWith('.pcapng')) t.regex(execFileSync('capinfos', [path], { encoding: 'utf8' }), /Name = any\s+Description = Pseudo-device that captures on all interfaces/)
    else t.regex(spawnSync('tcpdump', ['-r', path, '-c', '1'], { encoding: 'utf8' }).stderr, /link-type LINUX_SLL2/)
  }
})

privileged('netring capture -i any prints what tcpdump -i any prints', async (t, ns) => {
  const path = join(dir, 'tcpdump-any.pcap')
  const tcpdump = await startTcpdump(ns, 'any', path, 'icmp')
  const cli = spawn(process.execPath, [join(__dirname, '..', 'dist', 'src', 'cli.js'), 'capture', '-i', 'any', '--netns', ns.name, '-q', '-e', '-t', '-c', '4', 'icmp'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  })
  let out = ''
  let err = ''
  cli.stdout.on('data', (d: Buffer) => (out += d))
  await new Promise<void>((resolve) => cli.stderr.on('data', (d: Buffer) => ((err += d), err.includes('listening') && resolve())))
  pingLoopback(ns, 2)
  await new Promise((resolve) => cli.on('close', resolve))
  await tcpdump.stop()
  // tcpdump names the interfaces of the namespace it runs in: read the file there.
  // -t: two sockets can stamp a loopback packet a few µs apart.
  const theirs = execFileSync('ip', ['netns', 'exec', ns.name, 'tcpdump', '-nn', '-q', '-e', '-t', '-r', path], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, TZ: 'UTC' },
  })
  t.is(out, theirs)
  t.is(out.split('\n').filter((l) => l.startsWith('lo    In  ifindex 1')).length, 4)
})

test('any is an interface name for URIs, not a typo', (t) => {
  t.throws(() => open('ring:any', { netns: 'netring-no-such-namespace' }), { message: /netring-no-such-namespace/ })
})

for (const scheme of ['ring', 'int']) {
  privileged(`${scheme}:lo sees each packet once, as tcpdump -i lo does`, async (t, ns) => {
    const path = join(dir, `lo-${scheme}.pcap`)
    ns.ip('link', 'set', 'lo', 'up')
    const tcpdump = await startTcpdump(ns, 'lo', path, 'icmp')
    const capture = open(`${scheme}:lo`, { netns: ns.name, filter: 'icmp' })
    const seen: string[] = []
    const reading = (async () => {
      for await (const p of capture) {
        seen.push(`${p.direction} ${p.icmp?.type}`)
        if (seen.length === 4) break
      }
    })()
    pingLoopback(ns, 2)
    await reading
    await tcpdump.stop()
    t.deepEqual(seen, ['incoming 8', 'incoming 0', 'incoming 8', 'incoming 0'])
    t.regex(execFileSync('tcpdump', ['--count', '-r', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /^4 packets/m)
  })
}
