/**
 * Link types against the real kernel and tcpdump: what an interface's hardware type makes
 * of a capture (lo and veth Ethernet, tun raw IP), filters compiled for it, files written
 * with it, and a Linux cooked (SLL2) file from `tcpdump -i any` read, filtered and
 * refused by replay.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'

import { compileFilter, open, openRing, openTx, record, type BpfInstruction, type Capture, type Packet } from 'netring'
import { A, B, privileged, type Netns } from './helpers/netns'

const CLI = join(__dirname, '..', 'dist', 'src', 'cli.js')
const dir = mkdtempSync(join(tmpdir(), 'netring-linktype-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

const LINKTYPE_ETHERNET = 1
const LINKTYPE_RAW = 101
const LINKTYPE_LINUX_SLL2 = 276

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** `tcpdump -dd` output as instructions. */
function tcpdumpDd(...args: string[]): BpfInstruction[] {
  return run('tcpdump', [...args, '-dd'])
    .trim()
    .split('\n')
    .map((line) => {
      const [code, jt, jf, k] = /\{ (\S+), (\d+), (\d+), (\S+) \}/.exec(line)!.slice(1).map(Number)
      return { code, jt, jf, k }
    })
}

test('compileFilter compiles for the link type asked, as tcpdump -y TYPE -dd does', (t) => {
  for (const [name, linkType] of [
    ['EN10MB', LINKTYPE_ETHERNET],
    ['RAW', LINKTYPE_RAW],
    ['LINUX_SLL2', LINKTYPE_LINUX_SLL2],
  ] as const) {
    for (const expression of ['icmp', 'udp and dst port 53', 'ip6 and tcp']) {
      t.deepEqual(compileFilter(expression, { linkType }), tcpdumpDd('-y', name, expression), `${name}: ${expression}`)
    }
  }
  t.deepEqual(compileFilter('icmp'), compileFilter('icmp', { linkType: LINKTYPE_ETHERNET }), 'Ethernet by default')
  t.deepEqual(compileFilter('icmp', { linkType: LINKTYPE_LINUX_SLL2, snaplen: 96 }), tcpdumpDd('-y', 'LINUX_SLL2', '-s', '96', 'icmp'))
})

