/**
 * Decoded packet views against tshark (issue #15, "Verification").
 *
 * Live: real kernel traffic in a test namespace (ping with record route and fragments,
 * ping -6 with fragment headers, ARP, NDP, MLD with hop-by-hop headers, TCP, UDP, ICMP
 * errors, DNS over UDP and TCP through node's resolver, VLAN and QinQ, Linux cooked
 * captures of `-i any`, a 60-byte snaplen) is captured by tcpdump and by netring's
 * `record()`; each file is read by netring (`open('pcapfile:…')`) and by tshark, and every
 * field tshark reports must equal the view's (helpers/oracle.ts has the field table).
 * Then every prefix of every captured packet, and 20 000 seeded random and mutated buffers
 * per link type, go through `decode()`: no getter, toJSON() or util.inspect() may throw, and
 * a cut packet keeps the layers before the cut and names the cut layer in decodeError.
 * Unprivileged: hand-built frames of each protocol with their field values written out.
 *
 * Skips say why (root, ip, tcpdump, tshark, ping); under CI=true a skip is a failure.
 * Disagreements found so far, where tshark is right, are `FINDINGS`: they fail on purpose.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import test, { type ExecutionContext } from 'ava'

import { decode as decodeBytes, LinkType, open, openTx, record } from 'netring'
import * as F from './helpers/frames'
import { A, B, privileged, type Netns } from './helpers/netns'
import { compareFile, DNS_FIELDS, FIELDS, layersOf, packetSnapshot, snapshot, touchAll, VIEW_LAYER, type Comparison, type Field, type Kept } from './helpers/oracle'

/* eslint-disable @typescript-eslint/no-explicit-any */
/** decode(), its packet's views read by name (a missing view is a disagreement, not a type error). */
const decode = (bytes: Uint8Array, linkType?: number): any => decodeBytes(bytes, linkType)

const ci = process.env.CI === 'true'
const dir = mkdtempSync(join(tmpdir(), 'netring-decode-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

/** Why a tool is missing (with the Debian package to install), or undefined. */
function missing(tools: string[]): string | undefined {
  const pkg: Record<string, string> = { tshark: 'tshark', tcpdump: 'tcpdump', ping: 'iputils-ping' }
  const gone = tools.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  return gone.length === 0 ? undefined : `needs ${gone.join(', ')} (Debian packages ${gone.map((g) => pkg[g]).join(', ')})`
}

/** A test that needs `tools`: skipped with the reason when one is missing, failed under CI. */
function needs(tools: string[], title: string, body: (t: ExecutionContext) => Promise<void> | void): void {
  const why = missing(tools)
  if (why === undefined) test.serial(title, body)
  else if (ci) test(title, (t) => t.fail(`cannot run under CI: ${why}`))
  else test.skip(`${title} (skipped: ${why})`, () => {})
}

/** A privileged test that also needs `tools`. */
function live(tools: string[], title: string, body: (t: ExecutionContext, ns: Netns) => Promise<void>): void {
  const why = missing(tools)
  if (why === undefined) privileged(title, body)
  else if (ci) test(title, (t) => t.fail(`cannot run under CI: ${why}`))
  else test.skip(`${title} (skipped: ${why})`, () => {})
}

/**
 * Disagreements the oracle found, where tshark was right; all four are fixed, and these
 * stay so that a regression fails naming its finding. Each has a frame in `handBuilt()`
 * marked "(finding Fn …)".
 * - F1: `Sll.ifindex` reads the SLL2 interface index as signed (`| 0`); libpcap's
 *   `sll2_header.sll2_if_index` and tshark's `sll.ifindex` are unsigned 32-bit.
 * - F2: protocol 1 under IPv6 and 58 under IPv4 are not decoded (dissect/transport.rs pairs
 *   ICMP with IPv4 and ICMPv6 with IPv6); tshark, like gopacket, goes by the protocol number.
 * - F3: an IPv6 payload length of 0 with a hop-by-hop header is taken for a jumbogram without
 *   a Jumbo Payload option (RFC 2675 §3 requires one), so a header and transport are read out
 *   of bytes past the packet; tshark reports the packet malformed and decodes nothing past it.
 * - F4: the Shim6 payload extension header (next header 140, RFC 5533 §5.2; in IANA's IPv6
 *   extension header registry) ends netring's walk (`ipv6.protocol` 140, no transport);
 *   tshark walks it to what follows.
 */
const FINDINGS: [id: string, pattern: RegExp][] = [
  ['F1 (SLL2 interface index read as a signed number)', /sll\.ifindex: tshark \d+, netring -\d+/],
  ['F2 (ICMP in IPv6, ICMPv6 in IPv4 not decoded)', /^\S+ (icmp\.\S+|icmpv6\.\S+|layer icmp|layer icmpv6)[: ].*\n\s+tshark protocols (\S*:)?(ipv6(:ipv6\.\w+|:ah)*:icmp(:|\s|$)|ip(:ah)?:icmpv6)/m],
  ['F3 (IPv6 payload length 0: a hop-by-hop header and transport read past the packet)', /^\S+ (ipv6\.hopopts\.nxt: tshark \(absent\), netring 1|ipv6 final next header: tshark 0, netring \d+|layer \w+: tshark has not \w+ \(\S*ipv6\.hopopts\), netring has)/m],
  ['F4 (the Shim6 extension header ends the walk)', /^\S+ .*\n\s+tshark protocols \S*:shim6(:|\s|$)/m],
]

/** `d`, named after the finding it is, if any. */
function known(d: string): string {
  const found = FINDINGS.find(([, pattern]) => pattern.test(d))
  return found === undefined ? d : `[known finding ${found[0]}] ${d}`
}

/**
 * Fails on `disagreements`: new ones first, so a known finding never hides a new
 * disagreement in the report, then the known findings (which fail too).
 */
function noDisagreements(t: ExecutionContext, disagreements: string[], what: string): void {
  const named = disagreements.map(known)
  const fresh = named.filter((d) => !d.startsWith('[known finding'))
  t.deepEqual(fresh.slice(0, 40), [], `${what}: ${fresh.length} disagreements (the first 40)`)
  const old = named.filter((d) => d.startsWith('[known finding'))
  t.deepEqual(old.slice(0, 10), [], `${what}: ${old.length} disagreements that are known findings (the first 10; see FINDINGS)`)
}

/** Every packet the live tests captured, for the prefix test. */
const captured: Kept[] = []
/** How often each tshark field was compared over all files, for the last test's report. */
const coverage = new Map<string, number>()

/** Fails `t` with every disagreement, and checks enough was compared to mean something. */
function judge(t: ExecutionContext, what: string, c: Comparison, minPackets: number): void {
  t.log(`${what}: ${c.packets.length} packets, ${c.compared} fields compared, ${c.skipped} tshark fields of inner or cut layers not compared, ${c.disagreements.length} disagreements`)
  t.true(c.packets.length >= minPackets, `${what}: ${c.packets.length} packets, expected at least ${minPackets}`)
  t.true(c.compared >= c.packets.length * 10, `${what}: only ${c.compared} fields compared over ${c.packets.length} packets`)
  noDisagreements(t, c.disagreements, `${what}: netring and tshark disagree`)
}

// ---------------------------------------------------------------------------------------
// The lab: namespace A (the helper's, with nr0) and a peer namespace holding nr1, so that
// traffic between their addresses crosses the veth pair instead of the loopback.

const V4A = '10.7.0.1'
const V4B = '10.7.0.2'
const V6A = 'fd00:7::1'
const V6B = 'fd00:7::2'
const SERVERS = join(__dirname, 'helpers', 'oracle-servers.mjs')
const CLIENTS = join(__dirname, 'helpers', 'oracle-clients.mjs')

let peers = 0
/** Peer namespaces of test processes that are gone (ava killed a worker on a timeout). */
function removeStalePeers(): void {
  if (!existsSync('/run/netns')) return
  for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
    const match = /^(nrp-(\d+)-\d+)/.exec(line)
    if (match !== null && !existsSync(`/proc/${match[2]}`)) execFileSync('ip', ['netns', 'del', match[1]], { stdio: 'ignore' })
  }
}
if (process.getuid?.() === 0) {
  try {
    removeStalePeers()
  } catch {
    // no `ip`: the privileged tests say so
  }
}

class Lab {
  readonly peer = `nrp-${process.pid}-${peers++}`
  private readonly children = new Set<ChildProcess>()
  /** Captures and recorders to close at the end, whatever happens. */
  readonly closers: (() => void)[] = []

  constructor(readonly ns: Netns) {}

  setUp(): void {
    execFileSync('ip', ['netns', 'add', this.peer])
    this.ns.ip('link', 'set', B, 'netns', this.peer)
    this.ipB('link', 'set', B, 'addrgenmode', 'none')
    for (const [ip, dev, addr] of [
      [(...a: string[]) => this.ns.ip(...a), A, V4A],
      [(...a: string[]) => this.ipB(...a), B, V4B],
    ] as const) {
      ip('link', 'set', dev, 'up')
      ip('link', 'set', 'lo', 'up')
      ip('addr', 'add', `${addr}/24`, 'dev', dev)
    }
  }

  /** Adds the IPv6 addresses (nodad: usable at once); the kernel sends MLD reports with a hop-by-hop header. */
  addIpv6(): void {
    this.ns.ip('addr', 'add', `${V6A}/64`, 'dev', A, 'nodad')
    this.ipB('addr', 'add', `${V6B}/64`, 'dev', B, 'nodad')
  }

  ipB(...args: string[]): string {
    return execFileSync('ip', ['-n', this.peer, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  }

  private where(side: 'a' | 'b'): string {
    return side === 'a' ? this.ns.name : this.peer
  }

  /** Runs `args` in namespace A or the peer; resolves with its output, rejects with its stderr. */
  run(side: 'a' | 'b', args: string[], timeout = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', this.where(side), ...args], { encoding: 'utf8', timeout }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${args.join(' ')} in ${side}: ${error.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
  }

  /** Starts `args` in a namespace; resolves once `ready` appears on its stdout or stderr. */
  async start(side: 'a' | 'b', args: string[], ready: RegExp): Promise<ChildProcess & { output: () => string }> {
    const child = spawn('ip', ['netns', 'exec', this.where(side), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.add(child)
    let text = ''
    const output = () => text
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args[0]} did not print ${ready} within 10 s: ${text}`)), 10_000)
      const check = (chunk: Buffer): void => {
        text += chunk.toString()
        if (ready.test(text)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout.on('data', check)
      child.stderr.on('data', check)
      child.on('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${args.join(' ')} exited (${code}) before ready: ${text}`))
      })
    })
    return Object.assign(child, { output })
  }

  /**
   * Stops tcpdump writing `path` once its file has stopped growing for 300 ms (up to 5 s):
   * on SIGINT it leaves what is still in its ring unwritten.
   */
  async stopDump(child: ChildProcess, path: string): Promise<void> {
    let size = -1
    let since = Date.now()
    for (const until = Date.now() + 5000; Date.now() < until; ) {
      const now = existsSync(path) ? statSync(path).size : 0
      if (now !== size) {
        size = now
        since = Date.now()
      } else if (Date.now() - since >= 300) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await this.stop(child)
  }

  /** Stops a child (SIGINT: tcpdump finishes its file) and waits for it to exit. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill(signal)
      await exited
    }
    this.children.delete(child)
  }

  /** Kills what is still running and removes the peer namespace (and with it the veth pair). */
  async tearDown(): Promise<void> {
    for (const close of this.closers) {
      try {
        close()
      } catch {
        // closed already, or never opened
      }
    }
    await Promise.all([...this.children].map((c) => this.stop(c, 'SIGKILL')))
    try {
      execFileSync('ip', ['netns', 'del', this.peer], { stdio: 'ignore' })
    } catch {
      // never made
    }
  }
}

