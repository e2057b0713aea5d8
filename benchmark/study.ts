/**
 * The seed's study, re-run (libtrace's PACKET_MMAP note): a generator floods a veth pair
 * at its maximum rate and a reader under test counts on the other end.
 *
 *   Test 1: recv() vs ring across frame sizes 64…1518. Readers: netring int:, ring: per
 *           packet (`for await`), ring: batches, native counting (`netring stats`),
 *           tcpdump -w /dev/null (libpcap, TPACKET_V3) as the C peer and node_pcap (npm
 *           `pcap`, one JS callback per packet) as the Node peer. Generators: trafgen, and
 *           netring's own TX ring on a subset of the sizes.
 *   Test 2: ring sizes: TPACKET_V2 rings of 2…1024 frames, the V3 default and int:, with
 *           random frame sizes 64–1518.
 *   drain:  a large ring filled while the reader waits, then emptied: packets per second
 *           per packet, in batches and natively.
 *   seed:   tests 1 and 2 again at the seed's own rates (1 GbE line rate per size; 153,940
 *           pps), so that CPU and loss compare with its figures.
 *   loop:   event-loop delay (monitorEventLoopDelay) of a reader at full rate.
 *   decode: IPv4/UDP frames; readers that read addresses, protocol and ports of every
 *           packet (netring's views, node_pcap's decode.packet) against ones that do not.
 *
 * The generator runs on CPU 0 (trafgen pins itself there); the reader on CPU 1. Per run:
 * frames sent (nr1 tx_packets, from the kernel), received (the reader's count), kernel
 * drops (the reader's own statistics), vanished (sent − received − dropped), the reader's
 * CPU time and CPU per packet, and all CPUs' busy share over the middle half of the run
 * (like the seed's `sar -u`). Runs are repeated and interleaved; tables give medians,
 * charts medians with min–max bars. Raw runs go to results/study.json and study.csv.
 *
 *   node --import tsx benchmark/study.ts [--quick] [--rounds N] [--seconds S] [--test 1,seed,2,drain,loop,decode] [--only READER-REGEX] [--sizes 64,512,...]
 */
import { type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { A, B, counter, machine, makeNetns, median, pinnedIn, processCpuUs, sleep, stop, systemCpuTimes } from './lib/env'
import { writeReport } from './lib/report'
import { lineChart, type Series } from './lib/svg'

const TESTS = ['1', 'seed', '2', 'drain', 'loop', 'decode']
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    test: { type: 'string' },
    only: { type: 'string' },
    sizes: { type: 'string' },
  },
})
const quick = values.quick === true
const rounds = Number(values.rounds ?? (quick ? 1 : 5))
const seconds = Number(values.seconds ?? (quick ? 2 : 5))
const tests = values.test?.split(',') ?? TESTS
/** --only REGEX: run just the readers whose names match (a quick look at a few; the
 * tables are printed, results/ and RESULTS.md are left as they are). */
const only = values.only === undefined ? undefined : new RegExp(values.only)
const chart = (file: string, svg: string): void => {
  if (only === undefined) writeFileSync(file, svg)
}
for (const t of tests) if (!TESTS.includes(t)) throw new Error(`--test ${t}: known tests are ${TESTS.join(', ')}`)
const GENERATOR_CPU = 0 // trafgen pins itself to CPU 0
const READER_CPU = 1
const ROOT = join(__dirname, '..')
const NODE_PCAP = join(__dirname, 'node-pcap', 'reader.js')
const NATIVE_DRAIN = join(ROOT, 'target', 'release', 'examples', 'drain')
const RECV_LOOP = join(ROOT, 'target', 'release', 'recv-loop')

/** What a reader said when it stopped. */
interface Report {
  received: number
  dropped: number
  cpuUs: number
  eventLoop?: { p50Ms: number; p99Ms: number; maxMs: number }
}

interface Reader {
  name: string
  cmd: string[]
  /** Reads the reader's output; `cpuUs` is its CPU time measured from outside, if any. */
  parse(out: string, cpuUs: number): Report
}

/** The one JSON line a reader printed (rx-reader.ts, node-pcap/reader.js, drain). */
function jsonLine<T>(out: string, name: string): T {
  const line = out.split('\n').find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`${name} printed no result: ${out}`)
  return JSON.parse(line) as T
}

/** A reader that prints one JSON line. */
const jsonReport = (name: string) => (out: string): Report => {
  const r = jsonLine<Report & { packets: number }>(out, name)
  return { ...r, received: r.packets }
}

