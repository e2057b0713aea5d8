/**
 * ARP scanner: asks every address of an interface's IPv4 subnet who has it (built ARP
 * requests through the TX ring) and prints each host that answers, with its MAC.
 *
 *   node --import tsx examples/arp-scan.ts --iface eth0 [--netns NS] [--wait 1]
 *   node --import tsx examples/arp-scan.ts            # demo: two throwaway namespaces
 *
 * The interface's address, prefix and MAC come from `interfaces()`. Subnets larger than
 * a /16 are refused. The demo scans 10.89.0.0/24 from nr1, where the peer namespace
 * answers for 10.89.0.2, .7 and .42. Needs root.
 */
import { parseArgs } from 'node:util'

import { build, interfaces, openRing, openTx } from 'netring'
import { makePeerNetns, runInNetns, type PeerNetns } from './netns'

const { values } = parseArgs({ options: { iface: { type: 'string' }, netns: { type: 'string' }, wait: { type: 'string', default: '1' } } })

const toNumber = (ip: string): number => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
const toText = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')

/** Scans `iface`'s first IPv4 subnet; returns the hosts that answered, by address. */
export async function scan(iface: string, netns: string | undefined, waitSeconds: number): Promise<Map<string, string>> {
  const link = interfaces({ netns }).find((i) => i.name === iface)
  if (link === undefined) throw new Error(`no interface ${iface}${netns === undefined ? '' : ` in namespace ${netns}`}`)
  const own = link.addresses.find((a) => a.family === 'IPv4')
  if (own === undefined) throw new Error(`${iface} has no IPv4 address`)
  if (own.prefixLength < 16) throw new RangeError(`${own.address}/${own.prefixLength}: subnets larger than a /16 are not scanned`)
  const size = 2 ** (32 - own.prefixLength)
  const base = toNumber(own.address) - (toNumber(own.address) % size)

  const capture = openRing(iface, { netns })
  const tx = openTx(`ring:${iface}`, { netns })
  const found = new Map<string, string>()
  const reading = (async () => {
    for await (const p of capture) {
      const arp = p.arp
      if (arp?.operation === 2 && arp.targetIp === own.address) found.set(arp.senderIp, arp.senderMac)
    }
  })()
  const requests: Buffer[] = []
  for (let host = base + 1; host < base + size - 1; host++) {
    if (toText(host) === own.address) continue
    requests.push(
      build([
        { ethernet: { src: link.mac, dst: 'ff:ff:ff:ff:ff:ff' } },
        { arp: { operation: 'request', senderMac: link.mac, senderIp: own.address, targetIp: toText(host) } },
      ]),
    )
  }
  await tx.sendBatch(requests)
  await tx.close()
  await new Promise((r) => setTimeout(r, waitSeconds * 1000))
  await capture.close()
  await reading
  return found
}

async function main(iface: string, netns: string | undefined): Promise<void> {
  const started = performance.now()
  const found = await scan(iface, netns, Number(values.wait))
  const sorted = [...found].sort((a, b) => toNumber(a[0]) - toNumber(b[0]))
  for (const [ip, mac] of sorted) console.log(`${ip.padEnd(16)} ${mac}`)
  console.log(`${found.size} hosts answered in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

if (values.iface !== undefined) {
  main(values.iface, values.netns).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
} else {
  runInNetns<PeerNetns>(`netring-arp-${process.pid}`, (ns) => main('nr1', ns.name), (name) => makePeerNetns(name, ['10.89.0.7', '10.89.0.42']))
}
