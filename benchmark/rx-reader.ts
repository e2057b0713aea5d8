/**
 * One RX reader for study.ts, run inside the benchmark's namespace and pinned to one
 * CPU. It reads nr0 one packet at a time (`for await`: ring-packet, int) or one
 * batch at a time (ring-batch), and prints one JSON line when it ends. ring-decode is
 * ring-packet reading each packet's IPv4 addresses, protocol and ports too (the decode
 * test's frames are IPv4/UDP); ring-decode-text reads the addresses as strings; ring-data
 * reads the same five fields by hand from `packet.data`.
 *
 *   run    counts until SIGTERM: packets, bytes, the capture's kernel statistics, its own
 *          CPU time, and the event loop's delay (monitorEventLoopDelay, 1 ms resolution)
 *          when `eventLoop` is set.
 *   drain  lets the ring fill until SIGUSR1, then empties it: packets, seconds, CPU time.
 *
 *   node --import tsx benchmark/rx-reader.ts int|ring-packet|ring-decode|ring-decode-text|ring-data|ring-batch [JSON options] [run|drain]
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

import { open, type CaptureOptions } from 'netring'

type Options = CaptureOptions & { eventLoop?: boolean }
const [mode, json = '{}', task = 'run'] = process.argv.slice(2)
const MODES = ['int', 'ring-packet', 'ring-decode', 'ring-decode-text', 'ring-data', 'ring-batch']
if (!MODES.includes(mode) || !['run', 'drain'].includes(task)) {
  console.error(`usage: rx-reader.ts ${MODES.join('|')} [JSON capture options] [run|drain]`)
  process.exit(2)
}
const { eventLoop = false, ...options } = JSON.parse(json) as Options

const capture = open(`${mode === 'int' ? 'int' : 'ring'}:nr0`, options)
let packets = 0
let bytes = 0
/** What the decoding readers read, summed so that no read can be left out. */
let fields = 0

/** Reads until `packets` reaches `target` (or the capture closes). */
async function read(target = Infinity): Promise<void> {
  if (mode === 'ring-batch') {
    for await (const batch of capture.batches()) {
      packets += batch.length
      for (const p of batch) bytes += p.length
      if (packets >= target) break
    }
  } else if (mode === 'ring-decode') {
    for await (const p of capture) {
      packets++
      bytes += p.length
      const ip = p.ipv4
      const udp = p.udp
      if (ip !== undefined && udp !== undefined) fields += ip.srcNumber ^ ip.dstNumber ^ ip.protocol ^ udp.srcPort ^ udp.dstPort
      if (packets >= target) break
    }
  } else if (mode === 'ring-decode-text') {
    for await (const p of capture) {
      packets++
      bytes += p.length
      const ip = p.ipv4
      const udp = p.udp
      if (ip !== undefined && udp !== undefined) fields += ip.src.length + ip.dst.length + ip.protocol + udp.srcPort + udp.dstPort
      if (packets >= target) break
    }
  } else if (mode === 'ring-data') {
    // Ethernet + a 20-byte IPv4 header: protocol at 23, addresses at 26 and 30, ports at 34 and 36.
    for await (const p of capture) {
      packets++
      bytes += p.length
      const d = p.data
      fields += d[23] ^ d.readUInt32BE(26) ^ d.readUInt32BE(30) ^ d.readUInt16BE(34) ^ d.readUInt16BE(36)
      if (packets >= target) break
    }
  } else {
    // One packet at a time, as a user's `for await` loop would (int: too).
    for await (const p of capture) {
      packets++
      bytes += p.length
      if (packets >= target) break
    }
  }
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since)
  return cpu.user + cpu.system
}

async function run(): Promise<void> {
  process.on('SIGTERM', () => capture.close())
  const delay = eventLoop ? monitorEventLoopDelay({ resolution: 1 }) : undefined
  delay?.enable()
  console.error('ready') // the socket is bound: the benchmark starts the generator
  const cpu0 = process.cpuUsage()
  await read()
  const cpu = cpuUs(cpu0)
  delay?.disable()
  const { received, dropped } = capture.stats()
  const ms = (ns: number): number => ns / 1e6
  const loop = delay && { p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max) }
  console.log(JSON.stringify({ packets, bytes, received, dropped, cpuUs: cpu, eventLoop: loop, fields }))
}

async function drain(): Promise<void> {
  const idle = setInterval(() => {}, 60_000) // a signal listener alone keeps no process alive
  await new Promise((resolve) => {
    process.once('SIGUSR1', resolve)
    console.error('ready')
  })
  clearInterval(idle)
  const target = capture.stats().received
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  await read(target)
  const seconds = (performance.now() - start) / 1000
  const cpu = cpuUs(cpu0)
  console.log(JSON.stringify({ packets, bytes, seconds, cpuUs: cpu, dropped: capture.stats().dropped }))
  capture.close()
}

void (task === 'drain' ? drain() : run())