/** rx-reader.ts in `mode` with capture `options`, doing `task` (run or drain). */
const rxReader = (mode: string, options: object, task = 'run'): string[] => [
  process.execPath,
  '--import',
  'tsx',
  join(__dirname, 'rx-reader.ts'),
  mode,
  JSON.stringify(options),
  task,
]

const node = (name: string, mode: string, options: object = {}): Reader => ({ name, cmd: rxReader(mode, options), parse: jsonReport(name) })

const field = (out: string, pattern: RegExp): number => Number(pattern.exec(out)?.[1] ?? NaN)

const tcpdump: Reader = {
  name: 'tcpdump',
  cmd: ['tcpdump', '-i', A, '-w', '/dev/null', '-nn', '-q'],
  parse: (out, cpuUs) => ({
    received: field(out, /(\d+) packets captured/),
    dropped: field(out, /(\d+) packets dropped by kernel/),
    cpuUs,
  }),
}

/** One recv() per packet in C: the floor of `int:` (benchmark/c/recv-loop.c). */
const recvLoop: Reader = { name: 'C recv() loop', cmd: [RECV_LOOP, A], parse: jsonReport('C recv() loop') }
/** The same with what `int:` asks of each recvmsg(): PACKET_AUXDATA and SO_TIMESTAMPNS. */
const recvmsgLoop: Reader = { name: 'C recvmsg() loop, auxdata + timestamps', cmd: [RECV_LOOP, A, '--messages'], parse: jsonReport('C recvmsg() loop') }

const nodePcap: Reader = { name: 'node_pcap', cmd: [process.execPath, NODE_PCAP, A], parse: jsonReport('node_pcap') }
const nodePcapDecode: Reader = { name: 'node_pcap decode.packet', cmd: [process.execPath, NODE_PCAP, A, 'decode'], parse: jsonReport('node_pcap decode.packet') }

/** `netring stats URI ...args`: counting on a native thread, as a user would run it. */
function netringStatsOf(uri: string, args: string[] = []): Reader {
  return {
    name: 'netring stats',
    cmd: [process.execPath, join(ROOT, 'dist', 'src', 'cli.js'), 'stats', uri, ...args],
    parse: (out) => ({
      received: field(out, /^packets\s+(\d+)/m),
      dropped: field(out, /^dropped\s+(\d+)/m),
      cpuUs: field(out, /^cpu\s+([\d.]+) s/m) * 1e6,
    }),
  }
}

/** `netring stats` on nr0's default ring. */
const netringStats = netringStatsOf(`ring:${A}`)

/** After the generator stops: long enough for the last, partly filled V3 block to be
 * handed over (tcpdump's libpcap retires blocks after its 1 s packet buffer timeout). */
const DRAIN_MS = 1200

const PEER = 'tcpdump'
const NODE_PEER = 'node_pcap'

interface Run {
  sent: number
  received: number
  dropped: number
  vanished: number
  cpuPerPacketNs: number
  systemCpu: number
  eventLoop?: Report['eventLoop']
}

/** Ethernet's frame check sequence: the seed's sizes (64…1518) count it, the frames a
 * socket sends and captures do not (a "1518-byte" frame is 1514 bytes here). */
const FCS = 4

interface Generator {
  name: string
  cmd: string[]
}

/** trafgen with frames of `sizes` (one template each; with several, sent at random):
 * EtherType 0x88b5 (local experimental) frames, or with `udp` IPv4/UDP datagrams from
 * 10.0.0.1:1234 to 10.0.0.2:5678 with their lengths and checksums (trafgen computes them). */
function trafgen(name: string, sizes: number[], extra: string[] = [], udp = false): Generator {
  const file = join(tmpdir(), `netring-study-${process.pid}-${name}.cfg`)
  const frame = (size: number): string =>
    udp
      ? `{ eth(da=02:00:00:00:00:01, sa=02:00:00:00:00:02), ipv4(saddr=10.0.0.1, daddr=10.0.0.2, ttl=64), udp(sp=1234, dp=5678), fill(0x00, ${size - FCS - 14 - 20 - 8}) }`
      : `{ 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5, fill(0x00, ${size - FCS - 14}) }`
  writeFileSync(file, sizes.map(frame).join('\n') + '\n')
  return { name: 'trafgen', cmd: ['trafgen', '--dev', B, '--conf', file, '--cpus', '1', ...(sizes.length > 1 ? ['--rand'] : []), ...extra] }
}

