/**
 * One TX contender, run by tx.ts inside the benchmark's namespace and pinned to one CPU
 * (and study.ts's second generator): sends frames of SIZE bytes (default 64, without the
 * FCS) on nr1 as fast as it can until SIGTERM.
 *
 *   node --import tsx benchmark/tx-sender.ts ring-batch|ring-send|int-batch|int-send [SIZE]
 */
import { openTx } from 'netring'

const [mode, size = '64'] = process.argv.slice(2)
const [scheme, style] = mode?.split('-') ?? []
if (!['ring', 'int'].includes(scheme) || !['batch', 'send'].includes(style) || !(Number(size) >= 14)) {
  console.error('usage: tx-sender.ts ring-batch|ring-send|int-batch|int-send [SIZE]')
  process.exit(2)
}

const frame = Buffer.alloc(Number(size))
Buffer.from('02000000000102000000000288b5', 'hex').copy(frame) // dst, src, ethertype 0x88b5
const batch = Array.from({ length: 256 }, () => frame)
// Like trafgen's default: frames go straight to the driver (PACKET_QDISC_BYPASS).
const tx = openTx(`${scheme}:nr1`, { qdiscBypass: true, ...(scheme === 'ring' ? { frameCount: 4096 } : {}) })
let running = true
process.on('SIGTERM', () => (running = false))

async function main(): Promise<void> {
  if (style === 'batch') while (running) await tx.sendBatch(batch)
  else while (running) await tx.send(frame)
  await tx.close()
}
void main()