async function withLab(ns: Netns, body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = new Lab(ns)
  try {
    lab.setUp()
    await body(lab)
  } finally {
    await lab.tearDown()
  }
}

/** A running tcpdump writing `path`. */
async function tcpdump(lab: Lab, side: 'a' | 'b', iface: string, path: string, extra: string[] = []) {
  // -Z root: write into the 0700 temp dir; --immediate-mode and -U: every packet reaches the file.
  // In immediate mode libpcap's ring has one snaplen-sized slot per frame: with the default
  // 262144 a 2 MiB buffer holds 8 frames, so -s 4096 (more than any frame here) and -B 8 MiB.
  const snap = extra.includes('-s') ? [] : ['-s', '4096']
  return lab.start(side, ['tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '-B', '8192', ...snap, '-Z', 'root', '-w', path, ...extra], /listening on/)
}

/** A netring recorder into `path`; `finish` waits (up to 5 s) for `atLeast` packets, then stops it. */
function recorder(lab: Lab, iface: string, path: string, snaplen?: number) {
  const started = BigInt(Date.now() - 1) * 1_000_000n
  const r = record(`ring:${iface}`, { netns: lab.ns.name, write: path, packetBuffered: true, ...(snaplen === undefined ? {} : { snaplen }) })
  lab.closers.push(() => r.stop())
  return {
    started,
    async finish(atLeast: number) {
      const until = Date.now() + 5000
      while (r.progress().packets < atLeast && !r.progress().done && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      return r.stop()
    },
    stop: () => r.stop(),
  }
}

async function readFile(path: string): Promise<{ data: Buffer; timestamp: bigint }[]> {
  const out: { data: Buffer; timestamp: bigint }[] = []
  for await (const p of open(`pcapfile:${path}`)) out.push({ data: Buffer.from(p.data), timestamp: p.timestamp })
  return out
}

/**
 * netring's recording holds every frame tcpdump saw from the moment the recorder was open
 * (tcpdump starts first and may see a stray MLD report before).
 */
async function sameFrames(t: ExecutionContext, tcpdumpFile: string, netringFile: string, since: bigint): Promise<void> {
  const theirs = (await readFile(tcpdumpFile)).filter((p) => p.timestamp >= since)
  const ours = new Map<string, number>()
  for (const p of await readFile(netringFile)) ours.set(p.data.toString('hex'), (ours.get(p.data.toString('hex')) ?? 0) + 1)
  const lost = theirs.filter((p) => {
    const key = p.data.toString('hex')
    const n = ours.get(key) ?? 0
    if (n === 0) return true
    ours.set(key, n - 1)
    return false
  })
  t.deepEqual(
    lost.map((p) => p.data.toString('hex')),
    [],
    `frames tcpdump captured that netring's record() did not (of ${theirs.length})`,
  )
}

/**
 * Live captures beside the files: each packet's views (read during the iteration, so for
 * zeroCopy before its slot goes back) as `packetSnapshot`, keyed by the packet's bytes.
 */
function liveViews(lab: Lab, uri: string, options: Record<string, unknown> = {}) {
  const capture = open(uri, { netns: lab.ns.name, ...options })
  lab.closers.push(() => capture.close())
  const seen: { data: string; views: Record<string, unknown> }[] = []
  const reading = (async () => {
    for await (const p of capture) seen.push({ data: Buffer.from(p.data).toString('hex'), views: packetSnapshot(p as any) })
  })()
  return {
    uri: `${uri} ${JSON.stringify(options)}`,
    /** Waits (up to 5 s) for `atLeast` packets, closes, and returns what was seen. */
    async stop(atLeast: number) {
      for (const until = Date.now() + 5000; seen.length < atLeast && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 20))
      capture.close()
      await reading
      return seen
    },
  }
}

type Live = ReturnType<typeof liveViews>

/** The captures `liveViews` runs: the V3 ring (copied and zeroCopy), a V2 ring, and recv() (`int:`). */
function liveCaptures(lab: Lab, iface: string, options: Record<string, unknown> = {}): Live[] {
  return [
    liveViews(lab, `ring:${iface}`, options),
    liveViews(lab, `ring:${iface}`, { ...options, zeroCopy: true }),
    liveViews(lab, `ring:${iface}`, { ...options, version: 2 }),
    liveViews(lab, `int:${iface}`, options),
  ]
}

/**
 * Every packet a live capture saw decodes as the same bytes did from the file (whose views
 * tshark checked): the dissector's record filled during the ring copy, the zeroCopy lend,
 * the VLAN tag put back, recv() — each against the file path.
 */
async function sameViews(t: ExecutionContext, lives: Live[], file: Kept[]): Promise<void> {
  const byData = new Map(file.map((k) => [k.data.toString('hex'), k.full]))
  for (const live of lives) {
    const seen = await live.stop(Math.min(file.length, 1))
    const wrong: string[] = []
    let matched = 0
    for (const { data, views } of seen) {
      const want = byData.get(data)
      if (want === undefined) continue
      matched++
      const a = JSON.stringify(views)
      const b = JSON.stringify(want)
      if (a !== b) wrong.push(`${data}\n    live ${a}\n    file ${b}`)
    }
    t.true(matched >= file.length / 2, `${live.uri}: ${matched} of ${seen.length} live packets are in the file (${file.length})`)
    t.deepEqual(wrong.slice(0, 5), [], `${live.uri}: ${wrong.length} live packets decode otherwise than the same bytes from the file`)
  }
}

/** What the kernel's own tools send: ICMP (echo, record route, fragments), ARP, NDP, MLD, TCP, UDP, ICMP errors, DNS. */
async function kernelTraffic(t: ExecutionContext, lab: Lab, { servers = true } = {}): Promise<void> {
  // The first ping resolves 10.7.0.1 with ARP (a fresh namespace has no neighbours).
  await lab.run('b', ['ping', '-n', '-c', '1', '-W', '3', V4A])
  // -R: the record route option (IPv4 options, a 60-byte header).
  await lab.run('b', ['ping', '-n', '-c', '1', '-W', '3', '-R', V4A])
  // 3000 bytes over a 1500-byte MTU: three IPv4 fragments each way.
  await lab.run('b', ['ping', '-n', '-c', '1', '-W', '3', '-s', '3000', V4A])
  // A TOS of DSCP 46 with ECN 1, and TTL 7.
  await lab.run('b', ['ping', '-n', '-c', '1', '-W', '3', '-Q', '0xb9', '-t', '7', V4A])
  // IPv6: adding the addresses sends MLD reports (hop-by-hop router alert); the ping resolves with NDP.
  lab.addIpv6()
  await lab.run('b', ['ping', '-6', '-n', '-c', '1', '-W', '3', V6A])
  await lab.run('b', ['ping', '-6', '-n', '-c', '1', '-W', '3', '-s', '3000', V6A])
  // A traffic class and a flow label of our own.
  await lab.run('b', ['ping', '-6', '-n', '-c', '1', '-W', '3', '-Q', '0xa5', '-F', '0x12345', V6A])
  if (!servers) return
  const srv = await lab.start('a', ['node', SERVERS, V4A, V6A], /ready/)
  try {
    const got = JSON.parse(await lab.run('b', ['node', CLIENTS, V4A, V6A, '9']))
    t.like(got, { tcp4: 'hi', tcp6: 'hi', udp4: `echo ${V4A}`, udp6: `echo ${V6A}` })
    t.deepEqual(got.dns4.a, [V4A, '192.0.2.7'])
    t.deepEqual(got.dns6.txt, [['hello', 'world']])
    t.is(got.dns4.big, 6)
  } finally {
    await lab.stop(srv, 'SIGTERM')
  }
}

/** Compares `path` with tshark, keeps its packets for the prefix test, and judges. */
async function oracle(t: ExecutionContext, what: string, path: string, minPackets: number, extra: Field[] = DNS_FIELDS): Promise<Comparison> {
  const c = await compareFile(path, extra)
  captured.push(...c.packets)
  for (const [field, n] of c.perField) coverage.set(field, (coverage.get(field) ?? 0) + n)
  judge(t, what, c, minPackets)
  return c
}

// ---------------------------------------------------------------------------------------
// Live tests

live(['tcpdump', 'tshark', 'ping'], 'live Ethernet: kernel traffic captured by tcpdump and by record() decodes as tshark reads it', async (t, ns) => {
  await withLab(ns, async (lab) => {
    const theirs = join(dir, 'ethernet-tcpdump.pcap')
    const ours = join(dir, 'ethernet-netring.pcapng')
    const dump = await tcpdump(lab, 'a', A, theirs)
    const rec = recorder(lab, A, ours)
    const lives = liveCaptures(lab, A)
    try {
      await kernelTraffic(t, lab)
    } finally {
      await lab.stopDump(dump, theirs)
    }
    const n = (await readFile(theirs)).length
    await rec.finish(n)
    await sameFrames(t, theirs, ours, rec.started)
    const c = await oracle(t, 'tcpdump file', theirs, 60)
    await oracle(t, 'record() file', ours, 60)
    await sameViews(t, lives, c.packets)
    // The traffic really had what it was made for.
    const has = (pred: (k: Kept) => boolean, what: string) => t.true(c.packets.some(pred), `no ${what} in the capture`)
    const v = (k: Kept, view: string) => k.views[view] as any
    has((k) => k.layers.includes('arp'), 'ARP')
    has((k) => v(k, 'ipv4')?.headerLength === 60, 'IPv4 options (record route)')
    has((k) => v(k, 'ipv4')?.moreFragments === true, 'IPv4 first fragment')
    has((k) => v(k, 'ipv4')?.fragmentOffset > 0 && !k.layers.includes('icmp'), 'IPv4 later fragment')
    has((k) => v(k, 'ipv6')?.fragment !== undefined, 'IPv6 fragment header')
    has((k) => (v(k, 'ipv6')?.extensions & 1) === 1, 'IPv6 hop-by-hop (MLD)')
    has((k) => v(k, 'icmpv6')?.type === 135, 'neighbour solicitation')
    has((k) => v(k, 'tcp')?.SYN === true && v(k, 'tcp')?.options?.length > 0, 'TCP SYN with options')
    has((k) => v(k, 'tcp')?.FIN === true, 'TCP FIN')
    has((k) => v(k, 'icmp')?.type === 3, 'ICMP port unreachable')
    has((k) => v(k, 'ipv4')?.tos === 0xb9 && v(k, 'ipv4')?.ttl === 7, 'IPv4 TOS 0xb9, TTL 7')
    has((k) => v(k, 'ipv6')?.flowLabel === 0x12345 && v(k, 'ipv6')?.trafficClass === 0xa5, 'IPv6 flow label 0x12345, class 0xa5')
    has((k) => v(k, 'tcp')?.RST === true, 'TCP RST (connection refused)')
    has((k) => v(k, 'icmpv6')?.type === 1, 'ICMPv6 destination unreachable')
    has((k) => k.layers.includes('dns') && k.layers.includes('udp'), 'DNS over UDP')
    has((k) => k.layers.includes('dns') && k.layers.includes('tcp'), 'DNS over TCP')
  })
})

/** Frames with the given tags put in after the MAC addresses. */
function tagged(frame: Buffer, tags: F.Tag[]): Buffer {
  const t = Buffer.concat(
    tags.map((tag) => {
      const b = Buffer.alloc(4)
      b.writeUInt16BE(tag.tpid, 0)
      b.writeUInt16BE(tag.tci, 2)
      return b
    }),
  )
  return Buffer.concat([frame.subarray(0, 12), t, frame.subarray(12)])
}

/** Whether this kernel makes VLAN devices (CONFIG_VLAN_8021Q). */
function vlanDevices(lab: Lab): boolean {
  try {
    lab.ns.ip('link', 'add', 'link', A, 'name', `${A}.10`, 'type', 'vlan', 'id', '10')
    return true
  } catch {
    return false
  }
}

live(['tcpdump', 'tshark', 'ping'], 'live VLAN and QinQ: tagged frames (tags put back from the ring) decode as tshark reads them', async (t, ns) => {
  await withLab(ns, async (lab) => {
    const theirs = join(dir, 'vlan-tcpdump.pcap')
    const ours = join(dir, 'vlan-netring.pcapng')
    // Cut at 40 bytes after the tag went back (the tag counts in the 40, as with libpcap):
    // in the IPv4 header behind two tags, in the ICMP header behind one.
    const cut = join(dir, 'vlan-netring-40.pcapng')
    let lives: Live[] = []
    let lives60: Live[] = []
    let rec60: ReturnType<typeof recorder> | undefined
    let since = 0n
    if (vlanDevices(lab)) {
      // 802.1Q id 10; 802.1ad id 20 with 802.1Q id 30 inside (QinQ), on both ends.
      lab.ipB('link', 'add', 'link', B, 'name', `${B}.10`, 'type', 'vlan', 'id', '10')
      for (const [ip, dev, n] of [
        [(...a: string[]) => lab.ns.ip(...a), A, 1],
        [(...a: string[]) => lab.ipB(...a), B, 2],
      ] as const) {
        ip('link', 'add', 'link', dev, 'name', `${dev}.20`, 'type', 'vlan', 'proto', '802.1ad', 'id', '20')
        ip('link', 'add', 'link', `${dev}.20`, 'name', `${dev}.20.30`, 'type', 'vlan', 'id', '30')
        for (const [sub, net] of [
          ['.10', 10],
          ['.20', undefined],
          ['.20.30', 30],
        ] as const) {
          ip('link', 'set', `${dev}${sub}`, 'up')
          if (net !== undefined) ip('addr', 'add', `10.7.${net}.${n}/24`, 'dev', `${dev}${sub}`)
        }
        // The VLAN devices keep MTU 1500; the veth carries their frames with two tags (1522 bytes).
        ip('link', 'set', dev, 'mtu', '1600')
      }
      const dump = await tcpdump(lab, 'a', A, theirs)
      const rec = recorder(lab, A, ours)
      rec60 = recorder(lab, A, cut, 40)
      // (the VLAN devices send MLD and router solicitations of their own from when they came up)
      since = rec.started
      lives = liveCaptures(lab, A)
      lives60 = [liveViews(lab, `ring:${A}`, { snaplen: 40 }), liveViews(lab, `ring:${A}`, { snaplen: 40, zeroCopy: true })]
      try {
        await lab.run('b', ['ping', '-n', '-c', '2', '-W', '3', '10.7.10.1'])
        await lab.run('b', ['ping', '-n', '-c', '2', '-W', '3', '-s', '2000', '10.7.30.1'])
      } finally {
        await lab.stopDump(dump, theirs)
      }
      await rec.finish((await readFile(theirs)).length)
    } else {
      // No CONFIG_VLAN_8021Q: real ping frames (captured on nr1) are sent again from nr1 with
      // tags put in; nr0's receive path takes the outer tag into the skb (skb_vlan_untag), so
      // tcpdump and record() must put it back from the ring's tp_vlan_tci/tp_vlan_tpid.
      t.log('no VLAN devices on this kernel (CONFIG_VLAN_8021Q): tagging real ping frames and sending them with openTx')
      const plain = join(dir, 'vlan-plain.pcap')
      const dump0 = await tcpdump(lab, 'b', B, plain)
      try {
        await lab.run('b', ['ping', '-n', '-c', '1', '-W', '3', V4A])
        await lab.run('b', ['ping', '-n', '-c', '1', '-W', '3', '-s', '2000', V4A])
      } finally {
        await lab.stopDump(dump0, plain)
      }
      const frames = (await readFile(plain)).map((p) => p.data)
      t.true(frames.length >= 4, `captured ${frames.length} plain frames`)
      const variants: F.Tag[][] = [
        [{ tpid: 0x8100, tci: 0x000a }],
        [{ tpid: 0x8100, tci: (5 << 13) | (1 << 12) | 0x0fff }],
        [
          { tpid: 0x88a8, tci: (3 << 13) | 20 },
          { tpid: 0x8100, tci: 30 },
        ],
        [
          { tpid: 0x8100, tci: 100 },
          { tpid: 0x8100, tci: 200 },
        ],
        [{ tpid: 0x9100, tci: 7 }],
      ]
      const sends = variants.flatMap((tags) => frames.map((f) => tagged(f, tags)))
      // Room for two tags on a full-size frame.
      lab.ns.ip('link', 'set', A, 'mtu', '1600')
      lab.ipB('link', 'set', B, 'mtu', '1600')
      const dump = await tcpdump(lab, 'a', A, theirs)
      const rec = recorder(lab, A, ours)
      rec60 = recorder(lab, A, cut, 40)
      lives = liveCaptures(lab, A)
      lives60 = [liveViews(lab, `ring:${A}`, { snaplen: 40 }), liveViews(lab, `ring:${A}`, { snaplen: 40, zeroCopy: true })]
      try {
        const tx = openTx(`int:${B}`, { netns: lab.peer })
        try {
          await tx.sendBatch(sends)
        } finally {
          await tx.close()
        }
        // record() counting them all means the kernel delivered them (to tcpdump too).
        const done = await rec.finish(sends.length)
        t.is(done.packets, sends.length, 'record() captured every tagged frame')
      } finally {
        await lab.stopDump(dump, theirs)
      }
      const got = await readFile(theirs)
      t.is(got.length, sends.length, `tcpdump captured every tagged frame: ${got.map((p) => p.data.subarray(12, 20).toString('hex')).join(' ')} of ${sends.map((p) => p.subarray(12, 20).toString('hex')).join(' ')}`)
    }
    await sameFrames(t, theirs, ours, since)
    const c = await oracle(t, 'tcpdump file', theirs, 8)
    const whole = await oracle(t, 'record() file', ours, 8)
    await sameViews(t, lives, c.packets)
    await rec60!.finish(whole.packets.length)
    const c60 = await oracle(t, 'record({ snaplen: 40 }) file', cut, 8)
    const byKey = new Map(whole.packets.map((k) => [`${k.timestamp}/${k.length}`, k]))
    const wrong = c60.packets.flatMap((k) => {
      const f = byKey.get(`${k.timestamp}/${k.length}`)
      return f === undefined ? [] : prefixProblems(f, k)
    })
    t.deepEqual(wrong, [], 'tagged packets cut at 40 against the same packets whole')
    const cutLayers = new Set(c60.packets.map((k) => k.decodeError?.layer))
    for (const layer of ['ipv4', 'icmp']) t.true(cutLayers.has(layer), `no tagged packet cut in ${layer}`)
    await sameViews(t, lives60, c60.packets)
    t.true(
      c.packets.some((k) => (k.data.readUInt16BE(12) === 0x88a8 ? k.data.readUInt16BE(16) === 0x8100 : false)),
      'a QinQ frame (802.1ad then 802.1Q) was captured',
    )
    t.true(
      c.packets.every((k) => [0x8100, 0x88a8, 0x9100].includes(k.data.readUInt16BE(12)) || k.data.readUInt16BE(12) === 0x0806),
      'every IP frame is tagged',
    )
  })
})

live(['tcpdump', 'tshark', 'ping'], 'live SLL2 and SLL: tcpdump -i any (veth and loopback) decodes as tshark reads it', async (t, ns) => {
  await withLab(ns, async (lab) => {
    const v2 = join(dir, 'any-sll2.pcap')
    const v1 = join(dir, 'any-sll.pcap')
    const dump2 = await tcpdump(lab, 'a', 'any', v2)
    const dump1 = await tcpdump(lab, 'a', 'any', v1, ['-y', 'LINUX_SLL'])
    const ours = join(dir, 'any-netring.pcapng')
    let rec: ReturnType<typeof recorder> | undefined
    let lives: Live[] = []
    try {
      rec = recorder(lab, 'any', ours)
      // (zeroCopy does not apply: the cooked header is made in the copy)
      lives = [liveViews(lab, 'ring:any'), liveViews(lab, 'ring:any', { version: 2 })]
    } catch (error) {
      // netring has no `any` device (yet): only tcpdump's files then.
      t.log(`record('ring:any') fails (${(error as Error).message}): comparing tcpdump's files only`)
    }
    try {
      await kernelTraffic(t, lab, { servers: false })
      // Loopback: ARPHRD_LOOPBACK (772), outgoing and host packet types.
      await lab.run('a', ['ping', '-n', '-c', '1', '-W', '3', '127.0.0.1'])
      await lab.run('a', ['ping', '-6', '-n', '-c', '1', '-W', '3', '::1'])
    } finally {
      await lab.stopDump(dump2, v2)
      await lab.stopDump(dump1, v1)
    }
    if (rec !== undefined) {
      await rec.finish((await readFile(v2)).length)
      // netring writes the cooked v2 header libpcap writes: the same bytes.
      await sameFrames(t, v2, ours, rec.started)
      const c = await oracle(t, 'record() of any', ours, 20)
      await sameViews(t, lives, c.packets)
    }
    const c2 = await oracle(t, 'SLL2 file', v2, 20)
    const c1 = await oracle(t, 'SLL file', v1, 20)
    t.true(
      c2.packets.every((k) => k.linkType === 276),
      'tcpdump -i any wrote LINUX_SLL2',
    )
    t.true(
      c1.packets.every((k) => k.linkType === 113),
      'tcpdump -y LINUX_SLL wrote LINUX_SLL',
    )
    const sll = (k: Kept) => k.views.sll as { ifindex?: number; hardwareType: number; packetType: number } | undefined
    const nr0 = lab.ns.ifindex(A)
    t.true(
      c2.packets.some((k) => sll(k)?.ifindex === nr0 && sll(k)?.hardwareType === 1),
      `an SLL2 packet of nr0 (ifindex ${nr0})`,
    )
    t.true(
      c2.packets.some((k) => sll(k)?.hardwareType === 772),
      'an SLL2 packet of lo',
    )
    t.true(new Set(c2.packets.map((k) => sll(k)?.packetType)).size >= 2, 'incoming and outgoing packet types')
  })
})

live(['tcpdump', 'tshark', 'ping'], 'live snaplen 60: cut packets keep the layers before the cut and name the cut layer', async (t, ns) => {
  await withLab(ns, async (lab) => {
    const full = join(dir, 'snap-full.pcap')
    const cut = join(dir, 'snap60-tcpdump.pcap')
    const ours = join(dir, 'snap60-netring.pcapng')
    const dumpFull = await tcpdump(lab, 'a', A, full)
    const dumpCut = await tcpdump(lab, 'a', A, cut, ['-s', '60'])
    const rec = recorder(lab, A, ours, 60)
    const lives = [liveViews(lab, `ring:${A}`, { snaplen: 60 }), liveViews(lab, `ring:${A}`, { snaplen: 60, zeroCopy: true })]
    try {
      await kernelTraffic(t, lab)
    } finally {
      await lab.stopDump(dumpCut, cut)
      await lab.stopDump(dumpFull, full)
    }
    await rec.finish((await readFile(cut)).length)
    const whole = await compareFile(full, DNS_FIELDS)
    const byKey = new Map(whole.packets.map((k) => [`${k.timestamp / 1000n}/${k.length}`, k]))
    for (const [what, path] of [
      ['tcpdump -s 60 file', cut],
      ['record({ snaplen: 60 }) file', ours],
    ] as const) {
      const c = await oracle(t, what, path, 60)
      t.true(
        c.packets.every((k) => k.data.length <= 60),
        `${what}: every packet is at most 60 bytes`,
      )
      let cutLayers = 0
      const wrong: string[] = []
      for (const k of c.packets) {
        const f = byKey.get(`${k.timestamp / 1000n}/${k.length}`)
        if (f === undefined) continue
        if (k.decodeError !== undefined) cutLayers++
        wrong.push(...prefixProblems(f, k))
      }
      t.deepEqual(wrong, [], `${what}: cut packets against the same packets whole`)
      t.true(cutLayers >= 5, `${what}: ${cutLayers} packets with a header cut`)
      // The live rings cut at 60 as record() does; tcpdump in immediate mode cuts at 58
      // (libpcap 1.10's V2 frame layout), so the live packets are matched with record()'s file.
      if (path === ours) await sameViews(t, lives, c.packets)
      // 60 bytes cut a SYN's options, a record-route IPv4 header, IPv6 + 8-byte UDP/ICMPv6 headers, MLD's hop-by-hop header.
      const layers = new Set(c.packets.map((k) => k.decodeError?.layer))
      for (const layer of ['tcp', 'ipv4', 'udp', 'icmpv6', 'ipv6-extension']) t.true(layers.has(layer), `${what}: no packet cut in ${layer}`)
    }
  })
})

// ---------------------------------------------------------------------------------------
// Prefixes, random and mutated buffers

const HEADER_VIEWS = ['ethernet', 'sll', 'arp', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6']
const RANK: Record<string, number> = { link: 0, vlan: 1, arp: 2, ipv4: 2, ipv6: 2, 'ipv6-extension': 3, tcp: 4, udp: 4, icmp: 4, icmpv6: 4 }
const IPV6_FIXED = ['version', 'trafficClass', 'flowLabel', 'payloadLength', 'nextHeader', 'hopLimit', 'src', 'dst']

/**
 * What is wrong with `cut` (the first bytes of `whole`): a header view it has must equal the
 * whole packet's, and a header view it lacks must be explained by a decodeError
 * { layer at or before it, reason 'truncated' }.
 */
function prefixProblems(whole: Kept, cut: Kept): string[] {
  const problems: string[] = []
  const label = `${cut.data.length} of ${whole.data.length} bytes of ${whole.data.toString('hex')}`
  if (whole.decodeError !== undefined) return problems
  const missingViews = HEADER_VIEWS.filter((v) => whole.layers.includes(v) && !cut.layers.includes(v))
  for (const v of HEADER_VIEWS) {
    if (cut.layers.includes(v) && !whole.layers.includes(v)) problems.push(`${label}: ${v} appears only when cut`)
  }
  const e = cut.decodeError
  if (missingViews.length > 0) {
    const first = VIEW_LAYER[missingViews[0]]
    if (e === undefined) problems.push(`${label}: ${missingViews.join(', ')} missing without a decodeError`)
    else if (e.reason !== 'truncated') problems.push(`${label}: decodeError reason ${e.reason}, expected truncated`)
    else if (!(RANK[e.layer] <= RANK[first])) problems.push(`${label}: decodeError layer ${e.layer} after the first missing layer ${first}`)
  } else if (e !== undefined && e.layer !== 'ipv6-extension' && e.layer !== 'vlan') {
    problems.push(`${label}: decodeError ${e.layer} ${e.reason} with every header layer there`)
  }
  for (const v of HEADER_VIEWS) {
    if (!cut.layers.includes(v) || !whole.layers.includes(v)) continue
    let a = cut.views[v] as Record<string, unknown>
    let b = whole.views[v] as Record<string, unknown>
    if (v === 'ethernet' && (e?.layer === 'vlan' || e?.layer === 'link')) {
      // With a tag cut, what follows the tags is not known.
      a = { ...a, etherType: undefined }
      b = { ...b, etherType: undefined }
    }
    if (v === 'ipv6') {
      a = Object.fromEntries(IPV6_FIXED.map((k) => [k, a[k]]))
      b = Object.fromEntries(IPV6_FIXED.map((k) => [k, b[k]]))
    }
    if (v === 'icmp' || v === 'icmpv6') {
      a = { ...a }
      b = { ...b }
      for (const k of ['id', 'seq']) if (a[k] === undefined) delete b[k]
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${label}: ${v} cut ${JSON.stringify(a)} whole ${JSON.stringify(b)}`)
  }
  return problems
}

/** decode() of `bytes` as a Kept (views as JSON), or the error a getter threw. */
function keep(bytes: Buffer, linkType: number, withInspect: boolean): Kept {
  const p = decode(bytes, linkType)
  touchAll(p, withInspect)
  const views: Record<string, unknown> = {}
  for (const v of HEADER_VIEWS) if (p[v] !== undefined) views[v] = snapshot(p[v])
  return { data: bytes, linkType, length: bytes.length, timestamp: 0n, layers: layersOf(p), decodeError: p.decodeError, views, full: {} }
}

test.serial('decode: every prefix of every packet (captured and hand-built) keeps the layers before the cut, and no getter throws', (t) => {
  const packets = [...captured, ...handBuilt()
    .filter((h) => !isFinding(h))
    .map(([, bytes, linkType]) => ({ data: bytes, linkType }))]
  // One of each distinct packet (the live tests saw many alike) keeps this quick.
  const seen = new Set<string>()
  let prefixes = 0
  const problems: string[] = []
  for (const k of packets) {
    const key = `${k.linkType}/${k.data.toString('hex')}`
    if (seen.has(key)) continue
    seen.add(key)
    let whole: Kept
    try {
      whole = keep(k.data, k.linkType, true)
    } catch (e) {
      problems.push(`whole ${k.data.toString('hex')} (link ${k.linkType}): ${(e as Error).stack}`)
      continue
    }
    for (let n = 0; n < k.data.length; n++) {
      prefixes++
      try {
        problems.push(...prefixProblems(whole, keep(k.data.subarray(0, n), k.linkType, n < 128 || n % 64 === 0)))
      } catch (e) {
        problems.push(`${n} bytes of ${k.data.toString('hex')} (link ${k.linkType}): ${(e as Error).stack}`)
      }
    }
  }
  t.log(`${seen.size} packets, ${prefixes} prefixes, ${problems.length} problems`)
  t.deepEqual(problems.slice(0, 30), [], `${problems.length} problems (the first 30)`)
  t.true(prefixes > 1000, `only ${prefixes} prefixes`)
})

/** mulberry32: a small seeded PRNG, so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** An Ethernet frame's network-layer bytes behind the link header of `linkType`. */
function relink(frame: Buffer, linkType: number): Buffer | undefined {
  const type = frame.readUInt16BE(12)
  const payload = frame.subarray(14)
  const v4 = type === 0x0800
  const v6 = type === 0x86dd
  switch (linkType) {
    case LinkType.ETHERNET:
      return frame
    case LinkType.RAW:
      return v4 || v6 ? payload : undefined
    case LinkType.IPV4:
      return v4 ? payload : undefined
    case LinkType.IPV6:
      return v6 ? payload : undefined
    case LinkType.NULL:
      return v4 || v6 ? F.loopback(v4 ? 2 : 30, payload, false) : undefined
    case LinkType.LOOP:
      return v4 || v6 ? F.loopback(v4 ? 2 : 24, payload, true) : undefined
    case LinkType.LINUX_SLL:
      return F.sll(0, 1, frame.subarray(6, 12), type, payload)
    case LinkType.LINUX_SLL2:
      return F.sll2(4, 1, 3, frame.subarray(6, 12), type, payload)
    default:
      return undefined
  }
}

/** `edits` random edits of `seed`: bit flips, boundary bytes, cuts, 16-bit fields, inserts, protocol numbers. */
function mutate(seed: Buffer, int: (n: number) => number, edits: number): Buffer {
  let b = Buffer.from(seed)
  for (let m = edits; m > 0; m--) {
    const at = int(Math.max(b.length, 1))
    switch (int(6)) {
      case 0:
        if (b.length > 0) b[at] ^= 1 << int(8)
        break
      case 1:
        if (b.length > 0) b[at] = [0, 0xff, 0x7f, 0x80, 1][int(5)]
        break
      case 2:
        b = b.subarray(0, at)
        break
      case 3:
        if (at + 1 < b.length) b.writeUInt16BE([0, 0xffff, 0x8100, 0x88a8, 0x0800, 0x86dd, int(65536)][int(7)], at)
        break
      case 4:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([int(256), int(256), int(256)]), b.subarray(at)])
        break
      default:
        // an IPv6 next header or IPv4 protocol byte to an extension header or transport
        if (b.length > 0) b[at] = [0, 43, 44, 60, 51, 50, 59, 6, 17, 1, 58][int(11)]
    }
  }
  return b
}

/** Seeds for `linkType`: the distinct Ethernet packets captured (relinked) and the hand-built frames. */
function seedsFor(linkType: number): Buffer[] {
  const frames = handBuilt().filter((h) => !isFinding(h))
  const sources = [...captured.filter((k) => k.linkType === 1).map((k) => k.data), ...frames.filter(([, , l]) => l === 1).map(([, b]) => b)]
  const distinct = [...new Map(sources.map((b) => [b.toString('hex'), b])).values()]
  const seeds = distinct.map((f) => relink(f, linkType)).filter((b): b is Buffer => b !== undefined)
  seeds.push(...frames.filter(([, , l]) => l === linkType).map(([, b]) => b))
  return seeds
}

test.serial('decode: 20 000 seeded random and mutated buffers per link type, no getter, toJSON() or inspect() throws', (t) => {
  const failures: string[] = []
  let total = 0
  for (const [name, linkType] of Object.entries(LinkType)) {
    const seeds = seedsFor(linkType)
    const rand = prng(0x5eed0000 + linkType)
    const int = (n: number) => Math.floor(rand() * n)
    for (let i = 0; i < 20_000; i++) {
      let b: Buffer
      if (seeds.length === 0 || i % 4 === 0) {
        b = Buffer.alloc(int(160))
        for (let j = 0; j < b.length; j++) b[j] = int(256)
      } else {
        b = mutate(seeds[int(seeds.length)], int, 1 + int(4))
      }
      total++
      try {
        touchAll(decode(b, linkType), i % 50 === 0)
      } catch (e) {
        if (failures.length < 20) failures.push(`${name} #${i}: ${b.toString('hex')}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`)
      }
    }
  }
  t.is(total, 20_000 * Object.keys(LinkType).length)
  t.deepEqual(failures, [])
})

needs(['tshark'], 'decode: 1500 seeded mutations per link type agree with tshark field by field', async (t) => {
  let compared = 0
  const disagreements: string[] = []
  for (const [name, linkType] of Object.entries(LinkType)) {
    const seeds = seedsFor(linkType)
    const rand = prng(0x0facade0 + linkType)
    const int = (n: number) => Math.floor(rand() * n)
    // One or two edits: mostly well-formed packets with one field that lies.
    const frames = Array.from({ length: 1500 }, () => mutate(seeds[int(seeds.length)], int, 1 + int(2)))
    const path = join(dir, `mutated-${name}.pcap`)
    writeFileSync(path, F.pcap(linkType, frames))
    const c = await compareFile(path, DNS_FIELDS)
    for (const [field, n] of c.perField) coverage.set(field, (coverage.get(field) ?? 0) + n)
    compared += c.compared
    disagreements.push(...c.disagreements)
  }
  t.log(`${compared} fields compared`)
  t.true(compared > 100_000, `only ${compared} fields compared`)
  noDisagreements(t, disagreements, 'mutated frames')
})

// ---------------------------------------------------------------------------------------
// Hand-built frames with their field values written out (unprivileged)

const MA = '02:00:00:00:00:0a'
const MB = '02:00:00:00:00:0b'
const P4 = { src: '192.0.2.1', dst: '198.51.100.2' }
const P6 = { src: '2001:db8::1', dst: 'fe80::abcd:1' }
const SYN_OPTIONS = Buffer.from('020405b40402080a0000000100000000010303070000', 'hex').subarray(0, 20)

/** [name, bytes, link type, expected views (a subset, as t.like)]. */
function handBuilt(): [string, Buffer, number, Record<string, unknown>][] {
  const tcpSeg = F.tcp(P4, { srcPort: 40000, dstPort: 443, seq: 0xfffffff0, ack: 0, flags: 0x002 | 0x080 | 0x040 | 0x100, window: 64240, options: SYN_OPTIONS })
  // A DNS query (RFC 1035 §4.1): id 0x1234, RD, one question example.test A IN.
  const query = Buffer.concat([Buffer.from('123401000001000000000000', 'hex'), Buffer.from('076578616d706c65047465737400', 'hex'), Buffer.from('00010001', 'hex')])
  const udp4 = F.udp(P4, 53000, 53, query)
  const echo = F.icmp(8, 0, F.echoRest(0x1234, 7), Buffer.from('abcdefgh'))
  const ip4Tcp = F.ipv4({ ...P4, protocol: 6, ttl: 63, tos: 0xb9, id: 0xbeef }, tcpSeg)
  const ip4Udp = F.ipv4({ ...P4, protocol: 17, ttl: 1, id: 1, fragment: 0 }, udp4)
  // NOP, then record route (RFC 791: type 7, length 11, pointer 4, two empty slots): 12 bytes.
  const rr = Buffer.from('01070b040000000000000000', 'hex')
  const ip4Opts = F.ipv4({ ...P4, protocol: 1, options: rr, id: 2 }, echo)
  const ip4Frag = F.ipv4({ ...P4, protocol: 17, id: 77, fragment: 0x2000 | 185 }, Buffer.alloc(24, 0x55))
  const echo6 = F.icmp(128, 0, F.echoRest(0xabcd, 0x0102), Buffer.from('ping6'), P6)
  const ip6Echo = F.ipv6({ ...P6, nextHeader: 58, hopLimit: 255, trafficClass: 0xa5, flowLabel: 0xbcdef }, echo6)
  const udp6 = F.udp(P6, 1000, 2000, Buffer.from('x'))
  const ip6Ext = F.ipv6(
    { ...P6, nextHeader: 0 },
    Buffer.concat([F.extension(60, Buffer.from('050200000000', 'hex')), F.extension(44, Buffer.alloc(4)), F.fragmentHeader(17, 0, true, 0xdeadbeef), udp6]),
  )
  const ether = (type: number, payload: Buffer, tags: F.Tag[] = []) => F.ethernet(MB, MA, type, payload, tags)
  // Edge cases: padding, options ending in EOL, odd tag stacks, fields that lie.
  const ack = F.tcp(P4, { srcPort: 80, dstPort: 40000, seq: 1, ack: 2, flags: 0x010 })
  const padded = Buffer.concat([ether(0x0800, F.ipv4({ ...P4, protocol: 6 }, ack)), Buffer.alloc(6)])
  const udpHi = F.udp(P4, 7, 7, Buffer.from('hi'))
  const udpPadded = Buffer.concat([ether(0x0800, F.ipv4({ ...P4, protocol: 17 }, udpHi)), Buffer.alloc(14, 0xee)])
  const eolTcp = F.tcp(P4, { srcPort: 1, dstPort: 2, seq: 3, flags: 0x002, options: Buffer.from('020405b400000000', 'hex') }, Buffer.from('data'))
  const ihl4 = Buffer.from(F.ipv4({ ...P4, protocol: 17 }, udpHi))
  ihl4[0] = 0x44
  const off4 = Buffer.from(F.tcp(P4, { srcPort: 1, dstPort: 2, seq: 3, flags: 0x010 }))
  off4[12] = 0x40
  const udpShort = Buffer.from(udpHi)
  udpShort.writeUInt16BE(4, 4)
  const atomic = F.ipv6({ ...P6, nextHeader: 44 }, Buffer.concat([F.fragmentHeader(58, 0, false, 0x01020304), echo6]))
  const later6 = F.ipv6({ ...P6, nextHeader: 44 }, Buffer.concat([F.fragmentHeader(17, 100, true, 7), Buffer.alloc(16, 0x77)]))
  const igmp = F.ipv4({ ...P4, dst: '224.0.0.22', protocol: 2, ttl: 1, options: Buffer.from('94040000', 'hex') }, Buffer.from('2200f9020000000104000000e00000fb', 'hex'))
  const noNext = F.ipv6({ ...P6, nextHeader: 59 }, Buffer.alloc(0))
  // Shim6 payload extension header (RFC 5533 §5.2: P bit 0, a 47-bit receiver context tag).
  const shim6 = F.ipv6({ ...P6, nextHeader: 140 }, Buffer.concat([F.extension(17, Buffer.from('000000000001', 'hex')), udp6]))
  const plenZero = F.ipv6({ ...P6, nextHeader: 0 }, Buffer.concat([F.extension(17, Buffer.alloc(4)), udp6]))
  plenZero.writeUInt16BE(0, 4)
  // A type 2 routing header (RFC 6275 §6.4: one address, segments left 1) before ICMPv6.
  const routing = F.extension(58, Buffer.concat([Buffer.from([2, 1, 0, 0, 0, 0]), F.ip6('2001:db8::99')]))
  const ip6Routing = F.ipv6({ ...P6, nextHeader: 43 }, Buffer.concat([routing, echo6]))
  return [
    [
      'Ethernet IPv4 TCP SYN (options, ECE CWR NS)',
      ether(0x0800, ip4Tcp),
      1,
      {
        ethernet: { dst: MB, src: MA, type: 0x0800, etherType: 0x0800 },
        ipv4: { version: 4, headerLength: 20, tos: 0xb9, dscp: 0xb9 >> 2, ecn: 1, length: 60, id: 0xbeef, flags: 2, dontFragment: true, moreFragments: false, fragmentOffset: 0, ttl: 63, protocol: 6, src: P4.src, dst: P4.dst, srcNumber: 0xc0000201, dstNumber: 0xc6336402 },
        tcp: { srcPort: 40000, dstPort: 443, seq: 0xfffffff0, ack: 0, headerLength: 40, flags: 0x1c2, SYN: true, ACK: false, FIN: false, RST: false, PSH: false, URG: false, ECE: true, CWR: true, NS: true, window: 64240, urgentPointer: 0, checksum: tcpSeg.readUInt16BE(16) },
      },
    ],
    [
      'Ethernet IPv4 UDP DNS query, TTL 1, no DF',
      ether(0x0800, ip4Udp),
      1,
      { ipv4: { flags: 0, dontFragment: false, ttl: 1, protocol: 17 }, udp: { srcPort: 53000, dstPort: 53, length: 8 + query.length, checksum: udp4.readUInt16BE(6) } },
    ],
    ['Ethernet IPv4 with options, ICMP echo request', ether(0x0800, ip4Opts), 1, { ipv4: { headerLength: 32, length: 32 + 16 }, icmp: { type: 8, code: 0, id: 0x1234, seq: 7, checksum: echo.readUInt16BE(2) } }],
    ['Ethernet IPv4 later fragment (offset 185, MF)', ether(0x0800, ip4Frag), 1, { ipv4: { flags: 1, moreFragments: true, fragmentOffset: 185, protocol: 17, id: 77 }, udp: undefined }],
    ['Ethernet ARP request', ether(0x0806, F.arp(1, MA, '192.0.2.1', '00:00:00:00:00:00', '192.0.2.2')), 1, { arp: { hardwareType: 1, protocolType: 0x0800, hardwareSize: 6, protocolSize: 4, operation: 1, senderMac: MA, senderIp: '192.0.2.1', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.2' } }],
    [
      'Ethernet IPv6 ICMPv6 echo',
      ether(0x86dd, ip6Echo),
      1,
      {
        ipv6: { version: 6, trafficClass: 0xa5, flowLabel: 0xbcdef, payloadLength: echo6.length, nextHeader: 58, hopLimit: 255, ttl: 255, src: P6.src, dst: P6.dst, protocol: 58, extensions: 0 },
        icmpv6: { type: 128, code: 0, id: 0xabcd, seq: 0x0102, checksum: echo6.readUInt16BE(2) },
      },
    ],
    [
      'Ethernet IPv6 hop-by-hop, destination options, fragment, UDP',
      ether(0x86dd, ip6Ext),
      1,
      { ipv6: { nextHeader: 0, protocol: 17, extensions: 1 | 4 | 8, fragment: { offset: 0, more: true, id: 0xdeadbeef } }, udp: { srcPort: 1000, dstPort: 2000, length: 9 } },
    ],
    [
      '802.1Q tag (PCP 5, DEI, VID 4095)',
      ether(0x0800, ip4Udp, [{ tpid: 0x8100, tci: 0xbfff }]),
      1,
      { ethernet: { type: 0x8100, etherType: 0x0800 }, vlan: { tpid: 0x8100, tci: 0xbfff, id: 0xfff }, vlans: [{ tpid: 0x8100, tci: 0xbfff, id: 0xfff }], udp: { dstPort: 53 } },
    ],
    [
      'QinQ: 802.1ad 20 then 802.1Q 30',
      ether(0x86dd, ip6Echo, [
        { tpid: 0x88a8, tci: 20 },
        { tpid: 0x8100, tci: 30 },
      ]),
      1,
      {
        ethernet: { type: 0x88a8, etherType: 0x86dd },
        vlan: { tpid: 0x88a8, id: 20 },
        vlans: [
          { tpid: 0x88a8, tci: 20, id: 20 },
          { tpid: 0x8100, tci: 30, id: 30 },
        ],
        icmpv6: { type: 128 },
      },
    ],
    ['802.3 length frame (LLC)', F.ethernet(MB, MA, 38, Buffer.concat([Buffer.from('424203', 'hex'), Buffer.alloc(35)])), 1, { ethernet: { type: 38, etherType: 0 }, ipv4: undefined }],
    ['SLL (v1) IPv4 UDP', F.sll(4, 1, Buffer.from(MA.replace(/:/g, ''), 'hex'), 0x0800, ip4Udp), 113, { sll: { version: 1, packetType: 4, hardwareType: 1, address: MA, protocol: 0x0800 }, udp: { dstPort: 53 } }],
    ['Ethernet IPv6 routing header, ICMPv6', ether(0x86dd, ip6Routing), 1, { ipv6: { nextHeader: 43, protocol: 58, extensions: 2 }, icmpv6: { type: 128, id: 0xabcd } }],
    // Protocol 4 (ETH_P_802_2): a Linux protocol number, not an ethertype (tshark's sll.ltype).
    ['SLL (v1) 802.2 LLC', F.sll(0, 1, Buffer.from(MB.replace(/:/g, ''), 'hex'), 0x0004, Buffer.from('424203000000', 'hex')), 113, { sll: { version: 1, packetType: 0, protocol: 4 }, ipv4: undefined, arp: undefined }],
    ['TCP ACK padded to 60 bytes: no payload', padded, 1, { tcp: { ACK: true }, payload: '' }],
    ['UDP padded: the payload ends at the UDP length', udpPadded, 1, { udp: { length: 10 }, payload: '6869' }],
    ['TCP options MSS then EOL and padding', ether(0x0800, F.ipv4({ ...P4, protocol: 6 }, eolTcp)), 1, { tcp: { headerLength: 28, options: '020405b400000000' }, payload: '64617461' }],
    ['802.1Q then an 802.3 length', F.ethernet(MB, MA, 6, Buffer.from('aaaa03000000', 'hex'), [{ tpid: 0x8100, tci: 3 }]), 1, { ethernet: { type: 0x8100, etherType: 0 }, vlans: [{ id: 3 }], ipv4: undefined }],
    [
      'three tags: 802.1ad, 802.1Q, 802.1Q',
      ether(0x0800, ip4Udp, [
        { tpid: 0x88a8, tci: 100 },
        { tpid: 0x8100, tci: 200 },
        { tpid: 0x8100, tci: 300 },
      ]),
      1,
      { ethernet: { etherType: 0x0800 }, vlans: [{ id: 100 }, { id: 200 }, { id: 300 }], udp: { dstPort: 53 } },
    ],
    ['IPv4 header length 16 (IHL 4): malformed', ether(0x0800, ihl4), 1, { ipv4: undefined, udp: undefined, decodeError: { layer: 'ipv4', reason: 'malformed' } }],
    ['TCP data offset 16: malformed', ether(0x0800, F.ipv4({ ...P4, protocol: 6 }, off4)), 1, { ipv4: { protocol: 6 }, tcp: undefined, decodeError: { layer: 'tcp', reason: 'malformed' } }],
    ['UDP length 4 (under 8): malformed', ether(0x0800, F.ipv4({ ...P4, protocol: 17 }, udpShort)), 1, { ipv4: { protocol: 17 }, udp: undefined, decodeError: { layer: 'udp', reason: 'malformed' } }],
    ['IPv6 atomic fragment (offset 0, no M): ICMPv6 inside', ether(0x86dd, atomic), 1, { ipv6: { protocol: 58, extensions: 4, fragment: { offset: 0, more: false, id: 0x01020304 } }, icmpv6: { type: 128 } }],
    ['IPv6 later fragment: no UDP header', ether(0x86dd, later6), 1, { ipv6: { protocol: 17, fragment: { offset: 100, more: true, id: 7 } }, udp: undefined }],
    ['IPv4 router alert option, IGMP', ether(0x0800, igmp), 1, { ipv4: { headerLength: 24, protocol: 2, options: '94040000' }, tcp: undefined, udp: undefined, icmp: undefined }],
    ['IPv6 no next header', ether(0x86dd, noNext), 1, { ipv6: { nextHeader: 59, protocol: 59, payloadLength: 0 } }],
    // Findings (FINDINGS above), fixed: each frame gives what tshark gives.
    ['SLL2 interface index above 2^31 (finding F1: libpcap and tshark read it unsigned)', F.sll2(0, 1, 0x86dd0003, Buffer.from(MA.replace(/:/g, ''), 'hex'), 0x0800, ip4Udp), 276, { sll: { ifindex: 0x86dd0003 } }],
    ['ICMP echo in IPv6 (finding F2: protocol 1 is ICMP whatever the IP version)', ether(0x86dd, F.ipv6({ ...P6, nextHeader: 1 }, echo)), 1, { ipv6: { protocol: 1 }, icmp: { type: 8, code: 0, id: 0x1234, seq: 7 } }],
    ['ICMPv6 echo in IPv4 (finding F2: protocol 58 is ICMPv6 whatever the IP version)', ether(0x0800, F.ipv4({ ...P4, protocol: 58 }, echo6)), 1, { ipv4: { protocol: 58 }, icmpv6: { type: 128, id: 0xabcd } }],
    ['IPv6 payload length 0, hop-by-hop without a Jumbo Payload option (finding F3: no payload, RFC 2675 §3)', ether(0x86dd, plenZero), 1, { ipv6: { payloadLength: 0 }, udp: undefined, decodeError: { layer: 'ipv6-extension' } }],
    ['IPv6 Shim6 payload extension header, UDP (finding F4: 140 is an extension header)', ether(0x86dd, shim6), 1, { ipv6: { nextHeader: 140, protocol: 17 }, udp: { srcPort: 1000, dstPort: 2000 } }],
    ['SLL2 IPv6 ICMPv6', F.sll2(0, 772, 1, Buffer.alloc(6), 0x86dd, ip6Echo), 276, { sll: { version: 2, packetType: 0, hardwareType: 772, ifindex: 1, address: '00:00:00:00:00:00', protocol: 0x86dd }, icmpv6: { type: 128 } }],
    ['NULL (host order) IPv4 TCP', F.loopback(2, ip4Tcp, false), 0, { ipv4: { protocol: 6 }, tcp: { dstPort: 443 }, ethernet: undefined }],
    ['LOOP (network order) IPv6', F.loopback(24, ip6Echo, true), 108, { ipv6: { hopLimit: 255 }, icmpv6: { seq: 0x0102 } }],
    ['RAW IPv4', ip4Opts, 101, { ipv4: { headerLength: 32 }, icmp: { id: 0x1234 } }],
    ['RAW IPv6', ip6Ext, 101, { ipv6: { protocol: 17 }, udp: { length: 9 } }],
    ['IPV4', ip4Udp, 228, { ipv4: { ttl: 1 }, udp: { srcPort: 53000 } }],
    ['IPV6', ip6Echo, 229, { ipv6: { flowLabel: 0xbcdef } }],
  ]
}

/** Checks decode() of each frame against its written-out views. */
function checkHandBuilt(t: ExecutionContext, frames: ReturnType<typeof handBuilt>): void {
  for (const [name, bytes, linkType, want] of frames) {
    const p = decode(bytes, linkType)
    t.is(p.linkType, linkType, name)
    if (!('decodeError' in want)) t.is(p.decodeError, undefined, `${name}: ${JSON.stringify(p.decodeError)}`)
    for (const [view, fields] of Object.entries(want)) {
      const got = snapshot(p[view]) as any
      if (view === 'payload') t.is(got ?? '', fields, `${name}: payload`)
      else if (fields === undefined) t.is(got, undefined, `${name}: ${view}`)
      else if (Array.isArray(fields)) {
        t.is(got?.length, fields.length, `${name}: ${view}`)
        fields.forEach((x, i) => t.like(got?.[i] ?? null, x, `${name}: ${view}[${i}]`))
      } else t.like(got ?? null, fields as object, `${name}: ${view}`)
    }
    t.notThrows(() => inspect(p), name)
  }
}

const isFinding = ([name]: [string, ...unknown[]]) => name.includes('(finding ')

test('decode: hand-built frames of each protocol give the field values they were built with', (t) => {
  checkHandBuilt(
    t,
    handBuilt().filter((h) => !isFinding(h)),
  )
  // Every view is the same object shape in toJSON() as read one by one.
  const p = decode(handBuilt()[0][1])
  t.like(p.toJSON(), { ethernet: { src: MA }, ipv4: { src: P4.src }, tcp: { dstPort: 443 } })
  // The IPv4 options and TCP options are the header bytes after the fixed part.
  t.is(Buffer.from(p.tcp.options).toString('hex'), SYN_OPTIONS.toString('hex'))
  t.is(p.payload?.length ?? 0, 0)
})

test('decode: data, payload and the …Bytes fields are Buffers over the packet\'s own bytes', (t) => {
  const frame = handBuilt()[0][1]
  const p = decode(frame)
  for (const [name, b] of Object.entries({ data: p.data, payload: p.payload, srcBytes: p.ethernet!.srcBytes, options: p.tcp!.options })) {
    t.true(Buffer.isBuffer(b), name)
    t.true(b instanceof Buffer, name)
    t.is(b.constructor, Buffer, name)
    t.true(inspect(b).startsWith('<Buffer'), name)
    t.true(b.subarray(0) instanceof Buffer, name)
    t.is(b.buffer, frame.buffer, `${name} shares the bytes' memory`)
  }
  t.deepEqual(p.data, Buffer.from(frame))
  t.true(p.data.equals(frame))
  t.is(p.data.toString('hex'), frame.toString('hex'))
  t.is(p.ethernet!.srcBytes.toString('hex'), frame.subarray(6, 12).toString('hex'))
  t.deepEqual(JSON.parse(JSON.stringify(p.data)), { type: 'Buffer', data: [...frame] })
  // A field cut short by the end of the bytes ends there, as subarray() would end it.
  const cut = decode(frame.subarray(0, 14 + 20 + 22))
  t.is(cut.tcp?.options.length ?? 0, 0)
})

test('decode: the frames of the oracle findings give the values tshark gives', (t) => {
  checkHandBuilt(t, handBuilt().filter(isFinding))
})

needs(['tshark'], 'decode: hand-built frames agree with tshark field by field', async (t) => {
  const byLink = new Map<number, Buffer[]>()
  for (const [, bytes, linkType] of handBuilt()) byLink.set(linkType, [...(byLink.get(linkType) ?? []), bytes])
  let compared = 0
  const disagreements: string[] = []
  for (const [linkType, frames] of byLink) {
    const path = join(dir, `handbuilt-${linkType}.pcap`)
    writeFileSync(path, F.pcap(linkType, frames))
    const c = await compareFile(path, DNS_FIELDS)
    for (const [field, n] of c.perField) coverage.set(field, (coverage.get(field) ?? 0) + n)
    compared += c.compared
    disagreements.push(...c.disagreements)
  }
  t.log(`${compared} fields compared`)
  t.true(compared > 200, `only ${compared} fields compared`)
  noDisagreements(t, disagreements, 'hand-built frames')
})

// Declared last, so it runs after every serial test above (the concurrent ones run later).
test.serial('decode oracle: the fields compared over all files', (t) => {
  const never = [...FIELDS, ...DNS_FIELDS].map((f) => f.name).filter((name) => !coverage.has(name))
  t.log(`${coverage.size} tshark fields compared; never compared (no packet had them): ${never.join(' ') || 'none'}`)
  if (captured.length === 0) {
    t.pass('no live capture ran: only the hand-built and mutated frames')
    return
  }
  // What the live traffic is there to produce: each compared at least once.
  const core = ['eth.src', 'arp.opcode', 'vlan.id', 'ieee8021ad.id', 'sll.ifindex', 'ip.src', 'ip.opt.type', 'ip.frag_offset', 'ipv6.src', 'ipv6.hopopts.nxt', 'ipv6.fraghdr.offset']
  core.push('tcp.seq_raw', 'tcp.option_kind', 'tcp.payload', 'udp.length', 'icmp.type', 'icmpv6.type', 'dns.qry.name', 'dns.a', 'dns.aaaa', 'dns.mx.mail_exchange', 'dns.txt', 'dns.srv.target', 'dns.cname')
  t.deepEqual(
    core.filter((name) => !coverage.has(name)),
    [],
    'fields the live traffic should have made tshark report',
  )
})