/** netring's TX ring from JavaScript, batches of 256 frames of `size`. */
function netringTx(size: number): Generator {
  return { name: 'netring TX ring', cmd: [process.execPath, '--import', 'tsx', join(__dirname, 'tx-sender.ts'), 'ring-batch', String(size - FCS)] }
}

/** Collects what a child prints, to parse after it exits. */
function output(child: ChildProcess): () => string {
  let text = ''
  child.stdout?.on('data', (chunk) => (text += chunk))
  child.stderr?.on('data', (chunk) => (text += chunk))
  return () => text
}

async function readerReady(child: ChildProcess, text: () => string, name: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if (child.exitCode !== null) throw new Error(`${name} exited early: ${text()}`)
    if (/listening on|ready/.test(text())) return
    await sleep(50)
  }
  throw new Error(`${name} did not start within 10 s: ${text()}`)
}

/** One reader against one generator at full rate for `seconds`. */
async function run(ns: string, reader: Reader, generator: Generator): Promise<Run> {
  const child = pinnedIn(ns, READER_CPU, reader.cmd, 'pipe')
  const text = output(child)
  try {
    await readerReady(child, text, reader.name)
    const sentBefore = counter(ns, B, 'tx_packets')
    const gen = pinnedIn(ns, GENERATOR_CPU, generator.cmd)
    await sleep((seconds * 1000) / 4)
    const cpu0 = systemCpuTimes()
    await sleep((seconds * 1000) / 2)
    const cpu1 = systemCpuTimes()
    await sleep((seconds * 1000) / 4)
    await stop(gen)
    const sent = counter(ns, B, 'tx_packets') - sentBefore
    await sleep(DRAIN_MS)
    const outsideCpuUs = processCpuUs(child.pid!)
    await stop(child)
    const r = reader.parse(text(), outsideCpuUs)
    if (!Number.isFinite(r.received + r.dropped + r.cpuUs)) throw new Error(`${reader.name}: unreadable result: ${text()}`)
    return {
      sent,
      received: r.received,
      dropped: r.dropped,
      vanished: sent - r.received - r.dropped,
      cpuPerPacketNs: (r.cpuUs * 1000) / Math.max(1, r.received),
      systemCpu: (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total),
      eventLoop: r.eventLoop,
    }
  } finally {
    await stop(child)
  }
}

interface Row {
  generator: string
  x: number | string
  reader: string
  runs: Run[]
}

const pct = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0)
const lossPct = (r: Run): number => pct(r.dropped + Math.max(0, r.vanished), r.sent)
const fmt = (n: number): string => Math.round(n).toLocaleString('en')
const m = (row: Row, f: (r: Run) => number): number => median(row.runs.map(f))

/** CPU per packet of `row` over that of `peer` in the same test, generator and x: the
 * ratio of the medians, then the lowest and highest ratio within one round. */
function ratio(rows: Row[], row: Row, peer: string): string {
  const p = rows.find((r) => r.generator === row.generator && r.x === row.x && r.reader === peer)
  if (p === undefined) return ''
  const medians = m(row, (r) => r.cpuPerPacketNs) / m(p, (r) => r.cpuPerPacketNs)
  if (p === row || row.runs.length < 2) return medians.toFixed(2)
  const perRound = row.runs.map((r, i) => r.cpuPerPacketNs / p.runs[i].cpuPerPacketNs)
  return `${medians.toFixed(2)} (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`
}

