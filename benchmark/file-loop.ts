/**
 * What a loop costs per packet without the kernel's ring: the study's readers over a pcap
 * file of identical IPv4/UDP frames (`pcapfile:`, 1024 packets a batch), beside the bare
 * `for await` floor. Every run reads the same bytes from the page cache, so the figures
 * repeat to a few ns where live runs move by 10–40 %: for comparing changes to the
 * JavaScript side. They include reading and parsing the file; the study measures the
 * real thing.
 *
 *   node --import tsx benchmark/file-loop.ts [FRAME SIZE, default 64] [RUNS, default 8]
 *
 * Prints, per reader, the CPU per packet of each run and the least.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { build, LinkType, open, type Packet } from 'netring'

import { pcap } from '../__test__/helpers/frames'
import { source } from './floor'

const size = Number(process.argv[2] ?? 64)
const runs = Number(process.argv[3] ?? 8)
const PACKETS = 500_000
const FCS = 4

/** A pcap file of PACKETS copies of one `size`-byte frame (with FCS), made once. */
function file(): string {
  const path = join(tmpdir(), `netring-file-loop-${size}.pcap`)
  if (existsSync(path)) return path
  const frame = build([
    { ethernet: { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' } },
    { ipv4: { src: '10.0.0.1', dst: '10.0.0.2' } },
    { udp: { srcPort: 1234, dstPort: 5678 } },
    { payload: Buffer.alloc(size - FCS - 42) },
  ])
  writeFileSync(path, pcap(LinkType.ETHERNET, new Array<Buffer>(PACKETS).fill(frame)))
  return path
}

type Loop = (packets: AsyncIterable<Packet>) => Promise<number>

const readers: Record<string, Loop | 'batches'> = {
  'for await': async (packets) => {
    let sum = 0
    for await (const p of packets) sum += p.length
    return sum
  },
  'for await + ipv4/udp fields': async (packets) => {
    let sum = 0
    for await (const p of packets) {
      const ip = p.ipv4
      const udp = p.udp
      if (ip !== undefined && udp !== undefined) sum += ip.srcNumber ^ ip.dstNumber ^ ip.protocol ^ udp.srcPort ^ udp.dstPort
    }
    return sum
  },
  'for await + packet.data': async (packets) => {
    let sum = 0
    for await (const p of packets) {
      const d = p.data
      sum += d[23] ^ d.readUInt32BE(26) ^ d.readUInt32BE(30) ^ d.readUInt16BE(34) ^ d.readUInt16BE(36)
    }
    return sum
  },
  batches: 'batches',
}

/** The same `for await` over pre-made objects: the floor (benchmark/floor.ts). */
async function floor(): Promise<number> {
  let sum = 0
  for await (const p of source(PACKETS)) sum += p.length
  return sum
}

async function perPacketNs(reader: Loop | 'batches' | 'floor', path: string): Promise<number> {
  const cpu0 = process.cpuUsage()
  if (reader === 'floor') await floor()
  else {
    const capture = open(`pcapfile:${path}`)
    if (reader === 'batches') {
      let sum = 0
      for await (const batch of capture.batches()) for (const p of batch) sum += p.length
    } else await reader(capture)
  }
  const cpu = process.cpuUsage(cpu0)
  return ((cpu.user + cpu.system) * 1000) / PACKETS
}

async function main(): Promise<void> {
  const path = file()
  for (const [name, reader] of [['floor', 'floor'], ...Object.entries(readers)] as const) {
    const ns: number[] = []
    for (let run = 0; run < runs; run++) ns.push(await perPacketNs(reader, path))
    console.log(`${name.padEnd(28)} ${ns.map((x) => x.toFixed(0).padStart(4)).join(' ')}   least ${Math.min(...ns).toFixed(0)} ns/packet`)
  }
}

void main()
