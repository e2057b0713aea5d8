/**
 * Per-IP bandwidth top: every second, a table of the busiest source addresses on an
 * interface (bits/s and packets/s), redrawn in place on a terminal.
 *
 *   node --import tsx examples/bandwidth-top.ts --iface eth0 [--netns NS] [--seconds N] [--top 10]
 *   node --import tsx examples/bandwidth-top.ts            # demo: a throwaway namespace
 *
 * The demo sends built UDP frames from three source addresses at three rates into nr1
 * and measures them on nr0. Needs root.
 */
import { parseArgs } from 'node:util'

import { openRing, openTx, Template } from 'netring'
import { runInNetns, type Netns } from './netns'

const { values } = parseArgs({
  options: { iface: { type: 'string' }, netns: { type: 'string' }, seconds: { type: 'string' }, top: { type: 'string', default: '10' } },
})
const seconds = values.seconds === undefined ? undefined : Number(values.seconds)
const top = Number(values.top)

/** Bytes and packets per source address, since the last table. */
type Counts = Map<string, { bytes: number; packets: number }>

function table(counts: Counts, elapsed: number): string {
  const rows = [...counts].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)
  const lines = [`${'source'.padEnd(40)} ${'Mbit/s'.padStart(10)} ${'packets/s'.padStart(10)}`]
  for (const [ip, c] of rows) lines.push(`${ip.padEnd(40)} ${((c.bytes * 8) / elapsed / 1e6).toFixed(2).padStart(10)} ${Math.round(c.packets / elapsed).toString().padStart(10)}`)
  return lines.join('\n')
}

async function run(iface: string, netns: string | undefined, limit: number | undefined): Promise<void> {
  const capture = openRing(iface, { netns })
  let counts: Counts = new Map()
  let last = performance.now()
  let ticks = 0
  const timer = setInterval(() => {
    const now = performance.now()
    const text = table(counts, (now - last) / 1000)
    // Redraw in place on a terminal; one table after another into a pipe.
    process.stdout.write(process.stdout.isTTY ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`)
    counts = new Map()
    last = now
    if (limit !== undefined && ++ticks >= limit) void capture.close()
  }, 1000)
  process.once('SIGINT', () => void capture.close())
  try {
    for await (const batch of capture.batches()) {
      for (const p of batch) {
        const src = p.ip?.src ?? p.arp?.senderIp ?? 'non-IP'
        const c = counts.get(src)
        if (c === undefined) counts.set(src, { bytes: p.length, packets: 1 })
        else {
          c.bytes += p.length
          c.packets++
        }
      }
    }
  } finally {
    clearInterval(timer)
  }
}

async function demo(netns: Netns): Promise<void> {
  const tx = openTx('nr1', { netns: netns.name })
  // Three senders: 10.0.0.1 sends 1000-byte frames 8 times per round, .2 four, .3 one.
  const flows = [
    { src: '10.0.0.1', weight: 8 },
    { src: '10.0.0.2', weight: 4 },
    { src: '10.0.0.3', weight: 1 },
  ].map(({ src, weight }) => ({
    weight,
    t: new Template([{ ethernet: { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' } }, { ipv4: { src, dst: '10.0.0.9' } }, { udp: { srcPort: 5000, dstPort: 5001 } }, { payload: Buffer.alloc(958) }]),
  }))
  let running = true
  const sending = (async () => {
    let id = 0
    while (running) {
      const batch: Buffer[] = []
      for (const f of flows) for (let k = 0; k < f.weight; k++, id = (id + 1) & 0xffff) {
        f.t.set('ipv4.id', id)
        batch.push(Buffer.from(f.t.frame))
      }
      await tx.sendBatch(batch)
      await new Promise((r) => setTimeout(r, 1)) // tens of Mbit/s, not line rate
    }
    await tx.close()
  })()
  await run('nr0', netns.name, seconds ?? 3)
  running = false
  await sending
}

if (values.iface !== undefined) void run(values.iface, values.netns, seconds)
else runInNetns(`netring-top-${process.pid}`, demo)
