import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { open, type Packet } from 'netring'
import { A, B, frame, privileged, sendFrom, seqOf, startTcpdump } from './helpers/netns'

const CLI = join(__dirname, '..', 'dist', 'src', 'cli.js')
const dir = mkdtempSync(join(tmpdir(), 'netring-cli-'))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built CLI; `onStderr` sees its stderr as it comes (to wait for "listening on"). */
function cli(args: string[], onStderr?: (text: string, child: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      onStderr?.(stderr, child)
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts the CLI, waits until it says it is listening, runs `then`, and returns its run. */
async function cliWhile(args: string[], then: (child: ChildProcess) => Promise<void>): Promise<Run> {
  let ready: (child: ChildProcess) => void = () => {}
  const listening = new Promise<ChildProcess>((resolve) => (ready = resolve))
  const run = cli(args, (text, child) => {
    if (text.includes('listening on')) ready(child)
  })
  const first = await Promise.race([listening, run])
  // The run ending first means the CLI exited before it listened: that run is the answer.
  if (!('pid' in first)) return first as Run
  await then(first)
  return run
}

/** `netring stats` output as numbers by label. */
function summary(stdout: string): Record<string, number> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/))
      .map(([label, value]) => [label, Number(value)]),
  )
}

for (const command of ['stats', 'capture', 'replay', 'interfaces']) {
  test(`${command} --help prints its usage and exits 0`, async (t) => {
    const run = await cli([command, '--help'])
    t.is(run.code, 0)
    t.regex(run.stdout, new RegExp(`^usage: netring ${command}`))
  })
}

const badArguments: Array<[string, string[], RegExp]> = [
  ['no command', [], /usage: netring/],
  ['an unknown command', ['sniff'], /unknown command "sniff"/],
  ['an unknown option', ['stats', '-x', 'ring:lo'], /^netring stats: unknown option -x\nusage: netring stats/],
  ['a missing uri', ['stats'], /stats takes a source: an interface \(-i IFACE\), a file \(-r FILE\) or a <uri>/],
  ['two sources', ['stats', '-i', 'lo', '-r', 'x.pcap'], /-i and -r name two sources/],
  ['-f and an expression', ['capture', '-i', 'lo', '-w', '/tmp/x.pcap', '-f', 'udp', 'tcp'], /give the filter as -f or as an EXPRESSION, not both/],
  ['a bad count', ['stats', 'ring:lo', '-c', 'many'], /--count many must be a positive integer/],
  ['print options with -w', ['capture', 'ring:lo', '-w', '/tmp/x.pcap', '-q'], /--quiet is for printing; with -w nothing is printed/],
  ['-U without -w', ['capture', 'ring:lo', '-U'], /-U, --format, -C, -G and -W are for -w FILE/],
  ['six t', ['capture', 'ring:lo', '-tttttt'], /-t is given 6 times; at most 5 \(-ttttt\)/],
  ['a bad duration', ['stats', 'ring:lo', '--duration', '0'], /--duration 0 must be a positive number/],
  ['replay without a uri', ['replay', 'x.pcap'], /replay takes FILE and <uri>/],
  ['an unknown scheme', ['stats', 'eth:lo'], /unknown URI scheme "eth:"/],
  ['a ring version that does not exist', ['stats', 'ring:lo', '--tpacket', '4'], /version 4 must be 2 \(TPACKET_V2\) or 3/],
  ['a ring of no blocks', ['capture', 'ring:lo', '-w', '/tmp/x.pcap', '--blocks', '0'], /--blocks 0 must be a positive integer/],
  ['V2 frames that do not fill the blocks', ['stats', 'ring:lo', '--tpacket', '2', '--blocks', '3', '--frames', '5'], /frameCount 5 must equal blockCount 3/],
  ['a ring size for int:', ['stats', 'int:lo', '--frames', '64'], /frameCount .*ring: captures/],
  ['a snaplen out of range', ['stats', 'ring:lo', '--snaplen', '300000'], /snaplen 300000/],
  ['a filter that does not compile', ['stats', 'ring:lo', '-f', 'udp port banana'], /does not compile/],
  ['a kernel filter that does not compile', ['capture', 'ring:lo', '-w', '/tmp/x.pcap', '-f', 'port 99999999'], /does not compile/],
  ['capture with two -f', ['capture', 'ring:lo', '-w', '/tmp/x.pcap', '-f', 'udp', '-f', 'tcp'], /capture takes one -f/],
]
for (const [name, args, message] of badArguments) {
  test(`${name}: usage on stderr, exit 2`, async (t) => {
    const run = await cli(args)
    t.is(run.code, 2, run.stderr)
    t.regex(run.stderr, message)
    t.regex(run.stderr, /usage: netring/)
  })
}

