/**
 * The seed's study, re-run (libtrace's PACKET_MMAP note): a generator floods a veth pair
 * at its maximum rate and a reader under test counts on the other end.
 *
 *   Test 1: recv() vs ring across frame sizes 64…1518, readers netring int:, ring: per
 *           packet (`for await`), ring: batches, and tcpdump -w /dev/null (libpcap,
 *           TPACKET_V3) as the C peer.
 *   Test 2: ring sizes: TPACKET_V2 rings of 2…1024 frames, the V3 default and int:, with
 *           random frame sizes 64–1518.
 *
 * The generator is trafgen (netsniff-ng) on CPU 0 (it pins itself there); the reader runs
 * on CPU 1. Per run: frames sent (nr1 tx_packets, from the kernel), received (the
 * reader's count), kernel drops (the reader's own statistics), vanished (sent − received
 * − dropped), the reader's CPU time and CPU per packet, and all CPUs' busy share over the
 * middle half of the run (like the seed's `sar -u`). Runs are repeated and interleaved;
 * tables give medians, charts medians with min–max bars.
 *
 *   node --import tsx benchmark/study.ts [--quick] [--rounds N] [--seconds S] [--test 1|2]
 */
import { type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { A, B, counter, machine, makeNetns, median, pinnedIn, processCpuUs, sleep, stop, systemCpuTimes } from './lib/env'
import { writeReport } from './lib/report'
import { lineChart, type Series } from './lib/svg'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    test: { type: 'string' },
  },
})
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3))
const seconds = Number(values.seconds ?? (values.quick ? 2 : 5))
const tests = values.test === undefined ? [1, 2] : [Number(values.test)]
const GENERATOR_CPU = 0 // trafgen pins itself to CPU 0
const READER_CPU = 1

interface Reader {
  name: string
  cmd: string[]
}

const node = (mode: string, options: object = {}): string[] => [
  process.execPath,
  '--import',
  'tsx',
  join(__dirname, 'rx-reader.ts'),
  mode,
  JSON.stringify(options),
]
const tcpdump: Reader = { name: 'tcpdump', cmd: ['tcpdump', '-i', A, '-w', '/dev/null', '-nn', '-q'] }

interface Run {
  sent: number
  received: number
  dropped: number
  vanished: number
  cpuPerPacketNs: number
  systemCpu: number
}

/** Ethernet's frame check sequence: the seed's sizes (64…1518) count it, the frames a
 * socket sends and captures do not (a "1518-byte" frame is 1514 bytes here). */
const FCS = 4

/** A trafgen config: frames of `sizes` (one template each; with several, sent at random). */
function trafgenConfig(name: string, sizes: number[]): string {
  const file = join(tmpdir(), `netring-study-${process.pid}-${name}.cfg`)
  const frame = (size: number): string =>
    `{ 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5, fill(0x00, ${size - FCS - 14}) }`
  writeFileSync(file, sizes.map(frame).join('\n') + '\n')
  return file
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

async function run(ns: string, reader: Reader, config: string, random: boolean): Promise<Run> {
  const child = pinnedIn(ns, READER_CPU, reader.cmd, 'pipe')
  const text = output(child)
  try {
    await readerReady(child, text, reader.name)
    const sentBefore = counter(ns, B, 'tx_packets')
    const generator = pinnedIn(ns, GENERATOR_CPU, ['trafgen', '--dev', B, '--conf', config, '--cpus', '1', ...(random ? ['--rand'] : [])])
    await sleep((seconds * 1000) / 4)
    const cpu0 = systemCpuTimes()
    await sleep((seconds * 1000) / 2)
    const cpu1 = systemCpuTimes()
    await sleep((seconds * 1000) / 4)
    await stop(generator)
    const sent = counter(ns, B, 'tx_packets') - sentBefore
    await sleep(300) // let the reader drain its ring
    const cpuUs = reader.name === 'tcpdump' ? processCpuUs(child.pid!) : 0
    await stop(child)
    const out = text()
    let received: number
    let dropped: number
    let readerCpuUs = cpuUs
    if (reader.name === 'tcpdump') {
      received = Number(/(\d+) packets captured/.exec(out)?.[1] ?? NaN)
      dropped = Number(/(\d+) packets dropped by kernel/.exec(out)?.[1] ?? NaN)
    } else {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line === undefined) throw new Error(`${reader.name} printed no result: ${out}`)
      const r = JSON.parse(line) as { packets: number; dropped: number; cpuUs: number }
      received = r.packets
      dropped = r.dropped
      readerCpuUs = r.cpuUs
    }
    return {
      sent,
      received,
      dropped,
      vanished: sent - received - dropped,
      cpuPerPacketNs: (readerCpuUs * 1000) / Math.max(1, received),
      systemCpu: (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total),
    }
  } finally {
    await stop(child)
  }
}

