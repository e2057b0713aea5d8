/**
 * netring demo, self-contained: makes a throwaway network namespace with a veth pair,
 * sends frames into one end through the TX ring, captures them on the other through the
 * RX ring, and prints per-second counts. Removes the namespace when done, even on Ctrl-C.
 *
 *   npm run demo                      # 5 seconds of 64-byte frames
 *   npm run demo -- --seconds 10 --size 1518
 *
 * Needs root (CAP_NET_ADMIN for the namespace, CAP_NET_RAW for the sockets).
 */
import { parseArgs } from 'node:util'

import { openRing, openTx } from 'netring'
import { runInNetns, type Netns } from './netns'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    size: { type: 'string', default: '64' },
  },
})
const seconds = Number(values.seconds)
const size = Number(values.size)
if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`--seconds ${values.seconds} must be a whole number ≥ 1`)
if (!Number.isInteger(size) || size < 60 || size > 1514) throw new RangeError(`--size ${values.size} must be from 60 to 1514`)

async function main(netns: Netns): Promise<void> {
  const ns = netns.name
  console.log(`namespace ${ns}: veth nr1 → nr0; sending ${size}-byte frames through the TX ring for ${seconds} s`)

  const capture = openRing('nr0', { netns: ns })
  const tx = openTx('nr1', { netns: ns })
  const frame = Buffer.alloc(size)
  Buffer.from('02000000000102000000000288b5', 'hex').copy(frame) // dst, src, ethertype 0x88b5

  let running = true
  const sending = (async () => {
    const burst = Array.from({ length: 256 }, () => frame)
    while (running) await tx.sendBatch(burst)
    await tx.close()
  })()

  let packets = 0
  let bytes = 0
  let second = 0
  let last = { packets: 0, bytes: 0 }
  const ticker = setInterval(() => {
    second++
    const pps = packets - last.packets
    const mbit = ((bytes - last.bytes) * 8) / 1e6
    const { dropped } = capture.stats()
    console.log(`${String(second).padStart(3)} s  ${pps.toLocaleString().padStart(11)} pkt/s  ${mbit.toFixed(1).padStart(8)} Mbit/s  total ${packets.toLocaleString()}  dropped ${dropped}`)
    last = { packets, bytes }
    if (second === seconds) {
      running = false
      clearInterval(ticker)
    }
  }, 1000)

  const counting = (async () => {
    for await (const batch of capture.batches()) {
      packets += batch.length
      for (const p of batch) bytes += p.length
    }
  })()

  await sending
  // Let the last frames arrive: the TX side drained on close, and a ring block is handed
  // over at the latest after its timeout.
  await new Promise((resolve) => setTimeout(resolve, 100))
  capture.close()
  await counting
  const sent = tx.stats().sent
  const { received, dropped } = capture.stats()
  console.log(`sent ${sent.toLocaleString()}, captured ${packets.toLocaleString()}, kernel received ${received.toLocaleString()}, dropped ${dropped}`)
}

runInNetns(`netring-demo-${process.pid}`, main)