function summary(rows: Row[], xName: string, peers: boolean): string {
  const lines = [
    `| ${xName} | reader | sent/s | received | kernel drops | vanished | loss | CPU/packet (min–max) | system CPU |${peers ? ' × tcpdump | × node_pcap |' : ''}`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${peers ? ' ---: | ---: |' : ''}`,
  ]
  for (const row of rows) {
    const cpu = row.runs.map((r) => r.cpuPerPacketNs)
    const spread = `${fmt(m(row, (r) => r.cpuPerPacketNs))} ns (${fmt(Math.min(...cpu))}–${fmt(Math.max(...cpu))})`
    const cells = [
      row.x,
      row.reader,
      fmt(m(row, (r) => r.sent) / seconds),
      fmt(m(row, (r) => r.received)),
      fmt(m(row, (r) => r.dropped)),
      fmt(m(row, (r) => r.vanished)),
      `${m(row, lossPct).toFixed(2)} %`,
      spread,
      `${(100 * m(row, (r) => r.systemCpu)).toFixed(0)} %`,
      ...(peers ? [ratio(rows, row, PEER), ratio(rows, row, NODE_PEER)] : []),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

function series(rows: Row[], f: (r: Run) => number, xs: Array<number | string>): Series[] {
  const readers = [...new Set(rows.map((r) => r.reader))]
  return readers.map((name) => ({
    name,
    points: rows
      .filter((r) => r.reader === name)
      .map((r) => {
        const v = r.runs.map(f)
        return { x: typeof r.x === 'number' ? r.x : xs.indexOf(r.x), median: median(v), min: Math.min(...v), max: Math.max(...v) }
      }),
  }))
}

/** Runs every (x, reader) pair `rounds` times, interleaved. */
async function matrix(ns: string, test: string, all: Array<{ x: number | string; reader: Reader; generator: Generator }>): Promise<Row[]> {
  const cases = only === undefined ? all : all.filter((c) => only.test(c.reader.name))
  const rows: Row[] = cases.map((c) => ({ generator: c.generator.name, x: c.x, reader: c.reader.name, runs: [] }))
  for (let round = 1; round <= rounds; round++) {
    for (const [i, c] of cases.entries()) {
      const r = await run(ns, c.reader, c.generator)
      rows[i].runs.push(r)
      const loop = r.eventLoop === undefined ? '' : `  event loop p99 ${r.eventLoop.p99Ms.toFixed(1)} ms`
      console.log(
        `${test} round ${round}/${rounds} ${c.generator.name.padEnd(15)} ${String(c.x).padStart(10)}  ${c.reader.name.padEnd(34)} sent ${r.sent} received ${r.received} dropped ${r.dropped} vanished ${r.vanished}  ${r.cpuPerPacketNs.toFixed(0)} ns/packet${loop}`,
      )
    }
  }
  return rows
}

const SIZES = values.sizes?.split(',').map(Number) ?? (quick ? [64, 1518] : [64, 128, 256, 512, 1024, 1280, 1518])

function test1Readers(): Reader[] {
  if (!existsSync(NODE_PCAP) || !existsSync(join(__dirname, 'node-pcap', 'node_modules', 'pcap'))) {
    throw new Error('node_pcap is not installed: run bash benchmark/setup.sh')
  }
  if (!existsSync(RECV_LOOP)) throw new Error('the C recv() loop is not built: run bash benchmark/setup.sh')
  return [
    recvLoop,
    recvmsgLoop,
    node('netring int:', 'int', { bufferSize: 4 << 20 }),
    node('netring ring: for await', 'ring-packet'),
    node('netring ring: for await, zeroCopy', 'ring-packet', { zeroCopy: true }),
    node('netring ring: batches', 'ring-batch'),
    netringStats,
    tcpdump,
    nodePcap,
  ]
}

/** CPU per iteration of the bare `for await` loop (benchmark/floor.ts), one run a round. */
async function floor(ns: string): Promise<number[]> {
  const runs: number[] = []
  for (let round = 0; round < rounds; round++) {
    const child = pinnedIn(ns, READER_CPU, [process.execPath, '--import', 'tsx', join(__dirname, 'floor.ts')], 'pipe')
    const text = output(child)
    await new Promise((resolve) => child.once('exit', resolve))
    const r = jsonLine<{ packets: number; cpuUs: number }>(text(), 'floor')
    runs.push((r.cpuUs * 1000) / r.packets)
  }
  return runs
}

/** Frames per second of 1 GbE at `size` bytes (with FCS): the preamble and the gap
 * between frames take 20 bytes more (1,488,095 at 64 bytes). */
const lineRate = (size: number): number => Math.floor(1e9 / ((size + 20) * 8))

async function seed(ns: string, sections: string[], raw: Record<string, Row[]>): Promise<void> {
  const readers = test1Readers()
  const rows = await matrix(
    ns,
    'seed 1',
    SIZES.flatMap((x) => readers.map((reader) => ({ x, reader, generator: trafgen(`seed-${x}`, [x], ['--rate', `${lineRate(x)}pps`]) }))),
  )
  const sizes = Array.from({ length: 32 }, () => 64 + Math.floor(Math.random() * (1518 - 64 + 1)))
  const seed2 = await matrix(
    ns,
    'seed 2',
    [node('netring ring: batches', 'ring-batch'), node('netring int:', 'int'), netringStats, tcpdump].map((reader) => ({
      x: '153,940 pps',
      reader,
      generator: trafgen('seed-random', sizes, ['--rate', '153940pps']),
    })),
  )
  raw.seed1 = rows
  raw.seed2 = seed2
  sections.push(
    "### Test 1 at the seed's rates: 1 GbE line rate per frame size",
    '',
    `trafgen held to ${SIZES.map((x) => `${lineRate(x).toLocaleString('en-US')} pps at ${x}`).join(', ')} (what it reaches, if less): the rates of the seed's 1 GbE test, so that CPU and loss compare with its figures.`,
    '',
    summary(rows, 'frame', true),
    '',
    "### Test 2 at the seed's rate: 153,940 pps of random sizes 64–1518",
    '',
    summary(seed2, 'rate', false),
    '',
  )
}

