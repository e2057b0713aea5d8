/**
 * The native binding as the rest of the TypeScript sees it: the classes napi generates
 * (through `loader.ts`, which checks the platform first) and the layout of the packet
 * records the core writes into `NativeBatch.meta` (crates/core/src/batch.rs).
 */
import { META_STRIDE } from './loader'

export * from './loader'

// Indexes into a packet's record in NativeBatch.meta.
export const OFFSET = 0
export const CAPLEN = 1
export const LEN = 2
export const SEC = 3
export const NSEC = 4
export const IFINDEX = 5
export const PKTTYPE = 6
export const VLAN = 7
export const FLAGS = 8
export const FLAG_VLAN = 1
// What the dissector found (crates/core/src/dissect): offsets count from the packet's first byte.
export const LAYERS = 9
export const LINK_TYPE = 10
export const ERROR_LAYER = 11
export const ETHERTYPE = 12
export const NETWORK = 13
export const PROTOCOL = 14
export const TRANSPORT = 15
export const PAYLOAD = 16
export const PAYLOAD_LEN = 17
export const IPV6_EXT = 18
export const FRAGMENT = 19
export const FRAGMENT_ID = 20
/** Fields per packet record. */
export const RECORD = 21
if (META_STRIDE !== RECORD) {
  throw new Error(`netring: the native binding's packet record has ${META_STRIDE} fields, this native.ts reads ${RECORD}`)
}
