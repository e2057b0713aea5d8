/**
 * netring: packet capture and injection for Node.js over Linux PACKET_MMAP rings.
 *
 * ```ts
 * import { openRing } from 'netring'
 * for await (const packet of openRing('eth1')) {
 *   console.log(packet.timestamp, packet.length, packet.data.subarray(0, 14))
 * }
 * ```
 *
 * The public entry: it only re-exports. ARCHITECTURE.md says which module owns what.
 *
 * @packageDocumentation
 */
export type { BpfInstruction, CaptureStats, FanoutOptions, RecordOptions, RecordProgress, SenderStats } from './src/native'
export { Capture, open, openRing } from './src/capture'
export { compileFilter } from './src/filter'
export * from './src/dns'
export type { CaptureOptions, FanoutMode, Filter, TxOptions } from './src/options'
export {
  Arp,
  Ethernet,
  Icmp,
  Ipv4,
  Ipv6,
  Ipv6Extension,
  LinkType,
  Sll,
  Tcp,
  Udp,
  type DecodeError,
  type Ipv6Fragment,
} from './src/layers'
export { Batch, decode, Packet, type Direction, type Vlan } from './src/packet'
export { record, type Recorder } from './src/record'
export { openTx, Sender, type FrameOrBatch } from './src/sender'
export { SCHEMES, type Scheme } from './src/uri'
export {
  openFanout,
  FanoutGroup,
  type FanoutContext,
  type FanoutGroupOptions,
  type FanoutHandler,
  type FanoutReport,
  type FanoutStats,
} from './src/fanout'