test('--version prints the version and exits 0', async (t) => {
  const run = await cli(['--version'])
  t.is(run.code, 0)
  t.regex(run.stdout, /^netring version \d+\.\d+\.\d+\nNode\.js v\d+/)
})

test('a missing file: one message naming it, exit 1', async (t) => {
  const run = await cli(['stats', `pcapfile:${join(dir, 'missing.pcap')}`])
  t.is(run.code, 1)
  t.regex(run.stderr, /netring stats: open of ".*missing\.pcap" failed: .*ENOENT/)
  t.notRegex(run.stderr, /usage:|at /)
})

test('an unwritable output path: exit 1 before anything is read', async (t) => {
  const input = join(dir, 'two.pcap')
  writeFileSync(input, Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'))
  const run = await cli(['capture', `pcapfile:${input}`, '-w', '/nonexistent-dir/out.pcap'])
  t.is(run.code, 1)
  t.regex(run.stderr, /create of "\/nonexistent-dir\/out\.pcap" failed/)
})

test('interfaces lists lo as ip -br addr does, then index, MTU and counters', async (t) => {
  const run = await cli(['interfaces'])
  t.is(run.code, 0)
  t.regex(run.stdout, /^lo {15}UNKNOWN {8}127\.0\.0\.1\/8\b.*\n {4}index 1 mtu \d+ linktype 1 00:00:00:00:00:00 <UP,RUNNING,LOOPBACK>  rx \d+ packets/m)
})

privileged('stats on a veth pair counts exactly the injected frames and bytes, and each -f its matches', async (t, ns) => {
  const wanted = Array.from({ length: 200 }, (_, i) => frame(i, 64))
  // Other frames the filter must keep out: IPv4 ethertype, 100 bytes.
  const other = Array.from({ length: 50 }, (_, i) => {
    const f = frame(1000 + i, 100)
    f.writeUInt16BE(0x0800, 12)
    f[23] = 17 // IP protocol UDP: the pattern frame() writes there could read as TCP
    return f
  })
  const mixed = wanted.flatMap((f, i) => (i < other.length ? [other[i], f] : [f]))
  const filters = ['-f', 'ether proto 0x88b5', '-f', 'ip', '-f', 'tcp']
  const run = await cliWhile(['stats', `ring:${A}`, '--netns', ns.name, '-c', '250', ...filters], () => sendFrom(ns, mixed))
  t.is(run.code, 0, run.stderr)
  const s = summary(run.stdout)
  t.is(s.packets, 250)
  t.is(s.bytes, 200 * 64 + 50 * 100)
  t.is(s.dropped, 0)
  t.true(Number.isFinite(s.cpu))
  const lines = run.stdout.split('\n').filter((line) => line.startsWith('filter'))
  t.deepEqual(lines, [
    `filter    200 packets  ${200 * 64} bytes  ether proto 0x88b5`,
    `filter    50 packets  ${50 * 100} bytes  ip`,
    'filter    0 packets  0 bytes  tcp',
  ])
})

privileged('tcpdump habits: -i or a bare name, the filter as trailing words, -r, -n, -s 0, -p', async (t, ns) => {
  const wanted = Array.from({ length: 200 }, (_, i) => frame(i, 64))
  const other = Array.from({ length: 50 }, (_, i) => {
    const f = frame(1000 + i, 100)
    f.writeUInt16BE(0x0800, 12)
    return f
  })
  const mixed = wanted.flatMap((f, i) => (i < other.length ? [other[i], f] : [f]))
  const promiscuity = (): string => /promiscuity (\d+)/.exec(ns.ip('-d', 'link', 'show', A))![1]

  let seen = ''
  const stats = await cliWhile(['stats', '-i', A, '--netns', ns.name, '-n', '-s', '0', '-c', '200', 'ether', 'proto', '0x88b5'], async () => {
    seen = promiscuity()
    await sendFrom(ns, mixed)
  })
  t.is(stats.code, 0, stats.stderr)
  t.like(summary(stats.stdout), { packets: 200, bytes: 200 * 64, dropped: 0 })
  t.is(seen, '1', 'promiscuous by default, as tcpdump')

  const path = join(dir, 'habits.pcap')
  const capture = await cliWhile(['capture', A, '--netns', ns.name, '-p', '-w', path, '-c', '50', 'ip'], async () => {
    seen = promiscuity()
    await sendFrom(ns, mixed)
  })
  t.is(capture.code, 0, capture.stderr)
  t.is(seen, '0', '-p: not promiscuous')
  const dump = execFileSync('tcpdump', ['-r', path, '-nn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  t.is(dump.trim().split('\n').length, 50)
  const read = await cli(['stats', '-r', path])
  t.like(summary(read.stdout), { packets: 50, bytes: 50 * 100 })
  t.regex(read.stdout, /^cpu\/pkt\s+-$/m, 'no CPU per packet for 50 packets')
})

privileged('a typo or a missing interface leaves an existing capture file byte for byte as it was', async (t, ns) => {
  const path = join(dir, 'good.pcap')
  const good = Buffer.concat([Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'), Buffer.alloc(2516, 7)])
  const cases: Array<[string[], number, RegExp]> = [
    [['capture', `ring:${A}`, '--netns', ns.name, '-w', path, '-f', 'udp prot 53'], 2, /does not compile/],
    [['capture', `ring:${A}`, '--netns', ns.name, '-w', path, 'udp', 'prot', '53'], 2, /does not compile/],
    [['capture', 'ring:nope0', '--netns', ns.name, '-w', path], 1, /no such interface "nope0"/],
    [['capture', '-r', join(dir, 'missing.pcap'), '-w', path], 1, /ENOENT/],
  ]
  for (const [args, code, message] of cases) {
    writeFileSync(path, good)
    const run = await cli(args)
    t.is(run.code, code, run.stderr)
    t.regex(run.stderr, message)
    t.deepEqual(readFileSync(path), good, args.join(' '))
  }
})

privileged('capture -w - streams pcap to a pipe while it runs (-U); stats -r - reads standard input', async (t, ns) => {
  const frames = Array.from({ length: 100 }, (_, i) => frame(i, 64))
  const child = spawn(process.execPath, [CLI, 'capture', '-i', A, '--netns', ns.name, '-w', '-', '-U'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const chunks: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => chunks.push(d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const deadline = Date.now() + 20_000
  while (!stderr.includes('listening on') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await sendFrom(ns, frames)
  // A pcap header, then a 16-byte record header and the 64 bytes of each frame.
  const whole = 24 + frames.length * (16 + 64)
  while (Buffer.concat(chunks).length < whole && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.is(Buffer.concat(chunks).length, whole, 'every packet reached the pipe while the capture ran')
  child.kill('SIGINT')
  t.is(await exited, 0, stderr)
  const piped = Buffer.concat(chunks)
  const dump = spawnSync('tcpdump', ['--count', '-r', '-'], { input: piped, encoding: 'utf8' })
  t.regex(dump.stdout, /^100 packets/m, dump.stderr)
  const read = spawnSync(process.execPath, [CLI, 'stats', '-r', '-'], { input: piped, encoding: 'utf8' })
  t.is(read.status, 0, read.stderr)
  t.like(summary(read.stdout), { packets: 100, bytes: 100 * 64 })
})

/** Packets tcpdump reads from `path` so far (a file still being written may end mid-record). */
function tcpdumpCount(path: string): number {
  const r = spawnSync('tcpdump', ['--count', '-r', path], { encoding: 'utf8' })
  return Number(/^(\d+) packets?/m.exec(r.stdout)?.[1] ?? 0)
}

for (const buffered of [false, true]) {
  privileged(`a SIGKILLed capture${buffered ? ' with -U' : ''} leaves a file with the packets written before it`, async (t, ns) => {
    const path = join(dir, `killed-${buffered}.pcap`)
    const frames = Array.from({ length: 600 }, (_, i) => frame(i, 1000))
    const args = ['capture', '-i', A, '--netns', ns.name, '-w', path, ...(buffered ? ['-U'] : [])]
    const run = await cliWhile(args, async (child) => {
      await sendFrom(ns, frames)
      // The file fills as the packets come (at once with -U, else within a second):
      // wait for it, then kill the capture without a chance to finish.
      const deadline = Date.now() + 20_000
      while (tcpdumpCount(path) < frames.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      child.kill('SIGKILL')
    })
    t.is(run.code, null)
    t.is(tcpdumpCount(path), frames.length)
  })
}

privileged('stats on a TPACKET_V2 ring of 256 frames counts every frame', async (t, ns) => {
  const frames = Array.from({ length: 200 }, (_, i) => frame(i, 70))
  const args = ['stats', `ring:${A}`, '--netns', ns.name, '--tpacket', '2', '--frames', '256', '-c', '200']
  const run = await cliWhile(args, () => sendFrom(ns, frames))
  t.is(run.code, 0, run.stderr)
  t.like(summary(run.stdout), { packets: 200, bytes: 200 * 70, dropped: 0 })
})

privileged('stats stops on SIGINT and counts what had arrived, the V3 block in progress too', async (t, ns) => {
  const frames = Array.from({ length: 300 }, (_, i) => frame(i, 80))
  const run = await cliWhile(['stats', `ring:${A}`, '--netns', ns.name], async (child) => {
    await sendFrom(ns, frames)
    child.kill('SIGINT')
  })
  t.is(run.code, 0, run.stderr)
  t.like(summary(run.stdout), { packets: 300, bytes: 300 * 80, dropped: 0 })
})

privileged('capture -w writes a file tcpdump reads with the exact count; replay delivers every frame in order', async (t, ns) => {
  const frames = Array.from({ length: 150 }, (_, i) => frame(i, 60 + (i % 50)))
  const bytes = frames.reduce((sum, f) => sum + f.length, 0)
  for (const name of ['cli.pcap', 'cli.pcapng']) {
    const path = join(dir, name)
    const run = await cliWhile(['capture', `ring:${A}`, '--netns', ns.name, '-w', path, '-c', '150'], () =>
      sendFrom(ns, frames),
    )
    t.is(run.code, 0, run.stderr)
    const dump = execFileSync('tcpdump', ['-r', path, '-nn', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    t.is(dump.trim().split('\n').length, 150)
    const stats = await cli(['stats', `pcapfile:${path}`])
    t.is(stats.code, 0, stats.stderr)
    t.like(summary(stats.stdout), { packets: 150, bytes, received: 150 })
  }

  // A filter on a file runs in userspace: frames 0..149 are 60 + i % 50 bytes long.
  const filtered = join(dir, 'filtered.pcap')
  const run0 = await cli(['capture', `pcapfile:${join(dir, 'cli.pcap')}`, '-w', filtered, '-f', 'greater 100'])
  t.is(run0.code, 0, run0.stderr)
  const wanted = frames.filter((f) => f.length >= 100)
  const kept = await cli(['stats', `pcapfile:${filtered}`])
  t.like(summary(kept.stdout), { packets: wanted.length, bytes: wanted.reduce((sum, f) => sum + f.length, 0) })

  // Replay the pcapng from nr1; capture on nr0.
  const received: Packet[] = []
  const capture = open(`ring:${A}`, { netns: ns.name })
  const collecting = (async () => {
    for await (const p of capture) {
      received.push(p.copy())
      if (received.length === 300) break
    }
  })()
  const run = await cli(['replay', join(dir, 'cli.pcapng'), `ring:${B}`, '--netns', ns.name, '--loop', '2', '--pps', '100000'])
  t.is(run.code, 0, run.stderr)
  await collecting
  t.deepEqual(
    received.map((p) => seqOf(p.data)),
    [...frames.keys(), ...frames.keys()],
  )
  t.deepEqual(
    received.slice(0, 150).map((p) => p.data),
    frames,
  )
})

/** The sequence numbers of the frames in a file, as netring reads them. */
async function seqsIn(path: string): Promise<number[]> {
  const seqs: number[] = []
  for await (const p of open(`pcapfile:${path}`)) seqs.push(seqOf(p.data))
  return seqs
}

privileged('capture -C rotates by size: every packet in exactly one file, the files named as tcpdump names them', async (t, ns) => {
  const base = join(dir, 'rot-size.pcap')
  const frames = Array.from({ length: 3000 }, (_, i) => frame(i, 1000))
  const run = await cliWhile(['capture', '-i', A, '--netns', ns.name, '-w', base, '-C', '1', '-c', '3000'], () => sendFrom(ns, frames))
  t.is(run.code, 0, run.stderr)
  // 3000 records of 1016 bytes: a new file once one holds more than 1,000,000 bytes.
  const names = readdirSync(dir).filter((n) => n.startsWith('rot-size.pcap')).sort()
  t.deepEqual(names, ['rot-size.pcap', 'rot-size.pcap1', 'rot-size.pcap2', 'rot-size.pcap3'])
  const seen: number[] = []
  for (const name of names) {
    const seqs = await seqsIn(join(dir, name))
    t.is(tcpdumpCount(join(dir, name)), seqs.length, `tcpdump reads ${name} as netring does`)
    t.true(statSync(join(dir, name)).size <= 1_000_000 + 1016 + 24, `${name} stops at the first record past the size`)
    seen.push(...seqs)
  }
  t.deepEqual(seen.sort((a, b) => a - b), frames.map((_, i) => i), 'no packet lost or written twice')
})

privileged('capture -C with -W keeps a ring of N files numbered from 0; -G names files by strftime and loses nothing', async (t, ns) => {
  const ring = join(dir, 'rot-ring.pcap')
  const frames = Array.from({ length: 3000 }, (_, i) => frame(i, 1000))
  const run = await cliWhile(['capture', '-i', A, '--netns', ns.name, '-w', ring, '-C', '1', '-W', '2', '-c', '3000'], () => sendFrom(ns, frames))
  t.is(run.code, 0, run.stderr)
  t.deepEqual(readdirSync(dir).filter((n) => n.startsWith('rot-ring.pcap')).sort(), ['rot-ring.pcap0', 'rot-ring.pcap1'])
  // Files 0, 1, 0, 1: the last two hold the newest packets, the last one among them.
  const kept = [...(await seqsIn(`${ring}0`)), ...(await seqsIn(`${ring}1`))].sort((a, b) => a - b)
  t.is(kept[kept.length - 1], 2999)
  t.true(kept.length < 3000 && kept.length > 900)

  const timed = join(dir, 'rot-%Y%m%d-%H%M%S.pcap')
  const run2 = await cliWhile(['capture', '-i', A, '--netns', ns.name, '-w', timed, '-G', '1', '-c', '300'], async () => {
    // Three bursts a little over a second apart: more than one file, though how many is
    // the clock's business; what is checked is that nothing is lost or doubled.
    for (let burst = 0; burst < 3; burst++) {
      await sendFrom(ns, frames.slice(burst * 100, burst * 100 + 100))
      if (burst < 2) await new Promise((resolve) => setTimeout(resolve, 1100))
    }
  })
  t.is(run2.code, 0, run2.stderr)
  const names = readdirSync(dir).filter((n) => /^rot-\d{8}-\d{6}\.pcap$/.test(n))
  t.true(names.length >= 1)
  const seen = (await Promise.all(names.map((n) => seqsIn(join(dir, n))))).flat().sort((a, b) => a - b)
  t.deepEqual(seen, frames.slice(0, 300).map((_, i) => i))
})

test('rotation options are checked before anything opens', async (t) => {
  for (const [args, message] of [
    [['capture', 'ring:lo', '-w', '/tmp/x.pcap', '-W', '3'], /-W needs -C or -G/],
    [['capture', 'ring:lo', '-w', '/tmp/x.pcap', '-C', 'big'], /-C big must be a positive size/],
    [['capture', 'ring:lo', '-w', '-', '-C', '1'], /standard output \(-\) cannot be rotated/],
    [['capture', 'ring:lo', '-C', '1'], /-C, -G and -W are for -w FILE/],
  ] as const) {
    const run = await cli([...args])
    t.is(run.code, 2, run.stderr)
    t.regex(run.stderr, message)
  }
})

/** A classic pcap (µs) of `frames`, the i-th captured at `times[i]` seconds. */
function pcapOf(frames: Buffer[], times: number[]): Buffer {
  const parts: Buffer[] = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')]
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16)
    h.writeUInt32LE(1_700_000_000 + Math.floor(times[i]), 0)
    h.writeUInt32LE(Math.round((times[i] % 1) * 1e6), 4)
    h.writeUInt32LE(f.length, 8)
    h.writeUInt32LE(f.length, 12)
    parts.push(h, f)
  })
  return Buffer.concat(parts)
}

privileged('replay --timing original keeps the file\'s gaps, --speed divides them', async (t, ns) => {
  const frames = Array.from({ length: 4 }, (_, i) => frame(i, 100))
  const times = [0, 0.3, 0.3, 0.9]
  const path = join(dir, 'timed.pcap')
  writeFileSync(path, pcapOf(frames, times))
  for (const [flags, speed] of [[['--timing', 'original'], 1], [['--speed', '3'], 3]] as const) {
    const capture = open(`ring:${A}`, { netns: ns.name })
    const arrivals: bigint[] = []
    const collecting = (async () => {
      for await (const p of capture) {
        arrivals.push(p.timestamp)
        if (arrivals.length === frames.length) break
      }
    })()
    const run = await cli(['replay', path, B, '--netns', ns.name, ...flags])
    t.is(run.code, 0, run.stderr)
    await collecting
    capture.close()
    // Not a speed assertion: a frame may go late, never early. The kernel's receive
    // times show each gap at least the file's (less 1 ms of timer rounding).
    for (let i = 1; i < frames.length; i++) {
      const gap = Number(arrivals[i] - arrivals[0]) / 1e9
      t.true(gap >= (times[i] - times[0]) / speed - 0.001, `${flags.join(' ')}: frame ${i} came ${gap.toFixed(3)} s after the first`)
    }
  }
  const both = await cli(['replay', path, B, '--pps', '10', '--speed', '2'])
  t.is(both.code, 2)
  t.regex(both.stderr, /--pps and --timing\/--speed are two paces/)
})

/** Frames tcpdump prints many ways: tagged and double-tagged, ARP, IPv6, DNS whole and
 * cut short, TCP with options, ICMP errors, a type it does not decode. */
function printFixtures(): Buffer[] {
  const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex')
  const eth = (type: string): Buffer => hex(`020000000001 020000000002 ${type}`)
  const query = hex('abcd 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001')
  const answer = hex('abcd 8180 0001 0001 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001 c00c 0001 0001 00000e10 0004 5db8d822')
  const ipv4 = (protocol: number, payload: Buffer): Buffer => {
    const h = hex(`4500 0000 1234 4000 40${protocol.toString(16).padStart(2, '0')} 0000 0a000001 0a000002`)
    h.writeUInt16BE(20 + payload.length, 2)
    return Buffer.concat([h, payload])
  }
  const udp = (sport: number, dport: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(8)
    h.writeUInt16BE(sport, 0)
    h.writeUInt16BE(dport, 2)
    h.writeUInt16BE(8 + payload.length, 4)
    return Buffer.concat([h, payload])
  }
  const syn = hex('d431 0050 00000064 00000000 a002 faf0 0000 0000 020405b4 0402 080a 0000000a 00000000 01 030307')
  const ack = hex('0050 d431 000003e8 00000065 5018 0100 0000 0000')
  const unreachable = Buffer.concat([hex('0303 0000 00000000'), ipv4(17, udp(1234, 5678, Buffer.alloc(4)))])
  const v6 = hex('6000 0000 0008 3a40 fe800000000000000000000000000001 ff020000000000000000000000000001 8000 0000 0001 0002')
  return [
    Buffer.concat([eth('0800'), ipv4(17, udp(54321, 53, query))]),
    Buffer.concat([eth('0800'), ipv4(17, udp(53, 54321, answer))]),
    Buffer.concat([eth('8100 000a 0800'), ipv4(17, udp(54321, 53, query.subarray(0, 20)))]),
    Buffer.concat([eth('88a8 0014 8100 001e 0800'), ipv4(1, hex('0800 f7fc 0001 0002'))]),
    Buffer.concat([eth('8100 600a 0806'), hex('0001 0800 0604 0001 020000000002 0a000001 000000000000 0a000002')]),
    Buffer.concat([eth('0806'), hex('0001 0800 0604 0002 020000000001 0a000002 020000000002 0a000001')]),
    Buffer.concat([eth('86dd'), v6]),
    Buffer.concat([eth('0800'), ipv4(6, syn)]),
    Buffer.concat([eth('0800'), ipv4(6, Buffer.concat([ack, Buffer.from('hello')]))]),
    Buffer.concat([eth('0800'), ipv4(1, unreachable)]),
    Buffer.concat([eth('0800'), ipv4(17, udp(1234, 5678, Buffer.from('payload')))]),
    frame(7, 60),
  ]
}

privileged('capture prints what tcpdump -nn prints, line for line, in every mode, from a file and live', async (t, ns) => {
  const path = join(dir, 'print.pcap')
  const frames = printFixtures()
  // tcpdump records the frames; both print from its file.
  const tcpdump = await startTcpdump(ns, A, path, 'not ip6 or icmp6')
  const live = await cliWhile(['capture', '-i', A, '--netns', ns.name, '-q', '-t', '-c', String(frames.length), 'not ip6 or icmp6'], () => sendFrom(ns, frames))
  await tcpdump.stop()
  const env = { ...process.env, TZ: 'UTC' }
  const theirs = (flags: string[]): string => execFileSync('tcpdump', ['-nn', ...flags, '-r', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env })
  t.is(live.code, 0, live.stderr)
  t.is(live.stdout, theirs(['-q', '-t']), 'live -q lines')
  for (const flags of [[], ['-q'], ['-e'], ['-q', '-e'], ['-x'], ['-X'], ['-XX'], ['-tt'], ['-ttt'], ['-tttt'], ['-ttttt']]) {
    const ours = spawnSync(process.execPath, [CLI, 'capture', '-r', path, ...flags], { encoding: 'utf8', env })
    t.is(ours.status, 0, ours.stderr)
    t.is(ours.stdout, theirs(flags), `netring capture ${flags.join(' ')}`)
  }
  t.is(theirs([]).trim().split('\n').filter((l) => /^\d/.test(l)).length, frames.length)
})
