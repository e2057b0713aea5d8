/**
 * One contender of build.ts, run inside the benchmark's namespace and pinned to one CPU:
 * sends 60-byte IPv4/UDP frames on nr1 through the TX ring (batches of 256) until
 * SIGTERM, each with a new source port and so a fresh UDP checksum:
 *
 *   template   256 `Template`s, each patched per frame (`set('udp.srcPort')`: RFC 1624)
 *   buildInto  every frame built from its spec into one of 256 reused buffers (full checksums)
 *
 *   node --import tsx benchmark/build-sender.ts template|buildInto
 */
import { build, buildInto, openTx, Template, type LayerSpec } from 'netring'

const mode = process.argv[2]
if (mode !== 'template' && mode !== 'buildInto') {
  console.error('usage: build-sender.ts template|buildInto')
  process.exit(2)
}

/** The frame trafgen sends too (build.ts): 60 bytes, 18 zero bytes of UDP data. */
const spec = (srcPort: number): LayerSpec[] => [
  { ethernet: { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' } },
  { ipv4: { src: '10.0.0.1', dst: '10.0.0.2' } },
  { udp: { srcPort, dstPort: 9 } },
  { payload: Buffer.alloc(18) },
]

const BATCH = 256
const tx = openTx('ring:nr1', { qdiscBypass: true, frameCount: 4096 })
let running = true
process.on('SIGTERM', () => (running = false))

async function main(): Promise<void> {
  let port = 1024
  const next = (): number => (port = port === 65535 ? 1024 : port + 1)
  if (mode === 'template') {
    const templates = Array.from({ length: BATCH }, () => new Template(spec(port)))
    const frames = templates.map((t) => t.frame)
    // Agree before timing: a patched frame is the frame built from scratch.
    templates[0].set('udp.srcPort', 4242)
    if (!templates[0].frame.equals(build(spec(4242)))) throw new Error('Template frame differs from build()')
    while (running) {
      for (let i = 0; i < BATCH; i++) templates[i].set('udp.srcPort', next())
      await tx.sendBatch(frames)
    }
  } else {
    const frames = Array.from({ length: BATCH }, () => Buffer.alloc(60))
    const specs = Array.from({ length: BATCH }, () => spec(0))
    const udp = specs.map((s) => (s[2] as { udp: { srcPort: number; dstPort: number } }).udp)
    while (running) {
      for (let i = 0; i < BATCH; i++) {
        udp[i].srcPort = next()
        buildInto(frames[i], specs[i])
      }
      await tx.sendBatch(frames)
    }
  }
  await tx.close()
}
void main()