test('compileFilter: a link type out of range, or an expression that means nothing on it, throws', (t) => {
  t.throws(() => compileFilter('icmp', { linkType: -1 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE', message: /linkType -1 must be an integer from 0 to 65535/ })
  t.throws(() => compileFilter('icmp', { linkType: 1.5 }), { instanceOf: RangeError })
  t.throws(() => compileFilter('icmp', { linkType: '1' as never }), { instanceOf: TypeError, message: /linkType must be a number/ })
  // No MAC addresses on raw IP: libpcap says so.
  t.throws(() => compileFilter('ether host 02:00:00:00:00:01', { linkType: LINKTYPE_RAW }), { code: 'ERR_INVALID_ARG_VALUE' })
})

privileged('lo and veth are Ethernet (LINKTYPE 1), for ring:, int: and senders', (t, ns) => {
  const opened: Capture[] = [
    openRing('lo', { netns: ns.name }),
    openRing(A, { netns: ns.name, version: 2 }),
    open(`int:${B}`, { netns: ns.name, filter: 'icmp' }),
  ]
  for (const capture of opened) {
    t.is(capture.linkType, LINKTYPE_ETHERNET, capture.uri)
    capture.close()
    t.is(capture.linkType, LINKTYPE_ETHERNET, `${capture.uri} after close`)
  }
  const tx = openTx(`int:${A}`, { netns: ns.name })
  t.is(tx.linkType, LINKTYPE_ETHERNET)
  t.notThrows(() => tx.checkLinkType(LINKTYPE_ETHERNET))
  t.throws(() => tx.checkLinkType(LINKTYPE_RAW), { code: 'ERR_NETRING_LINK_TYPE', message: /RAW \(101\) cannot be sent through "nr0", whose link type is EN10MB \(1\): raw IP packets have no Ethernet header/ })
  return tx.close().then(() => undefined)
})

/**
 * Opens /dev/net/tun in the namespace and attaches it to `iface` (TUNSETIFF, IFF_TUN |
 * IFF_NO_PI), which gives the device its carrier; the tun stays attached until the
 * returned process is killed. Perl because Node has no ioctl().
 */
async function attachTun(ns: Netns, iface: string): Promise<ChildProcess> {
  const script = `open(my $f, "+<", "/dev/net/tun") or die "open /dev/net/tun: $!";
    my $ifr = pack("Z16 s", "${iface}", 0x0001 | 0x1000);
    ioctl($f, 0x400454ca, $ifr) or die "TUNSETIFF: $!";
    $| = 1; print "attached\\n"; sleep 60;`
  const child = spawn('ip', ['netns', 'exec', ns.name, 'perl', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d))
  const [line] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')])) as [Buffer | number]
  if (!Buffer.isBuffer(line)) throw new Error(`attaching ${iface} failed: ${stderr}`)
  return child
}

/** Echo requests to an address routed through the namespace's tun; no one answers them. */
function ping(ns: Netns, address: string, count: number): void {
  try {
    run('ip', ['netns', 'exec', ns.name, 'ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', address])
  } catch {
    // 100% loss exits 1: expected, nothing is on the other side of the tun
  }
}

privileged('a tun device captures raw IP (LINKTYPE_RAW 101): linkType, the filter compiled for it, the file tcpdump reads', async (t, ns) => {
  ns.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun')
  ns.ip('link', 'set', 'tun0', 'up')
  ns.ip('addr', 'add', '10.9.0.1/24', 'dev', 'tun0')
  const holder = await attachTun(ns, 'tun0')
  const path = join(dir, 'tun.pcap')
  const pcapng = join(dir, 'tun.pcapng')
  try {
    // "icmp" compiled for Ethernet would look for ethertype 0x0800 at byte 12 of an IP header.
    const capture = openRing('tun0', { netns: ns.name, filter: 'icmp' })
    t.is(capture.linkType, LINKTYPE_RAW)
    // setFilter compiles for the capture's link type too: raw IP has no MAC addresses.
    t.throws(() => capture.setFilter('ether broadcast'), { code: 'ERR_INVALID_ARG_VALUE' })
    capture.setFilter('icmp')
    const recorders = [
      record('ring:tun0', { netns: ns.name, filter: 'icmp', write: path, count: 3 }),
      record('int:tun0', { netns: ns.name, filter: 'icmp', write: pcapng, count: 3 }),
    ]
    ping(ns, '10.9.0.2', 3)
    const packets: Packet[] = []
    for await (const packet of capture) {
      packets.push(packet)
      if (packets.length === 3) break
    }
    for (const packet of packets) {
      t.is(packet.data[0] >> 4, 4, 'the bytes start at the IPv4 header')
      t.is(packet.data[9], 1, 'ICMP')
    }
    for (const recorder of recorders) {
      while (!recorder.progress().done) await new Promise((resolve) => setTimeout(resolve, 10))
      t.is(recorder.stop().packets, 3)
    }
  } finally {
    holder.kill()
  }
  for (const file of [path, pcapng]) {
    const dump = execFileSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const lines = dump.trim().split('\n')
    t.is(lines.length, 3, dump)
    for (const line of lines) t.regex(line, /IP 10\.9\.0\.1 > 10\.9\.0\.2: ICMP echo request/)
    // tcpdump says the link type on stderr as it opens the file.
    const opened = execFileSync('sh', ['-c', `tcpdump -r '${file}' 2>&1 >/dev/null`], { encoding: 'utf8' })
    t.regex(opened, /link-type RAW \(Raw IP\)/, file)
    const source = open(`pcapfile:${file}`)
    t.is(source.linkType, LINKTYPE_RAW, file)
    source.close()
  }
  // pcapng names the interface (if_name) in its Interface Description Block.
  const fields = run('tshark', ['-r', pcapng, '-T', 'fields', '-e', 'frame.interface_name']).trim().split('\n')
  t.deepEqual(fields, ['tun0', 'tun0', 'tun0'])
})

/**
 * Namespace `ns` keeps A; B moves to a second namespace, so that pinging B's address from
 * `ns` crosses the veth pair rather than lo. Returns the second namespace's name.
 */
function splitPair(ns: Netns): string {
  const other = `${ns.name}-b`
  run('ip', ['netns', 'add', other])
  ns.ip('link', 'set', B, 'netns', other)
  ns.ip('addr', 'add', '10.77.0.1/24', 'dev', A)
  run('ip', ['-n', other, 'addr', 'add', '10.77.0.2/24', 'dev', B])
  run('ip', ['-n', other, 'link', 'set', B, 'up'])
  return other
}

/** ICMP packets tcpdump reads from `path` (a file still being written may end mid-record). */
function icmpIn(path: string): number {
  const r = spawnSync('tcpdump', ['--count', '-r', path, 'icmp'], { encoding: 'utf8' })
  return Number(/^(\d+) packets?/m.exec(r.stdout)?.[1] ?? 0)
}

/** Runs the built CLI; resolves with its exit code and output. */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

privileged('an SLL2 file from tcpdump -i any: read as LINKTYPE 276, filtered for it, and refused by replay onto a veth', async (t, ns) => {
  const other = splitPair(ns)
  const path = join(dir, 'any.pcap')
  try {
    const tcpdump = spawn('ip', ['netns', 'exec', ns.name, 'tcpdump', '-Z', 'root', '-U', '--immediate-mode', '-i', 'any', '-y', 'LINUX_SLL2', '-w', path], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let said = ''
    await new Promise<void>((resolve, reject) => {
      tcpdump.stderr.on('data', (d: Buffer) => {
        said += d
        if (said.includes('listening on')) resolve()
      })
      tcpdump.on('exit', () => reject(new Error(`tcpdump ended: ${said}`)))
    })
    run('ip', ['netns', 'exec', ns.name, 'ping', '-n', '-q', '-c', '4', '-i', '0.2', '10.77.0.2'])
    // tcpdump writes each packet as it reads it (-U, --immediate-mode); stop it once all are in.
    const deadline = Date.now() + 10_000
    while (icmpIn(path) < 8 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    tcpdump.kill('SIGINT')
    await once(tcpdump, 'exit')
    t.regex(said, /link-type LINUX_SLL2/)

    const want = icmpIn(path)
    t.is(want, 8, '4 requests and 4 replies on nr0')
    const stats = await cli(['stats', `pcapfile:${path}`, '-f', 'icmp', '-f', 'arp'])
    t.is(stats.code, 0, stats.stderr)
    const filterLine = stats.stdout.split('\n').find((line) => line.startsWith('filter') && line.endsWith('icmp'))
    t.regex(filterLine ?? '', new RegExp(`^filter\\s+${want} packets`), stats.stdout)
    const arp = run('tcpdump', ['-r', path, 'arp']).trim()
    const arpLine = stats.stdout.split('\n').find((line) => line.endsWith('arp'))
    t.regex(arpLine ?? '', new RegExp(`^filter\\s+${arp === '' ? 0 : arp.split('\n').length} packets`))

    const source = open(`pcapfile:${path}`)
    t.is(source.linkType, LINKTYPE_LINUX_SLL2)
    source.close()
    // A copy keeps the link type: tcpdump reads it back the same.
    const copy = join(dir, 'any-copy.pcapng')
    const recorder = record(`pcapfile:${path}`, { filter: 'icmp', write: copy })
    while (!recorder.progress().done) await new Promise((resolve) => setTimeout(resolve, 10))
    t.is(recorder.stop().packets, want)
    t.is(run('tcpdump', ['-nn', '-r', copy]), run('tcpdump', ['-nn', '-r', path, 'icmp']))

    // Nothing may reach B: the SLL2 header is no Ethernet header.
    // What replay would send: the cooked header taken for an Ethernet one, its protocol
    // field (IPv4, IPv6) as the first bytes of the destination MAC. Not the peer's own IPv6
    // neighbour and listener reports, which come when they will.
    const watch = record(`ring:${B}`, { netns: other, filter: 'ether[0:4] == 0x08000000 or ether[0:4] == 0x86dd0000' })
    const replay = await cli(['replay', path, `ring:${A}`, '--netns', ns.name])
    t.is(replay.code, 1, replay.stderr)
    t.regex(
      replay.stderr,
      /netring replay: cannot replay .*any\.pcap: frames of link type LINUX_SLL2 \(276\) cannot be sent through "nr0", whose link type is EN10MB \(1\): a Linux cooked capture's header/,
    )
    t.regex(replay.stderr, /^0 frames replayed, 0 sent, 0 errors$/m)
    t.is(watch.stop().packets, 0, 'nothing arrived at the other end')
  } finally {
    run('ip', ['netns', 'del', other])
  }
})

/** A pcap file (µs, little-endian) of `link` holding `packets`. */
function pcapOf(link: number, packets: Buffer[]): Buffer {
  const header = Buffer.alloc(24)
  header.writeUInt32LE(0xa1b2c3d4, 0)
  header.writeUInt16LE(2, 4)
  header.writeUInt16LE(4, 6)
  header.writeUInt32LE(262_144, 16)
  header.writeUInt32LE(link, 20)
  const records = packets.map((p, i) => {
    const r = Buffer.alloc(16)
    r.writeUInt32LE(1_700_000_000 + i, 0)
    r.writeUInt32LE(p.length, 8)
    r.writeUInt32LE(p.length, 12)
    return Buffer.concat([r, p])
  })
  return Buffer.concat([header, ...records])
}

privileged('replay refuses raw IP onto Ethernet (no MAC header to send) and sends an Ethernet file', async (t, ns) => {
  // A 20-byte IPv4 header 10.0.0.1 > 10.0.0.2, protocol 253 (experimental), no payload.
  const ipv4 = Buffer.from('45000014000000004afd0000' + '0a000001' + '0a000002', 'hex')
  for (const [link, name] of [
    [LINKTYPE_RAW, 'RAW \\(101\\)'],
    [228, 'IPV4 \\(228\\)'],
  ] as const) {
    const path = join(dir, `raw-${link}.pcap`)
    writeFileSync(path, pcapOf(link, [Buffer.concat([ipv4, Buffer.alloc(40)])]))
    const run = await cli(['replay', path, `int:${A}`, '--netns', ns.name])
    t.is(run.code, 1, run.stderr)
    t.regex(run.stderr, new RegExp(`frames of link type ${name} cannot be sent through "nr0", whose link type is EN10MB \\(1\\): raw IP packets have no Ethernet header to send`))
    t.regex(run.stderr, /^0 frames replayed, 0 sent, 0 errors$/m)
  }
  // The same bytes behind an Ethernet header go.
  const ether = Buffer.concat([Buffer.from('ffffffffffff0200000000020800', 'hex'), ipv4, Buffer.alloc(40)])
  const path = join(dir, 'ether.pcap')
  writeFileSync(path, pcapOf(LINKTYPE_ETHERNET, [ether]))
  const run = await cli(['replay', path, `int:${A}`, '--netns', ns.name])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /^1 frames replayed, 1 sent, 0 errors$/m)
})
