/**
 * DNS query logger: prints one line per DNS message seen on an interface (UDP and TCP
 * port 53, mDNS 5353), as `packet.dns` decodes it.
 *
 *   node --import tsx examples/dns-logger.ts --iface eth0 [--netns NS] [--seconds N]
 *   node --import tsx examples/dns-logger.ts            # demo: a throwaway namespace
 *
 * The demo makes a namespace with a veth pair, sends built DNS queries and responses
 * into nr1 (`build` with a `dns` layer) and logs what arrives on nr0. Needs root.
 */
import { parseArgs } from 'node:util'

import { build, openRing, openTx, type DnsMessage, type Packet } from 'netring'
import { runInNetns, type Netns } from './netns'

const { values } = parseArgs({ options: { iface: { type: 'string' }, netns: { type: 'string' }, seconds: { type: 'string' } } })
const seconds = values.seconds === undefined ? undefined : Number(values.seconds)

/** `12:00:01.123 10.0.0.1:40000 > 10.0.0.2:53 query 0x1a2b A example.com` (+ answers on a response). */
export function line(p: Packet, dns: DnsMessage): string {
  const ip = p.ip
  const port = p.udp ?? p.tcp
  const time = new Date(Number(p.timestamp / 1_000_000n)).toISOString().slice(11, 23)
  const q = dns.questions.map((x) => `${x.typeName} ${x.name}`).join(', ')
  const answers = dns.answers.map((a) => `${a.typeName} ${typeof a.data === 'string' ? a.data : JSON.stringify(a.data)}`).join(', ')
  const id = `0x${dns.id.toString(16).padStart(4, '0')}`
  return `${time} ${ip?.src}:${port?.srcPort} > ${ip?.dst}:${port?.dstPort} ${dns.response ? 'response' : 'query'} ${id} ${q}${dns.response ? ` -> ${answers || `rcode ${dns.rcode}`}` : ''}`
}

async function log(iface: string, netns: string | undefined, until: Promise<void>): Promise<void> {
  const capture = openRing(iface, { netns })
  void until.then(() => capture.close())
  for await (const p of capture) {
    const dns = p.dns
    if (dns !== undefined) console.log(line(p, dns))
  }
}

const stopAfter = (s: number | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (s !== undefined) setTimeout(resolve, s * 1000)
    process.once('SIGINT', () => resolve())
  })

async function demo(netns: Netns): Promise<void> {
  const eth = { ethernet: { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' } }
  const names = ['example.com', 'netring.dev', 'nodejs.org']
  const frames = names.flatMap((name, i) => [
    build([eth, { ipv4: { src: '10.0.0.1', dst: '10.0.0.53' } }, { udp: { srcPort: 40000 + i, dstPort: 53 } }, { dns: { id: 0x100 + i, questions: [{ name, type: 'A' }] } }]),
    build([
      eth,
      { ipv4: { src: '10.0.0.53', dst: '10.0.0.1' } },
      { udp: { srcPort: 53, dstPort: 40000 + i } },
      { dns: { id: 0x100 + i, questions: [{ name, type: 'A' }], answers: [{ name, type: 'A', ttl: 60, data: `192.0.2.${i + 1}` }] } },
    ]),
  ])
  const done = stopAfter(seconds ?? 2)
  const logging = log('nr0', netns.name, done)
  const tx = openTx('nr1', { netns: netns.name })
  await new Promise((r) => setTimeout(r, 100)) // the capture is open before we send
  await tx.sendBatch(frames)
  await tx.close()
  await logging
}

if (values.iface !== undefined) void log(values.iface, values.netns, stopAfter(seconds))
else runInNetns(`netring-dns-${process.pid}`, demo)