async function test1(ns: string, results: string, sections: string[], raw: Record<string, Row[]>): Promise<void> {
  const readers = test1Readers()
  const floorRuns = await floor(ns)
  const byTrafgen = await matrix(
    ns,
    'test 1',
    SIZES.flatMap((x) => readers.map((reader) => ({ x, reader, generator: trafgen(String(x), [x]) }))),
  )
  const txSizes = quick ? [64] : [64, 512, 1518]
  const byNetring = await matrix(
    ns,
    'test 1b',
    txSizes.flatMap((x) => readers.map((reader) => ({ x, reader, generator: netringTx(x) }))),
  )
  raw.test1 = byTrafgen
  raw.test1b = byNetring
  chart(join(results, 'study-test1-cpu.svg'), lineChart({ title: 'Test 1: reader CPU per packet vs frame size (trafgen)', xLabel: 'frame size (bytes)', yLabel: 'ns of reader CPU per packet', series: series(byTrafgen, (r) => r.cpuPerPacketNs, SIZES) }))
  chart(join(results, 'study-test1-loss.svg'), lineChart({ title: 'Test 1: loss vs frame size (trafgen)', xLabel: 'frame size (bytes)', yLabel: 'loss (dropped + vanished) %', series: series(byTrafgen, lossPct, SIZES) }))
  sections.push(
    '### Test 1: recv() vs ring across frame sizes (generator: trafgen)',
    '',
    `The floor of any \`for await\` loop (benchmark/floor.ts: the same loop over pre-made objects, no capture): ${median(floorRuns).toFixed(0)} ns per iteration (${Math.min(...floorRuns).toFixed(0)}–${Math.max(...floorRuns).toFixed(0)}), on the reader's CPU in the same go. The C loops are int:'s floor (benchmark/c/recv-loop.c, one call per packet): a bare recv(), and recvmsg() with the PACKET_AUXDATA and SO_TIMESTAMPNS messages int: asks for (each packet's length, VLAN tag and time).`,
    '',
    summary(byTrafgen, 'frame', true),
    '',
    '![CPU per packet](results/study-test1-cpu.svg)',
    '![Loss](results/study-test1-loss.svg)',
    '',
    "### Test 1b: the same readers, netring's TX ring as the generator",
    '',
    summary(byNetring, 'frame', true),
    '',
  )
}

async function test2(ns: string, results: string, sections: string[], raw: Record<string, Row[]>): Promise<void> {
  const rings = quick ? [8, 256] : [2, 4, 8, 16, 32, 64, 128, 256, 1024]
  // Each configuration read in JavaScript (batches) and natively (netring stats), so that
  // the ring's own effect shows apart from the cost of waking JavaScript.
  const configs: Array<[string, Reader, Reader]> = [
    ...rings.map((n): [string, Reader, Reader] => [
      `V2 ${n}`,
      node('netring ring: batches', 'ring-batch', { version: 2, frameCount: n }),
      netringStatsOf(`ring:${A}`, ['--tpacket', '2', '--frames', String(n)]),
    ]),
    ['V3 default', node('netring ring: batches', 'ring-batch'), netringStats],
    ['int:', node('netring int:', 'int'), netringStatsOf(`int:${A}`)],
  ]
  const sizes = Array.from({ length: 32 }, () => 64 + Math.floor(Math.random() * (1518 - 64 + 1)))
  const generator = trafgen('random', sizes)
  const rows = await matrix(
    ns,
    'test 2',
    configs.flatMap(([x, js, native]) => [
      { x, reader: js, generator },
      { x, reader: native, generator },
    ]),
  )
  raw.test2 = rows
  const xs = configs.map(([x]) => x)
  const byKind = (native: boolean): Series => ({
    name: native ? 'netring stats (native)' : 'batches (JavaScript)',
    points: rows
      .filter((row) => (row.reader === netringStats.name) === native)
      .map((row) => {
        const v = row.runs.map(lossPct)
        return { x: xs.indexOf(String(row.x)), median: median(v), min: Math.min(...v), max: Math.max(...v) }
      }),
  })
  chart(join(results, 'study-test2-loss.svg'), lineChart({ title: `Test 2: loss vs ring size (random frames 64–1518; x: ${xs.join(', ')})`, xLabel: 'ring (V2 frames, then V3 default, int:)', yLabel: 'loss %', series: [byKind(false), byKind(true)], categorical: true }))
  sections.push(
    '### Test 2: ring sizes (random frame sizes 64–1518)',
    '',
    'Each configuration read by JavaScript (`batches()`, or `for await` for int:) and natively (`netring stats` with `--tpacket 2 --frames N`).',
    '',
    summary(rows, 'ring', false),
    '',
    '![Loss vs ring size](results/study-test2-loss.svg)',
    '',
  )
}

