/**
 * netring fan-out example, self-contained: makes a throwaway network namespace with a
 * veth pair, opens a PACKET_FANOUT group of worker threads on one end (`openFanout`), each
 * running examples/fanout-handler.mjs, sends UDP traffic of many flows into the other end
 * through the TX ring, and prints every worker's share each second. Removes the namespace
 * when done, even on Ctrl-C.
 *
 *   node --import tsx examples/fanout.ts                  # 4 workers, mode hash, 64 flows, 5 s
 *   node --import tsx examples/fanout.ts --workers 2 --mode lb --flows 8 --seconds 10
 *
 * Needs root (CAP_NET_ADMIN for the namespace, CAP_NET_RAW for the sockets) and a built
 * netring (`npm run build`): the workers run the compiled fanout.js.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { openFanout, openTx, type FanoutMode } from 'netring'
import { runInNetns, type Netns } from './netns'

const MODES: readonly FanoutMode[] = ['hash', 'lb', 'cpu', 'rollover', 'random', 'queue']
const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    mode: { type: 'string', default: 'hash' },
    flows: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
  },
})
const workers = Number(values.workers)
const flows = Number(values.flows)
const seconds = Number(values.seconds)
const mode = values.mode as FanoutMode
if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new RangeError(`--workers ${values.workers} must be from 1 to 64`)
if (!MODES.includes(mode)) throw new TypeError(`--mode ${values.mode} must be one of ${MODES.join(', ')}`)
if (!Number.isInteger(flows) || flows < 1 || flows > 65535) throw new RangeError(`--flows ${values.flows} must be from 1 to 65535`)
if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`--seconds ${values.seconds} must be a whole number ≥ 1`)

/** A 64-byte Ethernet + IPv4 + UDP frame of flow `i`: 198.18.x.y:(10000 + i) → 198.19.0.1:5000.
 * The UDP checksum is left 0 (none), which IPv4 allows. */
function udpFrame(i: number, dstMac: Buffer): Buffer {
  const f = Buffer.alloc(64)
  dstMac.copy(f, 0)
  Buffer.from('020000000002', 'hex').copy(f, 6)
  f.writeUInt16BE(0x0800, 12)
  const ipHeader = f.subarray(14, 34)
  ipHeader[0] = 0x45
  ipHeader.writeUInt16BE(64 - 14, 2)
  ipHeader[8] = 64 // TTL
  ipHeader[9] = 17 // UDP
  Buffer.from([198, 18, (i >> 8) & 0xff, i & 0xff]).copy(ipHeader, 12)
  Buffer.from([198, 19, 0, 1]).copy(ipHeader, 16)
  let sum = 0
  for (let o = 0; o < 20; o += 2) sum += ipHeader.readUInt16BE(o)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  ipHeader.writeUInt16BE(~sum & 0xffff, 10)
  f.writeUInt16BE(10000 + (i % 50000), 34) // source port
  f.writeUInt16BE(5000, 36) // destination port
  f.writeUInt16BE(64 - 34, 38) // UDP length
  return f
}

interface WorkerResult {
  worker: number
  packets: number
  bytes: number
  flows: string[]
}

async function main(netns: Netns): Promise<void> {
  const ns = netns.name
  const mac = Buffer.from((JSON.parse(netns.ip('-j', 'link', 'show', 'nr0'))[0].address as string).split(':').map((h) => parseInt(h, 16)))

  const group = await openFanout('nr0', {
    netns: ns,
    workers,
    handler: join(__dirname, 'fanout-handler.mjs'),
    fanout: { mode },
  })
  console.log(`namespace ${ns}: ${workers} workers in fanout group ${group.group} (mode ${mode}) on nr0; ${flows} UDP flows into nr1 for ${seconds} s`)

  const tx = openTx('nr1', { netns: ns })
  const frames = Array.from({ length: flows }, (_, i) => udpFrame(i, mac))
  let running = true
  const sending = (async () => {
    // Bursts of 256 frames that go round all the flows.
    let next = 0
    const burst = (): Buffer[] => Array.from({ length: 256 }, () => frames[next++ % frames.length])
    while (running) await tx.sendBatch(burst())
    await tx.close()
  })()

  let last = new Array<number>(workers).fill(0)
  for (let second = 1; second <= seconds; second++) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const { workers: each, total } = await group.stats()
    const rates = each.map((s, i) => (s.delivered - last[i]).toLocaleString().padStart(10))
    last = each.map((s) => s.delivered)
    console.log(`${String(second).padStart(3)} s  per worker pkt/s ${rates.join(' ')}   dropped ${total.dropped}`)
  }
  running = false
  await sending
  // The last frames reach the rings; a ring block is handed over at the latest after its timeout.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const report = await group.close()
  const results = report.results as WorkerResult[]
  const owners = new Map<string, number>()
  for (const r of results) for (const flow of r.flows) owners.set(flow, (owners.get(flow) ?? 0) + 1)
  const shared = [...owners.values()].filter((n) => n > 1).length
  console.log('worker   packets     share   flows')
  for (const r of results) {
    const share = ((100 * r.packets) / Math.max(1, report.total.delivered)).toFixed(1)
    console.log(`${String(r.worker).padStart(6)} ${r.packets.toLocaleString().padStart(10)} ${share.padStart(8)}%  ${String(r.flows.length).padStart(6)}`)
  }
  console.log(
    `sent ${tx.stats().sent.toLocaleString()}, received ${report.total.received.toLocaleString()}, dropped ${report.total.dropped}, ` +
      `handled ${report.total.delivered.toLocaleString()}; flows seen by more than one worker: ${shared}`,
  )
}

runInNetns(`netring-fanout-${process.pid}`, main)
