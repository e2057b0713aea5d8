/**
 * Build-and-send benchmark: 60-byte IPv4/UDP frames per second onto a veth pair from one
 * CPU, each frame with a new source port and so a fresh UDP checksum, for
 *   trafgen     (netsniff-ng: `dinc()` on the port, `csumip`/`csumudp` recomputed per frame)
 *   netring Template    (`Template.set('udp.srcPort')`, RFC 1624 incremental, TX ring sendBatch of 256)
 *   netring buildInto   (the whole frame built from its spec per frame, TX ring sendBatch of 256)
 * First every contender's frames are captured on nr0 and each must equal `build()` of the
 * same spec with the port it carries (so trafgen and netring send the same bytes, with good
 * checksums); then interleaved rounds, pinned to CPU 0 as tx.ts does, counted by nr1's
 * tx_packets.
 *
 *   node --import tsx benchmark/build.ts [--quick] [--rounds N] [--seconds S]
 */
import { type ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { build, openRing, type LayerSpec } from 'netring'
import { A, B, counter, cpuTimes, machine, makeNetns, median, pinnedIn, sleep, stop } from './lib/env'
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
const CPU = 0 // as tx.ts: trafgen pins its worker to CPU 0 whatever taskset says
const WARMUP_MS = 500

/** The frame every contender sends (build-sender.ts has the same spec). */
const spec = (srcPort: number): LayerSpec[] => [
  { ethernet: { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' } },
  { ipv4: { src: '10.0.0.1', dst: '10.0.0.2' } },
  { udp: { srcPort, dstPort: 9 } },
  { payload: Buffer.alloc(18) },
]

const trafgenConfig = join(tmpdir(), `netring-bench-build-${process.pid}.cfg`)
writeFileSync(
  trafgenConfig,
  `{
  0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
  0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, csumip(14, 33),
  0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
  0x04, dinc(0, 255), 0x00, 0x09, 0x00, 0x1a, csumudp(14, 34),
  fill(0x00, 18)
}
`,
)

interface Contender {
  name: string
  start(ns: string): ChildProcess
}
const pinned = (ns: string, cmd: string[]): ChildProcess => pinnedIn(ns, CPU, cmd)
const node = (mode: string) => (ns: string) => pinned(ns, [process.execPath, '--import', 'tsx', join(__dirname, 'build-sender.ts'), mode])
const contenders: Contender[] = [
  { name: 'trafgen (dinc + csumudp)', start: (ns) => pinned(ns, ['trafgen', '--dev', B, '--conf', trafgenConfig, '--cpus', '1']) },
  { name: 'netring Template.set', start: node('template') },
  { name: 'netring buildInto', start: node('buildInto') },
]

async function ready(ns: string, child: ChildProcess, name: string): Promise<void> {
  const start = counter(ns, B, 'tx_packets')
  for (let tries = 0; tries < 200; tries++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before sending`)
    if (counter(ns, B, 'tx_packets') > start) return
    await sleep(50)
  }
  throw new Error(`${name} sent nothing within 10 s`)
}

/** Captures 2000 of the contender's frames on nr0: each must be `build(spec(its port))`. */
async function agree(ns: string, c: Contender): Promise<void> {
  const capture = openRing(A, { netns: ns })
  const child = c.start(ns)
  try {
    let checked = 0
    const ports = new Set<number>()
    for await (const p of capture) {
      const port = p.udp?.srcPort
      if (port === undefined || !p.data.equals(build(spec(port)))) throw new Error(`${c.name} sent a frame that is not the spec's: ${p.data.toString('hex')}`)
      ports.add(port)
      if (++checked === 2000) break
    }
    if (ports.size < 200) throw new Error(`${c.name}: only ${ports.size} distinct ports in 2000 frames`)
    console.log(`${c.name.padEnd(26)} 2000 frames equal build() of their spec, ${ports.size} ports`)
  } finally {
    await stop(child)
    await capture.close()
  }
}

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
    for (const c of contenders) await agree(ns.name, c)
    for (let round = 1; round <= rounds; round++) {
      for (const c of contenders) {
        const r = await run(ns.name, c)
        results.get(c.name)!.push(r)
        console.log(`round ${round}/${rounds}  ${c.name.padEnd(26)} ${Math.round(r.pps).toLocaleString().padStart(11)} frames/s  ${r.cpuPerFrameNs.toFixed(0)} ns CPU/frame`)
      }
    }
  } finally {
    ns.remove()
    rmSync(trafgenConfig, { force: true })
  }
  const base = results.get(contenders[0].name)!.map((r) => r.pps)
  const rows = contenders.map((c) => {
    const runs = results.get(c.name)!
    const pps = runs.map((r) => r.pps)
    const perRound = pps.map((p, i) => p / base[i])
    return {
      name: c.name,
      median: median(pps),
      min: Math.min(...pps),
      max: Math.max(...pps),
      cpuPerFrameNs: median(runs.map((r) => r.cpuPerFrameNs)),
      ratio: median(pps) / median(base),
      roundRatio: median(perRound),
      roundMin: Math.min(...perRound),
      roundMax: Math.max(...perRound),
    }
  })
  const info = machine()
  const table = [
    '| sender | frames/s (median) | min – max | CPU per frame | × trafgen (medians) | × trafgen per round: median (range) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.median).toLocaleString('en')} | ${Math.round(r.min).toLocaleString('en')} – ${Math.round(r.max).toLocaleString('en')} | ${r.cpuPerFrameNs.toFixed(0)} ns | ${r.ratio.toFixed(2)} | ${r.roundRatio.toFixed(2)} (${r.roundMin.toFixed(2)} – ${r.roundMax.toFixed(2)}) |`,
    ),
  ].join('\n')
  const md = [
    '## Build and send: 60-byte IPv4/UDP frames with a fresh checksum each, from one CPU',
    '',
    `${rounds} round(s) of ${seconds} s per sender, interleaved; each pinned to CPU ${CPU}, frames counted by the kernel (nr1 tx_packets), CPU = CPU ${CPU} busy time (user + system + softirq, with the veth receive path). Every frame carries a new UDP source port, so a new UDP checksum: trafgen by \`dinc()\` and \`csumip\`/\`csumudp\` recomputed per frame, netring by \`Template.set\` (RFC 1624) or a whole \`buildInto\` per frame; both through PACKET_MMAP TX rings with the qdisc bypassed, netring in batches of 256. Before timing, 2000 frames of each were captured and each equals \`build()\` of the spec with its port. The per-round ratio compares runs seconds apart, so load from other work on the machine moves it less than the medians.`,
    '',
    table,
    '',
    `Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    '',
  ].join('\n')
  console.log(`\n${md}`)
  mkdirSync(join(__dirname, 'results'), { recursive: true })
  writeFileSync(join(__dirname, 'results', 'build.json'), JSON.stringify({ machine: info, rounds, seconds, rows, runs: Object.fromEntries(results) }, null, 2) + '\n')
  writeFileSync(join(__dirname, 'results', 'build.md'), md)
  writeReport(__dirname)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
