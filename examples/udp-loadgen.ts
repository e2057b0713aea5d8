/**
 * UDP load generator: sends UDP datagrams as fast as the TX ring takes them (or at
 * --pps), each with the next source port, so each with a fresh checksum: one `Template`
 * per ring batch slot, patched in place with `set()` (RFC 1624), so the loop allocates
 * nothing per frame. Prints frames/s each second.
 *
 *   node --import tsx examples/udp-loadgen.ts --iface eth0 --src 10.0.0.1 --dst 10.0.0.2 --dst-mac aa:bb:cc:dd:ee:ff
 *        [--netns NS] [--port 9] [--size 60] [--pps N] [--seconds N]
 *   node --import tsx examples/udp-loadgen.ts            # demo: two throwaway namespaces
 *
 * The source MAC is the interface's (`interfaces()`); `--size` is the Ethernet frame's
 * length without FCS, at most the MTU + 14. The demo sends for 3 s from nr1 to the peer
 * namespace and compares with the peer's received counters. Needs root.
 */
import { parseArgs } from 'node:util'

import { interfaces, openTx, Template } from 'netring'
import { makePeerNetns, PEER_IP, runInNetns, SELF_IP, type PeerNetns } from './netns'

const { values } = parseArgs({
  options: {
    iface: { type: 'string' },
    netns: { type: 'string' },
    src: { type: 'string' },
    dst: { type: 'string' },
    'dst-mac': { type: 'string' },
    port: { type: 'string', default: '9' },
    size: { type: 'string', default: '60' },
    pps: { type: 'string' },
    seconds: { type: 'string' },
  },
})

interface Load {
  iface: string
  netns?: string
  src: string
  dst: string
  dstMac: string
  port: number
  size: number
  pps?: number
  seconds?: number
}

const BATCH = 256

/** Sends until `seconds` pass (or Ctrl-C); returns the frames sent. */
export async function generate(load: Load): Promise<number> {
  const link = interfaces({ netns: load.netns }).find((i) => i.name === load.iface)
  if (link === undefined) throw new Error(`no interface ${load.iface}`)
  const payload = load.size - 14 - 20 - 8
  if (payload < 0) throw new RangeError(`--size ${load.size} must be at least 42 (Ethernet + IPv4 + UDP headers)`)
  const spec = [
    { ethernet: { src: link.mac, dst: load.dstMac } },
    { ipv4: { src: load.src, dst: load.dst } },
    { udp: { srcPort: 1024, dstPort: load.port } },
    { payload: Buffer.alloc(payload) },
  ]
  // build() checks every field and the MTU once; after that only set() runs per frame.
  const templates = Array.from({ length: BATCH }, () => new Template(spec, { mtu: link.mtu }))
  const frames = templates.map((t) => t.frame)
  const tx = openTx(`ring:${load.iface}`, { netns: load.netns, qdiscBypass: true })
  let running = true
  process.once('SIGINT', () => (running = false))
  const end = load.seconds === undefined ? Infinity : performance.now() + load.seconds * 1000
  let port = 1024
  let sent = 0
  let lastSent = 0
  const report = setInterval(() => {
    console.log(`${(sent - lastSent).toLocaleString('en').padStart(12)} frames/s`)
    lastSent = sent
  }, 1000)
  try {
    const started = performance.now()
    while (running && performance.now() < end) {
      for (let i = 0; i < BATCH; i++) {
        templates[i].set('udp.srcPort', port)
        port = port === 65535 ? 1024 : port + 1
      }
      await tx.sendBatch(frames)
      sent += BATCH
      if (load.pps !== undefined) {
        const ahead = sent / load.pps - (performance.now() - started) / 1000
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000))
      }
    }
  } finally {
    clearInterval(report)
    await tx.close()
  }
  return sent
}

async function demo(ns: PeerNetns): Promise<void> {
  const rx = (): number => interfaces({ netns: ns.peer }).find((i) => i.name === 'nr0')!.counters!.rxPackets
  const before = rx()
  const sent = await generate({ iface: 'nr1', netns: ns.name, src: SELF_IP, dst: PEER_IP, dstMac: ns.peerMac, port: 9, size: Number(values.size), pps: values.pps === undefined ? undefined : Number(values.pps), seconds: Number(values.seconds ?? 3) })
  await new Promise((r) => setTimeout(r, 200))
  console.log(`sent ${sent.toLocaleString('en')} frames; the peer's nr0 received ${(rx() - before).toLocaleString('en')}`)
}

if (values.iface !== undefined) {
  const need = (name: 'src' | 'dst' | 'dst-mac'): string => {
    const v = values[name]
    if (v === undefined) throw new TypeError(`--${name} is needed with --iface`)
    return v
  }
  generate({
    iface: values.iface,
    netns: values.netns,
    src: need('src'),
    dst: need('dst'),
    dstMac: need('dst-mac'),
    port: Number(values.port),
    size: Number(values.size),
    pps: values.pps === undefined ? undefined : Number(values.pps),
    seconds: values.seconds === undefined ? undefined : Number(values.seconds),
  }).then(
    (sent) => console.log(`sent ${sent.toLocaleString('en')} frames`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error)
      process.exitCode = 1
    },
  )
} else {
  runInNetns<PeerNetns>(`netring-load-${process.pid}`, demo, makePeerNetns)
}