async function eventLoop(ns: string, sections: string[], raw: Record<string, Row[]>): Promise<void> {
  const sizes = quick ? [64] : [64, 1518]
  const readers = [
    node('netring ring: for await', 'ring-packet', { eventLoop: true }),
    node('netring ring: for await, zeroCopy', 'ring-packet', { zeroCopy: true, eventLoop: true }),
    node('netring ring: batches', 'ring-batch', { eventLoop: true }),
    node('netring int:', 'int', { bufferSize: 4 << 20, eventLoop: true }),
  ]
  const rows = await matrix(ns, 'loop', sizes.flatMap((x) => readers.map((reader) => ({ x, reader, generator: trafgen(String(x), [x]) }))))
  raw.eventLoop = rows
  const ms = (row: Row, k: 'p50Ms' | 'p99Ms' | 'maxMs'): string => m(row, (r) => r.eventLoop?.[k] ?? NaN).toFixed(1)
  sections.push(
    '### Event loop: delay while capturing at full rate',
    '',
    "perf_hooks `monitorEventLoopDelay` (1 ms resolution) in the reader's process over the whole run; medians over rounds.",
    '',
    '| frame | reader | received | loss | delay p50 | p99 | max |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${row.x} | ${row.reader} | ${fmt(m(row, (r) => r.received))} | ${m(row, lossPct).toFixed(2)} % | ${ms(row, 'p50Ms')} ms | ${ms(row, 'p99Ms')} ms | ${ms(row, 'maxMs')} ms |`),
    '',
  )
}

async function decodeTest(ns: string, sections: string[], raw: Record<string, Row[]>): Promise<void> {
  const sizes = quick ? [64, 1518] : [64, 512, 1518]
  const plain = node('netring for await', 'ring-packet')
  const numbers = node('netring for await + ipv4/udp fields (numbers)', 'ring-decode')
  const text = node('netring for await + ipv4/udp fields (address strings)', 'ring-decode-text')
  const zeroCopy = node('netring for await, zeroCopy + fields (address strings)', 'ring-decode-text', { zeroCopy: true })
  const byHand = node('netring for await + the same fields read from packet.data', 'ring-data')
  const readers = [plain, numbers, text, zeroCopy, byHand, nodePcap, nodePcapDecode]
  const rows = await matrix(ns, 'decode', sizes.flatMap((x) => readers.map((reader) => ({ x, reader, generator: trafgen(`udp-${x}`, [x], [], true) }))))
  raw.decode = rows
  // Median CPU per packet of one reader at one size.
  const cpu = (x: number, name: string): number => m(rows.find((r) => r.x === x && r.reader === name)!, (r) => r.cpuPerPacketNs)
  sections.push(
    '### Decode: reading IPv4 addresses, protocol and ports of every packet',
    '',
    "trafgen sends IPv4/UDP frames. netring's readers use `for await` and the packet views (`p.ipv4.srcNumber`, `.dstNumber`, `.protocol`, `p.udp.srcPort`, `.dstPort`; or `.src`/`.dst` as strings), or read the same numbers from `p.data` at fixed offsets; node_pcap's calls `pcap.decode.packet(raw)` and reads `saddr`, `daddr` (as strings), `protocol`, `sport`, `dport`. Without decoding: `for await` counting, and node_pcap's bare callback.",
    '',
    summary(rows, 'frame', false),
    '',
    '| frame | decoding adds to `for await` (numbers) | (strings) | `packet.data` by hand adds | netring (strings) × node_pcap decode.packet | zeroCopy (strings) × node_pcap decode.packet |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...sizes.map(
      (x) =>
        `| ${x} | ${(cpu(x, numbers.name) - cpu(x, plain.name)).toFixed(0)} ns | ${(cpu(x, text.name) - cpu(x, plain.name)).toFixed(0)} ns | ${(cpu(x, byHand.name) - cpu(x, plain.name)).toFixed(0)} ns | ${(cpu(x, text.name) / cpu(x, nodePcapDecode.name)).toFixed(2)} | ${(cpu(x, zeroCopy.name) / cpu(x, nodePcapDecode.name)).toFixed(2)} |`,
    ),
    '',
  )
}

