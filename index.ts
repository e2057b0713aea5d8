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
export {
  build,
  buildInto,
  checksum,
  encodeDns,
  ETHERNET_MIN_FRAME,
  ICMP_TYPES,
  ICMPV6_TYPES,
  Template,
  updateChecksum,
  type Address,
  type ArpSpec,
  type BuildOptions,
  type DnsQuestionSpec,
  type DnsRecordSpec,
  type DnsSpec,
  type EthernetSpec,
  type IcmpSpec,
  type Icmpv6Spec,
  type Ipv4Option,
  type Ipv4Spec,
  type Ipv6ExtensionSpec,
  type Ipv6Option,
  type Ipv6Spec,
  type LayerSpec,
  type TcpOption,
  type TcpSpec,
  type TemplateField,
  type UdpSpec,
  type VlanSpec,
} from './src/build'
export { compileFilter } from './src/filter'
export { interfaces, type InterfaceAddress, type InterfaceCounters, type NetworkInterface } from './src/interfaces'
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
  type DecodedIpv4Option,
  type DecodedTcpOption,
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
