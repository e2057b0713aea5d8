/**
 * The node_pcap peer of benchmark/rx-reader.ts, with the same contract: run inside the
 * benchmark's namespace and pinned to one CPU, it counts what arrives on the interface until
 * SIGTERM, then prints one JSON line with its count, the capture's kernel statistics and its
 * own CPU time. node_pcap (npm `pcap`, over libpcap) calls JavaScript once per packet, with
 * the packet copied into one reused buffer: that per-packet callback is what it measures, so
 * nothing is decoded, only the wire length is read from the pcap header. With `decode`, each
 * packet goes through node_pcap's `decode.packet` and its IPv4 addresses, protocol and ports
 * are read, as its README shows (`packet.payload.payload.saddr`).
 *
 *   node benchmark/node-pcap/reader.js <iface> [decode]
 *
 * Installed by benchmark/setup.sh (npm ci here); never a dependency of netring.
 */
'use strict'
const pcap = require('pcap')

const [iface, mode] = process.argv.slice(2)
if (iface === undefined || (mode !== undefined && mode !== 'decode') || process.argv.length > 4) {
  console.error('usage: node benchmark/node-pcap/reader.js <iface> [decode]')
  process.exit(2)
}

const session = pcap.createSession(iface, {
  // 32 MiB: the ring netring's TPACKET_V3 default maps (32 blocks of 1 MiB).
  buffer_size: 32 * 1024 * 1024,
  // libpcap's block retire timeout (tp_retire_blk_tov), as netring's default blockTimeout
  // (10 ms), instead of node_pcap's 1 s that would hold back the last packets of a run.
  buffer_timeout: 10,
  promiscuous: true,
})
// The capture is open (libpcap activated, the socket bound): the first read happens on the
// next tick, so CPU time counts from here.
const cpu0 = process.cpuUsage()
let packets = 0
let bytes = 0
let fields = 0
session.on('packet', (raw) => {
  // raw.header: 16 bytes in host order, ts_sec, ts_usec, caplen, len (the wire length).
  packets++
  bytes += raw.header.readUInt32LE(12)
  if (mode === 'decode') {
    const ip = pcap.decode.packet(raw).payload.payload
    const udp = ip.payload
    fields += ip.saddr.toString().length + ip.daddr.toString().length + ip.protocol + udp.sport + udp.dport
  }
})
console.error('ready') // the socket is bound: study.ts starts the generator

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  const cpu = process.cpuUsage(cpu0)
  // Before close(): the statistics need the pcap handle.
  const stats = session.stats()
  // close() only breaks libpcap's loop; node_pcap releases the handle (and its fd's poll
  // that keeps the event loop alive) on the next read, which may never come: exit instead.
  session.close()
  const line = JSON.stringify({ packets, bytes, received: stats.ps_recv, dropped: stats.ps_drop, cpuUs: cpu.user + cpu.system, fields })
  process.stdout.write(line + '\n', () => process.exit(0))
})