interface Drain {
  packets: number
  sent: number
  seconds: number
  cpuUs: number
}

/** Ring blocks (1 MiB each) of the drain test's V3 ring: 256 MiB. */
const DRAIN_BLOCKS = 256
/** Long enough that blocks are handed over full, not half-filled by the timeout. */
const DRAIN_BLOCK_TIMEOUT_MS = 100
/** Bytes a packet of `size` (with FCS) takes in a V3 block: header, padding, data, aligned to 16. */
const slot = (size: number): number => Math.ceil((82 + size - FCS) / 16) * 16

/** Fills the reader's ring with `count` frames while it waits, then times it emptying it. */
async function drainOnce(ns: string, cmd: string[], size: number, count: number): Promise<Drain> {
  const child = pinnedIn(ns, READER_CPU, cmd, 'pipe')
  const text = output(child)
  try {
    await readerReady(child, text, cmd.join(' '))
    const sentBefore = counter(ns, B, 'tx_packets')
    const gen = pinnedIn(ns, GENERATOR_CPU, trafgen(`drain-${size}`, [size], ['--num', String(count)]).cmd)
    await new Promise((resolve) => gen.once('exit', resolve))
    const sent = counter(ns, B, 'tx_packets') - sentBefore
    await sleep(3 * DRAIN_BLOCK_TIMEOUT_MS) // the last block is handed over after the timeout
    const exited = new Promise((resolve) => child.once('exit', resolve))
    process.kill(child.pid!, 'SIGUSR1')
    await exited
    return { ...jsonLine<Omit<Drain, 'sent'>>(text(), 'drain reader'), sent }
  } finally {
    await stop(child)
  }
}

async function drain(ns: string, sections: string[], rawDrain: Record<string, unknown>): Promise<void> {
  const sizes = quick ? [64] : [64, 512, 1518]
  const ring = { blockCount: DRAIN_BLOCKS, blockTimeout: DRAIN_BLOCK_TIMEOUT_MS }
  const readers: Array<[string, string[]]> = [
    ['netring ring: for await', rxReader('ring-packet', ring, 'drain')],
    ['netring ring: for await, zeroCopy', rxReader('ring-packet', { ...ring, zeroCopy: true }, 'drain')],
    ['netring ring: batches', rxReader('ring-batch', ring, 'drain')],
    ['netring ring: batches, zeroCopy', rxReader('ring-batch', { ...ring, zeroCopy: true }, 'drain')],
    ['native (Rust, netring-core)', [NATIVE_DRAIN, A, String(DRAIN_BLOCKS), String(DRAIN_BLOCK_TIMEOUT_MS)]],
  ]
  if (!existsSync(NATIVE_DRAIN)) throw new Error(`${NATIVE_DRAIN} is missing: run bash benchmark/setup.sh`)
  const runs = new Map<string, Drain[]>()
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      // 85 % of the ring, so the kernel drops none.
      const count = Math.floor(0.85 * DRAIN_BLOCKS * Math.floor(((1 << 20) - 48) / slot(size)))
      for (const [name, cmd] of readers) {
        const r = await drainOnce(ns, cmd, size, count)
        const key = `${size}|${name}`
        runs.set(key, [...(runs.get(key) ?? []), r])
        console.log(`drain round ${round}/${rounds} ${String(size).padStart(4)} B  ${name.padEnd(34)} sent ${r.sent} drained ${r.packets} in ${r.seconds.toFixed(3)} s: ${(r.packets / r.seconds / 1e6).toFixed(2)} Mpps`)
      }
    }
  }
  rawDrain.drain = Object.fromEntries(runs)
  const lines = [
    '### Drain rate: emptying a full ring',
    '',
    `A V3 ring of ${DRAIN_BLOCKS} × 1 MiB blocks (block timeout ${DRAIN_BLOCK_TIMEOUT_MS} ms) is filled to 85 % by trafgen while the reader waits; then the reader empties it. Rate = packets / wall time from the start signal to the last packet; medians (min–max) over rounds.`,
    '',
    '| frame | reader | packets (of sent) | packets/s | CPU/packet |',
    '| --- | --- | ---: | ---: | ---: |',
  ]
  for (const size of sizes) {
    for (const [name] of readers) {
      const rs = runs.get(`${size}|${name}`)!
      const rates = rs.map((r) => r.packets / r.seconds)
      lines.push(
        `| ${size} | ${name} | ${fmt(median(rs.map((r) => r.packets)))} (${fmt(median(rs.map((r) => r.sent)))}) | ${(median(rates) / 1e6).toFixed(2)} M (${(Math.min(...rates) / 1e6).toFixed(2)}–${(Math.max(...rates) / 1e6).toFixed(2)}) | ${median(rs.map((r) => (r.cpuUs * 1000) / r.packets)).toFixed(0)} ns |`,
      )
    }
  }
  sections.push(...lines, '')
}