interface Row {
  x: number | string
  reader: string
  runs: Run[]
}

const pct = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0)
const lossPct = (r: Run): number => pct(r.dropped + Math.max(0, r.vanished), r.sent)

function summary(rows: Row[], xName: string): string {
  const lines = [
    `| ${xName} | reader | sent/s | received | kernel drops | vanished | loss | CPU/packet | system CPU | CPU × tcpdump |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const row of rows) {
    const m = (f: (r: Run) => number): number => median(row.runs.map(f))
    const peer = rows.find((r) => r.x === row.x && r.reader === 'tcpdump')
    const ratio = peer === undefined ? '' : (m((r) => r.cpuPerPacketNs) / median(peer.runs.map((r) => r.cpuPerPacketNs))).toFixed(2)
    lines.push(
      `| ${row.x} | ${row.reader} | ${Math.round(m((r) => r.sent) / seconds).toLocaleString('en')} | ${Math.round(m((r) => r.received)).toLocaleString('en')} | ${Math.round(m((r) => r.dropped)).toLocaleString('en')} | ${Math.round(m((r) => r.vanished)).toLocaleString('en')} | ${m(lossPct).toFixed(2)} % | ${m((r) => r.cpuPerPacketNs).toFixed(0)} ns | ${(100 * m((r) => r.systemCpu)).toFixed(0)} % | ${ratio} |`,
    )
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

async function main(): Promise<void> {
  const results = join(__dirname, 'results')
  mkdirSync(results, { recursive: true })
  const ns = makeNetns(`netring-study-${process.pid}`)
  const sections: string[] = []
  const raw: Record<string, Row[]> = {}
  try {
    if (tests.includes(1)) {
      const sizes = values.quick ? [64, 1518] : [64, 128, 256, 512, 1024, 1280, 1518]
      const readers: Reader[] = [
        { name: 'netring int:', cmd: node('int', { bufferSize: 4 << 20 }) },
        { name: 'netring ring: for await', cmd: node('ring-packet') },
        { name: 'netring ring: batches', cmd: node('ring-batch') },
        tcpdump,
      ]
      const rows: Row[] = sizes.flatMap((x) => readers.map((r) => ({ x, reader: r.name, runs: [] as Run[] })))
      const configs = new Map(sizes.map((s) => [s, trafgenConfig(String(s), [s])]))
      for (let round = 1; round <= rounds; round++) {
        for (const size of sizes) {
          for (const reader of readers) {
            const r = await run(ns.name, reader, configs.get(size)!, false)
            rows.find((row) => row.x === size && row.reader === reader.name)!.runs.push(r)
            console.log(`test 1 round ${round}/${rounds} ${String(size).padStart(4)} B  ${reader.name.padEnd(24)} sent ${r.sent} received ${r.received} dropped ${r.dropped} vanished ${r.vanished}  ${r.cpuPerPacketNs.toFixed(0)} ns/packet`)
          }
        }
      }
      raw.test1 = rows
      writeFileSync(join(results, 'study-test1-cpu.svg'), lineChart({ title: 'Test 1: reader CPU per packet vs frame size', xLabel: 'frame size (bytes)', yLabel: 'ns of reader CPU per packet', series: series(rows, (r) => r.cpuPerPacketNs, sizes) }))
      writeFileSync(join(results, 'study-test1-loss.svg'), lineChart({ title: 'Test 1: loss vs frame size', xLabel: 'frame size (bytes)', yLabel: 'loss (dropped + vanished) %', series: series(rows, lossPct, sizes) }))
      sections.push(
        '### Test 1: recv() vs ring across frame sizes',
        '',
        summary(rows, 'frame'),
        '',
        '![CPU per packet](results/study-test1-cpu.svg)',
        '![Loss](results/study-test1-loss.svg)',
        '',
      )
    }
    if (tests.includes(2)) {
      const configs: Array<[string, Reader]> = [
        ...[2, 4, 8, 16, 32, 64, 128, 256, 1024].map((n): [string, Reader] => [String(n), { name: `V2 ${n} frames`, cmd: node('ring-batch', { version: 2, frameCount: n }) }]),
        ['V3 default', { name: 'V3 default', cmd: node('ring-batch') }],
        ['int', { name: 'int:', cmd: node('int') }],
      ]
      const sizes = Array.from({ length: 32 }, () => 64 + Math.floor(Math.random() * (1518 - 64 + 1)))
      const config = trafgenConfig('random', sizes)
      const rows: Row[] = configs.map(([x, r]) => ({ x, reader: r.name, runs: [] as Run[] }))
      for (let round = 1; round <= rounds; round++) {
        for (const [x, reader] of configs) {
          const r = await run(ns.name, reader, config, true)
          rows.find((row) => row.x === x)!.runs.push(r)
          console.log(`test 2 round ${round}/${rounds} ${reader.name.padEnd(16)} sent ${r.sent} received ${r.received} dropped ${r.dropped} vanished ${r.vanished}`)
        }
      }
      raw.test2 = rows
      const xs = configs.map(([x]) => x)
      const loss: Series = {
        name: 'loss %',
        points: rows.map((row, i) => {
          const v = row.runs.map(lossPct)
          return { x: i, median: median(v), min: Math.min(...v), max: Math.max(...v) }
        }),
      }
      writeFileSync(join(results, 'study-test2-loss.svg'), lineChart({ title: `Test 2: loss vs ring size (random frames 64–1518; x: ${xs.join(', ')})`, xLabel: 'ring (V2 frames, then V3 default, int:)', yLabel: 'loss %', series: [loss], categorical: true }))
      sections.push(
        '### Test 2: ring sizes (random frame sizes 64–1518, batches)',
        '',
        summary(rows, 'ring').replace(/ \| CPU × tcpdump \|$/m, ' | |'),
        '',
        '![Loss vs ring size](results/study-test2-loss.svg)',
        '',
      )
    }
  } finally {
    ns.remove()
  }
  const info = machine()
  const md = [
    '## The study: recv() vs ring, frame sizes, ring sizes',
    '',
    `Generator: trafgen at its maximum rate on CPU ${GENERATOR_CPU}; reader on CPU ${READER_CPU}; ${rounds} round(s) of ${seconds} s, interleaved; medians. Frame sizes count the 4-byte FCS, as the seed's did (a 64-byte frame is 60 bytes captured). Loss = kernel drops + vanished (sent − received − dropped), as a share of sent. CPU/packet = the reader's own user + system time per packet received. System CPU = all CPUs' busy share over the middle half of the run.`,
    '',
    ...sections,
    `Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    '',
  ].join('\n')
  console.log(`\n${md}`)
  writeFileSync(join(results, 'study.json'), JSON.stringify({ machine: info, rounds, seconds, ...raw }, null, 2) + '\n')
  writeFileSync(join(results, 'study.md'), md)
  writeReport(__dirname)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
