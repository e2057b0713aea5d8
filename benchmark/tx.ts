/**
 * TX benchmark: 64-byte frames per second onto a veth pair, from one CPU, for
 *   trafgen (netsniff-ng, C, PACKET_MMAP TX ring)            — the peer
 *   netring TX ring from JS, batches of 256 (`sendBatch`)    and one frame per `send()`
 *   netring `int:` (one send() system call per frame)        batches and per frame
 * Every contender runs pinned to CPU 1, in rounds that interleave them. The rate is the
 * kernel's own tx_packets counter on nr1 over a fixed window; CPU is CPU 1's busy time.
 *
 *   node --import tsx benchmark/tx.ts [--quick] [--rounds N] [--seconds S]
 */
import { type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { B, counter, cpuTimes, machine, makeNetns, median, pinnedIn, sleep, stop } from './lib/env'
import { writeReport } from './lib/report'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
  },
})
const rounds = Number(values.rounds ?? (values.quick ? 1 : 5))
const seconds = Number(values.seconds ?? (values.quick ? 1 : 3))
// trafgen pins its worker to CPU 0 whatever taskset says, so every contender runs there
// and the orchestrator (started with `taskset -c 1`) stays out of its way.
const CPU = 0
const WARMUP_MS = 500

interface Contender {
  name: string
  start(ns: string): ChildProcess
}

const trafgenConfig = join(tmpdir(), `netring-bench-${process.pid}.cfg`)
// The same frame the netring contenders send: dst 02:..:01, src 02:..:02, 0x88b5, 50 zero bytes.
writeFileSync(trafgenConfig, '{ 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5, fill(0x00, 50) }\n')

const pinned = (ns: string, cmd: string[]): ChildProcess => pinnedIn(ns, CPU, cmd)

const node = (mode: string) => (ns: string) =>
  pinned(ns, [process.execPath, '--import', 'tsx', join(__dirname, 'tx-sender.ts'), mode])

const contenders: Contender[] = [
  { name: 'trafgen', start: (ns) => pinned(ns, ['trafgen', '--dev', B, '--conf', trafgenConfig, '--cpus', '1']) },
  { name: 'netring ring sendBatch', start: node('ring-batch') },
  { name: 'netring ring send', start: node('ring-send') },
  { name: 'netring int sendBatch', start: node('int-batch') },
  { name: 'netring int send', start: node('int-send') },
]

/** Waits until the contender's frames show in the kernel's counter. */
async function ready(ns: string, child: ChildProcess, name: string): Promise<void> {
  const start = counter(ns, B, 'tx_packets')
  for (let tries = 0; tries < 200; tries++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before sending`)
    if (counter(ns, B, 'tx_packets') > start) return
    await sleep(50)
  }
  throw new Error(`${name} sent nothing within 10 s`)
}

/** One run: start, warm up, count frames and CPU over the window, stop. */
async function run(ns: string, c: Contender): Promise<{ pps: number; cpuPerFrameNs: number }> {
  const child = c.start(ns)
  try {
    await ready(ns, child, c.name)
    await sleep(WARMUP_MS)
    const before = { frames: counter(ns, B, 'tx_packets'), cpu: cpuTimes(CPU), at: performance.now() }
    await sleep(seconds * 1000)
    const after = { frames: counter(ns, B, 'tx_packets'), cpu: cpuTimes(CPU), at: performance.now() }
    const frames = after.frames - before.frames
    const elapsed = (after.at - before.at) / 1000
    const busyShare = (after.cpu.busy - before.cpu.busy) / (after.cpu.total - before.cpu.total)
    return { pps: frames / elapsed, cpuPerFrameNs: (busyShare * elapsed * 1e9) / frames }
  } finally {
    await stop(child)
  }
}

async function main(): Promise<void> {
  const ns = makeNetns(`netring-bench-${process.pid}`)
  const results = new Map<string, Array<{ pps: number; cpuPerFrameNs: number }>>(contenders.map((c) => [c.name, []]))
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const c of contenders) {
        const r = await run(ns.name, c)
        results.get(c.name)!.push(r)
        console.log(`round ${round}/${rounds}  ${c.name.padEnd(24)} ${Math.round(r.pps).toLocaleString().padStart(11)} frames/s  ${r.cpuPerFrameNs.toFixed(0)} ns CPU/frame`)
      }
    }
  } finally {
    ns.remove()
  }
  const base = median(results.get('trafgen')!.map((r) => r.pps))
  const rows = contenders.map((c) => {
    const pps = results.get(c.name)!.map((r) => r.pps)
    const cpu = results.get(c.name)!.map((r) => r.cpuPerFrameNs)
    return { name: c.name, median: median(pps), min: Math.min(...pps), max: Math.max(...pps), cpuPerFrameNs: median(cpu), ratio: median(pps) / base }
  })
  const info = machine()
  const table = [
    '| sender | frames/s (median) | min – max | CPU per frame | × trafgen |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.median).toLocaleString('en')} | ${Math.round(r.min).toLocaleString('en')} – ${Math.round(r.max).toLocaleString('en')} | ${r.cpuPerFrameNs.toFixed(0)} ns | ${r.ratio.toFixed(2)} |`),
  ].join('\n')
  const md = [
    `## TX: 64-byte frames from one CPU`,
    '',
    `${rounds} round(s) of ${seconds} s per sender, interleaved; each pinned to CPU ${CPU}, frames counted by the kernel (nr1 tx_packets), CPU = CPU ${CPU} busy time (user + system + softirq, which includes the veth receive path). All senders bypass the qdisc (trafgen's default).`,
    '',
    table,
    '',
    `Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    '',
  ].join('\n')
  console.log(`\n${md}`)
  mkdirSync(join(__dirname, 'results'), { recursive: true })
  writeFileSync(join(__dirname, 'results', 'tx.json'), JSON.stringify({ machine: info, rounds, seconds, rows, runs: Object.fromEntries(results) }, null, 2) + '\n')
  writeFileSync(join(__dirname, 'results', 'tx.md'), md)
  writeReport(__dirname)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
