/**
 * Captured packets as JavaScript sees them: `Packet` and `Batch` are views over one
 * `NativeBatch` (the packets' bytes and their records), and `Lease` is the hold a
 * `zeroCopy` capture's packets have on their ring slots.
 */
import { releasedError } from './errors'
import { CAPLEN, FLAG_VLAN, FLAGS, IFINDEX, LEN, NSEC, OFFSET, PKTTYPE, RECORD, SEC, VLAN, type NativeBatch } from './native'

/** How the packet relates to this host, from the kernel's `sll_pkttype`. */
export type Direction = 'incoming' | 'broadcast' | 'multicast' | 'otherhost' | 'outgoing' | 'loopback'

/** PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING, PACKET_LOOPBACK. */
const DIRECTIONS: readonly Direction[] = ['incoming', 'broadcast', 'multicast', 'otherhost', 'outgoing', 'loopback']

/** An 802.1Q (or 802.1ad) tag the ring reported for a packet. */
export interface Vlan {
  /** Tag control information: priority (3 bits), drop eligible (1 bit), VLAN id (12 bits). */
  tci: number
  /** Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number
  /** The VLAN id, `tci & 0xfff`. */
  id: number
}

/**
 * The hold a `zeroCopy` capture's packets have on their ring slots: the slots go back to
 * the kernel when the iteration moves past their batch, and `released` says so.
 */
export class Lease {
  released = false
}

/**
 * One captured packet.
 *
 * Packets are copied out of the ring one batch at a time into memory owned by
 * JavaScript, and the ring slot goes straight back to the kernel. So `data` stays valid
 * for as long as you hold the packet, after the iteration moved on and after `close()`.
 * A kept packet keeps its whole batch's buffer alive (up to one ring block); `copy()`
 * keeps only its own bytes.
 *
 * With the `zeroCopy` option, `data` is read in place from the ring instead, and only
 * until the iteration moves past the packet's batch: after that it throws
 * `ERR_NETRING_RELEASED` (the other fields stay). `copy()` keeps a packet for later.
 */
export class Packet {
  readonly #buffer: Buffer
  readonly #meta: Uint32Array
  readonly #at: number
  readonly #lease: Lease | undefined

  /** @internal */
  constructor(buffer: Buffer, meta: Uint32Array, at: number, lease?: Lease) {
    this.#buffer = buffer
    this.#meta = meta
    this.#at = at
    this.#lease = lease
  }

  /** The captured bytes, from the link-layer header on; `capturedLength` long. A VLAN
   * tag the kernel had taken off is put back, as libpcap does. */
  get data(): Buffer {
    if (this.#lease?.released) throw releasedError()
    const start = this.#meta[this.#at + OFFSET]
    return this.#buffer.subarray(start, start + this.#meta[this.#at + CAPLEN])
  }

  /** Length on the wire (with a VLAN tag), even when fewer bytes were kept (snaplen). */
  get length(): number {
    return this.#meta[this.#at + LEN]
  }

  /** Bytes kept: `data.length`, at most the snaplen. */
  get capturedLength(): number {
    return this.#meta[this.#at + CAPLEN]
  }

  /** Capture time in nanoseconds since the Unix epoch. */
  get timestamp(): bigint {
    return BigInt(this.#meta[this.#at + SEC]) * 1_000_000_000n + BigInt(this.#meta[this.#at + NSEC])
  }

  /** Index of the interface the packet was seen on. */
  get ifindex(): number {
    return this.#meta[this.#at + IFINDEX] | 0
  }

  get direction(): Direction {
    return DIRECTIONS[this.#meta[this.#at + PKTTYPE]] ?? 'incoming'
  }

  /** The VLAN tag the ring reported, or `undefined`. */
  get vlan(): Vlan | undefined {
    if ((this.#meta[this.#at + FLAGS] & FLAG_VLAN) === 0) return undefined
    const word = this.#meta[this.#at + VLAN]
    const tci = word & 0xffff
    return { tci, tpid: word >>> 16, id: tci & 0xfff }
  }

  /** A packet holding a copy of just its own bytes and numbers (valid for as long as
   * it is held, also from a `zeroCopy` capture). */
  copy(): Packet {
    const meta = this.#meta.slice(this.#at, this.#at + RECORD)
    meta[OFFSET] = 0 // the copied bytes start the new buffer
    return new Packet(Buffer.from(this.data), meta, 0)
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): object {
    const { length, capturedLength, timestamp, ifindex, direction, vlan } = this
    const data = this.#lease?.released ? '<released>' : this.data
    return { length, capturedLength, timestamp, ifindex, direction, vlan, data }
  }
}

/** The packets of one ring block (V3), one run of ready frames (V2), or one drain of
 * the socket queue (`int:`): what one wake-up delivered. */
export class Batch implements Iterable<Packet> {
  readonly #buffer: Buffer
  readonly #meta: Uint32Array
  readonly #lease: Lease | undefined
  /** Number of packets. */
  readonly length: number

  /** @internal */
  constructor(native: NativeBatch, lease: Lease | undefined) {
    this.#buffer = native.data
    this.#meta = native.meta
    this.#lease = lease
    this.length = native.meta.length / RECORD
  }

  /** The packet at `index` (negative counts from the end), or `undefined`. */
  at(index: number): Packet | undefined {
    const i = index < 0 ? this.length + index : index
    return i >= 0 && i < this.length ? new Packet(this.#buffer, this.#meta, i * RECORD, this.#lease) : undefined
  }

  [Symbol.iterator](): Iterator<Packet> {
    return new BatchIterator(this.#buffer, this.#meta, this.#lease)
  }
}

/** A batch's packets in order. A generator would cost about 15 ns more per packet. */
class BatchIterator implements Iterator<Packet> {
  readonly #buffer: Buffer
  readonly #meta: Uint32Array
  readonly #lease: Lease | undefined
  #at = 0

  constructor(buffer: Buffer, meta: Uint32Array, lease: Lease | undefined) {
    this.#buffer = buffer
    this.#meta = meta
    this.#lease = lease
  }

  next(): IteratorResult<Packet> {
    const at = this.#at
    if (at >= this.#meta.length) return { done: true, value: undefined }
    this.#at = at + RECORD
    return { done: false, value: new Packet(this.#buffer, this.#meta, at, this.#lease) }
  }
}