function csv(raw: Record<string, Row[]>): string {
  const head = 'test,generator,x,reader,round,sent,received,dropped,vanished,cpu_per_packet_ns,system_cpu,loop_p50_ms,loop_p99_ms'
  const lines = Object.entries(raw).flatMap(([test, rows]) =>
    rows.flatMap((row) =>
      row.runs.map((r, i) =>
        [test, row.generator, row.x, row.reader, i + 1, r.sent, r.received, r.dropped, r.vanished, r.cpuPerPacketNs.toFixed(1), r.systemCpu.toFixed(4), r.eventLoop?.p50Ms ?? '', r.eventLoop?.p99Ms ?? ''].join(','),
      ),
    ),
  )
  return [head, ...lines].join('\n') + '\n'
}

async function main(): Promise<void> {
  const results = join(__dirname, 'results')
  mkdirSync(results, { recursive: true })
  const ns = makeNetns(`netring-study-${process.pid}`)
  const sections: string[] = []
  // The decode test reports on its own (results/decode.*), so that it can run alone
  // without replacing the study's last full report.
  const decodeSections: string[] = []
  const raw: Record<string, Row[]> = {}
  const decodeRaw: Record<string, Row[]> = {}
  const rawDrain: Record<string, unknown> = {}
  try {
    if (tests.includes('1')) await test1(ns.name, results, sections, raw)
    if (tests.includes('seed')) await seed(ns.name, sections, raw)
    if (tests.includes('2')) await test2(ns.name, results, sections, raw)
    if (tests.includes('drain')) await drain(ns.name, sections, rawDrain)
    if (tests.includes('loop')) await eventLoop(ns.name, sections, raw)
    if (tests.includes('decode')) await decodeTest(ns.name, decodeSections, decodeRaw)
  } finally {
    ns.remove()
  }
  const info = machine()
  const conditions = `Generator at its maximum rate on CPU ${GENERATOR_CPU}; reader on CPU ${READER_CPU}; ${rounds} round(s) of ${seconds} s, interleaved; medians.`
  const footer = `Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join('; ')}.`
  if (decodeSections.length > 0) {
    const md = ['## Decoding packets: netring\'s views against node_pcap', '', conditions, '', ...decodeSections, footer, ''].join('\n')
    console.log(`\n${md}`)
    if (only === undefined) {
      writeFileSync(join(results, 'decode.json'), JSON.stringify({ machine: info, rounds, seconds, ...decodeRaw }, null, 2) + '\n')
      writeFileSync(join(results, 'decode.md'), md)
    }
  }
  if (sections.length === 0) return writeReport(__dirname)
  const md = [
    '## The study: recv() vs ring, frame sizes, ring sizes',
    '',
    `Generator at its maximum rate on CPU ${GENERATOR_CPU}; reader on CPU ${READER_CPU}; ${rounds} round(s) of ${seconds} s, interleaved; medians. Frame sizes count the 4-byte FCS, as the seed's did (a 64-byte frame is 60 bytes captured). Loss = kernel drops + vanished (sent − received − dropped), as a share of sent. CPU/packet = the reader's own user + system time per packet received (tcpdump's read from /proc; \`netring stats\` counts from its start, so its process start-up is not in it). System CPU = all CPUs' busy share over the middle half of the run. × tcpdump / × node_pcap: CPU per packet over the peer's, same generator and size, same go: the ratio of the medians, and in brackets the lowest and highest ratio of two runs in the same round.`,
    '',
    ...sections,
    `Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    '',
  ].join('\n')
  console.log(`\n${md}`)
  if (only !== undefined) return
  writeFileSync(join(results, 'study.json'), JSON.stringify({ machine: info, rounds, seconds, ...raw, ...rawDrain }, null, 2) + '\n')
  writeFileSync(join(results, 'study.csv'), csv(raw))
  writeFileSync(join(results, 'study.md'), md)
  writeReport(__dirname)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
