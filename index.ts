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
 * @packageDocumentation
 */
import { setImmediate as nextTurn } from 'node:timers/promises'

import {
  META_STRIDE,
  NativeCapture,
  NativeFileReader,
  NativeRecorder,
  NativeSender,
  compileFilter as nativeCompileFilter,
  type BpfInstruction,
  type CaptureOptions as NativeCaptureOptions,
  type CaptureStats,
  type FanoutOptions,
  type NativeBatch,
  type RecordOptions,
  type RecordProgress,
  type SenderStats,
  type TxOptions as NativeTxOptions,
} from './loader'

export type { BpfInstruction, CaptureStats, FanoutOptions, RecordOptions, RecordProgress, SenderStats }
export {
  openFanout,
  FanoutGroup,
  type FanoutContext,
  type FanoutGroupOptions,
  type FanoutHandler,
  type FanoutReport,
  type FanoutStats,
} from './fanout'

/** How a fanout group picks the member for each packet; see `FanoutOptions.mode`. */
export type FanoutMode = FanoutOptions['mode']
/** A capture filter: a tcpdump expression, or a classic BPF program as `tcpdump -dd` prints it. */
export type Filter = string | readonly BpfInstruction[]

/** Options of a capture; see each field for its default. */
export interface CaptureOptions extends NativeCaptureOptions {
  /** Closes the capture when aborted; a pending or later `next()` rejects with `signal.reason`. */
  signal?: AbortSignal
}

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

/** URI schemes `open()` knows: a PACKET_MMAP ring, recv() on a plain socket, or a
 * pcap/pcapng file (`pcapfile:trace.pcap`). */
export const SCHEMES = ['ring', 'int', 'pcapfile'] as const
export type Scheme = (typeof SCHEMES)[number]

// Indexes into a packet's record in NativeBatch.meta (crates/core/src/batch.rs).
const OFFSET = 0
const CAPLEN = 1
const LEN = 2
const SEC = 3
const NSEC = 4
const IFINDEX = 5
const PKTTYPE = 6
const VLAN = 7
const FLAGS = 8
const FLAG_VLAN = 1
const RECORD = 9
if (META_STRIDE !== RECORD) {
  throw new Error(`netring: the native binding's packet record has ${META_STRIDE} fields, this index.ts reads ${RECORD}`)
}

/**
 * The hold a `zeroCopy` capture's packets have on their ring slots: the slots go back to
 * the kernel when the iteration moves past their batch, and `released` says so.
 */
class Lease {
  released = false
}

function releasedError(): Error {
  return Object.assign(
    new Error('the packet was read in place (zeroCopy) and its ring slot has been given back to the kernel; keep packet.copy() to use it later'),
    { code: 'ERR_NETRING_RELEASED' },
  )
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

/** A Node-style error from the binding's `CODE|kind|message` form (crates/napi/src/error.rs). */
function fromNative(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const match = /^([A-Z0-9_]+)\|(range|type|system)\|([\s\S]*)$/.exec(error.message)
  if (match === null) return error
  const [, code, kind, message] = match
  const Class = kind === 'range' ? RangeError : kind === 'type' ? TypeError : Error
  return Object.assign(new Class(message), { code })
}

/**
 * How long a capture or sender may keep the event loop busy before it lets timers and
 * I/O run. Under sustained traffic a batch is always ready (or room always comes back),
 * so without this a `for await` loop would run on microtasks alone and starve the loop.
 */
const TURN_MS = 5

/** Tracks how long the current turn of the event loop has been ours. */
class Turn {
  #start = performance.now()

  /** A new turn began (after a real wait). */
  reset(): void {
    this.#start = performance.now()
  }

  /** Lets the event loop run if this turn has lasted longer than TURN_MS. */
  async yield(): Promise<void> {
    if (performance.now() - this.#start > TURN_MS) {
      await nextTurn()
      this.reset()
    }
  }
}

function call<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw fromNative(error)
  }
}

type OptionType = 'number' | 'boolean' | 'string' | 'signal' | 'filter' | 'fanout'

const CAPTURE_OPTIONS: Record<keyof CaptureOptions, OptionType> = {
  version: 'number',
  blockSize: 'number',
  blockCount: 'number',
  frameSize: 'number',
  frameCount: 'number',
  blockTimeout: 'number',
  snaplen: 'number',
  promiscuous: 'boolean',
  ignoreOutgoing: 'boolean',
  netns: 'string',
  bufferSize: 'number',
  filter: 'filter',
  fanout: 'fanout',
  zeroCopy: 'boolean',
  signal: 'signal',
}

const FANOUT_OPTIONS: Record<keyof FanoutOptions, OptionType> = {
  group: 'number',
  mode: 'string',
  defrag: 'boolean',
  rollover: 'boolean',
}

const BPF_FIELDS = ['code', 'jt', 'jf', 'k'] as const

/** Shape checks of a filter (`what` names it in messages); values are checked natively. */
function checkFilter(filter: unknown, what: string): void {
  if (typeof filter === 'string') return
  if (!Array.isArray(filter)) {
    throw new TypeError(`${what} must be a string (tcpdump syntax) or an array of { code, jt, jf, k }, got ${filter === null ? 'null' : typeof filter}`)
  }
  filter.forEach((ins: unknown, i) => {
    if (typeof ins !== 'object' || ins === null) {
      throw new TypeError(`filter[${i}] must be an object { code, jt, jf, k }, got ${ins === null ? 'null' : typeof ins}`)
    }
    for (const key of BPF_FIELDS) {
      const value = (ins as Record<string, unknown>)[key]
      if (typeof value !== 'number') throw new TypeError(`filter[${i}].${key} must be a number, got ${typeof value}`)
    }
  })
}

/** Shape checks of the `fanout` option; ranges and modes are checked natively. */
function checkFanout(fanout: unknown): void {
  checkOptions(fanout, FANOUT_OPTIONS, 'fanout option')
  if ((fanout as FanoutOptions).mode === undefined) {
    throw new TypeError(`fanout option mode is required: 'hash', 'lb', 'cpu', 'rollover', 'random' or 'queue'`)
  }
}

const TX_OPTIONS: Record<keyof TxOptions, OptionType> = {
  version: 'number',
  frameSize: 'number',
  frameCount: 'number',
  qdiscBypass: 'boolean',
  loss: 'boolean',
  framesPerKick: 'number',
  netns: 'string',
  rate: 'number',
  signal: 'signal',
}

/** Type checks against `types`; ranges and geometry rules are checked natively, before any syscall. */
function checkOptions(options: unknown, types: Record<string, OptionType>, what = 'option'): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${what}s must be an object, got ${options === null ? 'null' : typeof options}`)
  }
  for (const [key, value] of Object.entries(options)) {
    const want = types[key]
    if (want === undefined) {
      throw new TypeError(`unknown ${what} "${key}"; known: ${Object.keys(types).join(', ')}`)
    }
    if (value === undefined) continue
    if (want === 'filter') {
      checkFilter(value, `${what} ${key}`)
      continue
    }
    if (want === 'fanout') {
      checkFanout(value)
      continue
    }
    const ok = want === 'signal' ? value instanceof AbortSignal : typeof value === want
    if (!ok) {
      throw new TypeError(`${what} ${key} must be ${want === 'signal' ? 'an AbortSignal' : `a ${want}`}, got ${typeof value}`)
    }
  }
}

function closedError(what: string): Error {
  return Object.assign(new Error(`${what} is closed`), { code: 'ERR_NETRING_CLOSED' })
}

/** Splits `ring:eth1` / `int:eth1`; a bare name means `fallback`. Interface names never contain ':'. */
function parseUri(uri: string, fallback?: Scheme): [Scheme, string] {
  if (typeof uri !== 'string') throw new TypeError(`uri must be a string, got ${typeof uri}`)
  const colon = uri.indexOf(':')
  const known = SCHEMES.map((s) => `${s}:`).join(', ')
  if (colon < 0) {
    if (fallback !== undefined) return [fallback, uri]
    throw new TypeError(`URI "${uri}" has no scheme; known: ${known}`)
  }
  const scheme = uri.slice(0, colon)
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new TypeError(`unknown URI scheme "${scheme}:" in "${uri}"; known: ${known}`)
  }
  return [scheme as Scheme, uri.slice(colon + 1)]
}

/** A pcap/pcapng file behind the calls `Capture` makes of a live one; `wait()` says the
 * file has ended. `stats()`: `received` and `delivered` are the packets read. */
class FileSource {
  readonly #reader: NativeFileReader
  #delivered = 0
  readonly fanoutGroup = null

  constructor(path: string) {
    this.#reader = new NativeFileReader(path)
  }

  read(): NativeBatch | null {
    const batch = this.#reader.read()
    if (batch !== null) this.#delivered += batch.meta.length / RECORD
    return batch
  }

  async wait(): Promise<boolean> {
    return false
  }

  stats(): CaptureStats {
    return { received: this.#delivered, dropped: 0, freezes: 0, delivered: this.#delivered }
  }

  setFilter(): void {
    throw new TypeError('a pcapfile: capture takes no filter')
  }

  close(): void {
    this.#reader.close()
  }
}

/**
 * A capture on one interface. Iterate it with `for await` (one packet at a time) or
 * `batches()` (one ring block at a time); `break`, `return` or `close()` ends it.
 */
export class Capture implements AsyncIterable<Packet> {
  /** The URI it was opened with, e.g. `ring:eth1`. */
  readonly uri: string
  readonly interface: string
  readonly scheme: Scheme
  readonly #native: NativeCapture | FileSource
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => this.close()
  #closed = false
  #error: unknown
  readonly #turn = new Turn()
  /** With `zeroCopy`: the ring's memory (until close), and the hold of the batch read
   * last, released by the next read. */
  #ring: Buffer | undefined
  #lease: Lease | undefined

  /** @internal use `openRing()` or `open()` */
  constructor(scheme: Scheme, iface: string, options?: CaptureOptions) {
    if (typeof iface !== 'string') throw new TypeError(`interface must be a string, got ${typeof iface}`)
    checkOptions(options, CAPTURE_OPTIONS)
    const { signal, ...native } = options ?? {}
    signal?.throwIfAborted()
    if (scheme === 'pcapfile' && Object.keys(native).length > 0) {
      throw new TypeError(`a pcapfile: capture takes no options but signal; got ${Object.keys(native).join(', ')}`)
    }
    this.#native = call(() => (scheme === 'pcapfile' ? new FileSource(iface) : new NativeCapture(iface, scheme, native)))
    this.uri = `${scheme}:${iface}`
    this.interface = iface
    this.scheme = scheme
    if (native.zeroCopy === true) this.#ring = (this.#native as NativeCapture).ringMemory() ?? undefined
    this.#signal = signal
    signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The PACKET_FANOUT group this capture joined (the kernel's pick when `fanout.group`
   * was left out), or `undefined`. */
  get fanoutGroup(): number | undefined {
    return this.#native.fanoutGroup ?? undefined
  }

  /**
   * Replaces the filter on the live capture; `null` removes it. The kernel swaps
   * programs atomically (SO_ATTACH_FILTER), so every packet meets one filter or the
   * other; packets already in the ring passed the old one and are still delivered.
   * Throws, leaving the old filter in place, when the new one is invalid.
   */
  setFilter(filter: Filter | null): void {
    this.#checkOpen()
    if (filter !== null) checkFilter(filter, 'filter')
    call(() => this.#native.setFilter(filter as string | BpfInstruction[] | null))
  }

  /**
   * Running totals since open. `received` counts packets the kernel put in the ring or
   * queue, `dropped` those it could not (the ring was full); every packet that reached
   * the socket is in one of the two. With a filter, both count only packets it accepted.
   * Still answers after `close()`.
   */
  stats(): CaptureStats {
    return call(() => this.#native.stats())
  }

  /** Stops the capture: pending iterations finish, the ring is unmapped and the socket
   * closed. Packets already delivered stay valid. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#release()
    this.#ring = undefined // packets still holding it keep it mapped, as zeros
    this.#native.close()
  }

  /** Ends the hold of the batch read last (zeroCopy); the native side gives its slots back. */
  #release(): void {
    if (this.#lease === undefined) return
    this.#lease.released = true
    this.#lease = undefined
  }

  /** The next batch, waiting for the kernel when nothing is ready; `undefined` once closed. */
  async #nextBatch(): Promise<NativeBatch | undefined> {
    for (;;) {
      if (this.#closed) {
        if (this.#signal?.aborted) throw this.#signal.reason
        if (this.#error !== undefined) throw this.#error
        return undefined
      }
      let native: NativeBatch | null
      this.#release()
      try {
        native = this.#ring === undefined ? this.#native.read() : this.#lend(this.#ring)
      } catch (error) {
        // int: reports the interface's removal from recv(), after the packets before it.
        this.#error ??= fromNative(error)
        this.close()
        continue
      }
      if (native !== null) {
        if (this.#ring !== undefined) this.#lease = new Lease()
        await this.#turn.yield()
        return native
      }
      try {
        // false: closed, or a file's end.
        if (!(await this.#native.wait())) this.close()
        this.#turn.reset()
      } catch (error) {
        // The interface went down or was removed: what was in the ring has been read.
        this.#error ??= fromNative(error)
        this.close()
      }
    }
  }

  /** A zeroCopy read: the records of the packets lent in place in `ring`. */
  #lend(ring: Buffer): NativeBatch | null {
    const meta = (this.#native as NativeCapture).lend()
    return meta === null ? null : { data: ring, meta }
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(`capture ${this.uri}`)
  }

  /** Batches as the kernel hands them over: one per V3 block or wake-up. */
  batches(): AsyncIterableIterator<Batch> {
    this.#checkOpen()
    const iterator: AsyncIterableIterator<Batch> = {
      next: async () => {
        const batch = await this.#nextBatch()
        return batch === undefined ? { done: true, value: undefined } : { done: false, value: new Batch(batch, this.#lease) }
      },
      return: async () => {
        this.close()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Packet> {
    this.#checkOpen()
    let buffer: Buffer | undefined
    let meta: Uint32Array | undefined
    let lease: Lease | undefined
    let at = 0
    const nextBatch = async (): Promise<IteratorResult<Packet>> => {
      const batch = await this.#nextBatch()
      if (batch === undefined) return { done: true, value: undefined }
      buffer = batch.data
      meta = batch.meta
      lease = this.#lease
      at = RECORD
      return { done: false, value: new Packet(buffer, meta, 0, lease) }
    }
    const iterator: AsyncIterableIterator<Packet> = {
      // Per packet this is the whole cost of the iteration: an async function and a
      // generator here cost about 40 ns more per packet. Batches are never empty.
      next: () => {
        if (meta !== undefined && at < meta.length) {
          const packet = new Packet(buffer!, meta, at, lease)
          at += RECORD
          return Promise.resolve({ done: false, value: packet })
        }
        return nextBatch()
      },
      return: async () => {
        this.close()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }
}

/** Captures on `iface` through a PACKET_MMAP ring (TPACKET_V3 unless `version: 2`). */
export function openRing(iface: string, options?: CaptureOptions): Capture {
  return new Capture('ring', iface, options)
}

/**
 * Opens a libtrace-style URI: `ring:IFACE` (PACKET_MMAP ring) or `int:IFACE` (recv() on a
 * plain AF_PACKET socket, for comparison and for kernels without rings).
 */
export function open(uri: string, options?: CaptureOptions): Capture {
  const [scheme, iface] = parseUri(uri)
  return new Capture(scheme, iface, options)
}

/**
 * Compiles a tcpdump-syntax filter into a classic BPF program with libpcap (loaded at
 * run time; Debian package `libpcap0.8`), for Ethernet, as `tcpdump -dd` prints it.
 * Accepting returns keep `snaplen` bytes (default 262144). Throws a TypeError with
 * libpcap's message when the expression does not compile, and an Error with code
 * `ERR_NETRING_NO_LIBPCAP` when libpcap is not installed. Host names in the expression
 * are looked up (DNS) while it compiles, blocking the thread; prefer addresses.
 */
export function compileFilter(expression: string, options?: { snaplen?: number }): BpfInstruction[] {
  if (typeof expression !== 'string') throw new TypeError(`expression must be a string, got ${typeof expression}`)
  checkOptions(options, { snaplen: 'number' })
  return call(() => nativeCompileFilter(expression, options?.snaplen))
}

/** Options of a sender; see each field for its default. */
export interface TxOptions extends NativeTxOptions {
  /** Most frames per second; frames wait (never drop) to keep to it. Default: no limit. */
  rate?: number
  /** Closes the sender when aborted (queued frames are still sent); later sends reject
   * with `signal.reason`. */
  signal?: AbortSignal
}

const SETTLED: Promise<void> = Promise.resolve()
const ONE_LENGTH = new Uint32Array(1)

/** A frame, or an array of frames sent with one hop into native code. */
export type FrameOrBatch = Uint8Array | readonly Uint8Array[]

/**
 * Sends link-layer frames on one interface: through a PACKET_MMAP TX ring (`ring:`, the
 * default), where frames are written into shared slots and handed over with one kick, or
 * with one send() each (`int:`). Frames are copied when queued, so the caller may reuse
 * its buffers as soon as a send resolves. When the ring is full, sends wait for room:
 * nothing is dropped.
 */
export class Sender {
  readonly uri: string
  readonly interface: string
  readonly scheme: Scheme
  /** The longest untagged frame accepted (a VLAN-tagged one may be 4 bytes longer). */
  readonly maxFrameLength: number
  readonly #native: NativeSender
  readonly #rate: number | undefined
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => void this.close().catch(() => {})
  #closing: Promise<SenderStats> | undefined
  /** Totals as of close. */
  #final: SenderStats | undefined
  #kickScheduled = false
  #started = 0
  #paced = 0
  /** Sends in progress, so that close() waits for them and later sends queue behind them. */
  #tail: Promise<unknown> = Promise.resolve()
  #pending = 0
  /** Fast-path sends, counted so that every 256th takes the slow path (and yields). */
  #fast = 0
  readonly #turn = new Turn()

  /** @internal use `openTx()` */
  constructor(scheme: Scheme, iface: string, options?: TxOptions) {
    if (typeof iface !== 'string') throw new TypeError(`interface must be a string, got ${typeof iface}`)
    checkOptions(options, TX_OPTIONS)
    const { signal, rate, ...native } = options ?? {}
    if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
      throw new RangeError(`rate ${rate} must be a positive number of frames per second`)
    }
    signal?.throwIfAborted()
    this.#native = call(() => new NativeSender(iface, scheme, native))
    this.uri = `${scheme}:${iface}`
    this.interface = iface
    this.scheme = scheme
    this.maxFrameLength = this.#native.maxFrameLength
    this.#rate = rate
    this.#signal = signal
    signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  get closed(): boolean {
    return this.#closing !== undefined
  }

  /** Queues one frame; resolves once it is in the ring (or sent, for `int:`). */
  send(frame: Uint8Array): Promise<void> {
    // Fast path: nothing waiting before it and room in the ring: queue now and return a
    // settled promise, without the bookkeeping a wait needs. Every so often it goes the
    // slow way, which gives the event loop its turn.
    if (this.#pending === 0 && this.#rate === undefined && this.#closing === undefined && frame instanceof Uint8Array && (++this.#fast & 255) !== 0) {
      try {
        ONE_LENGTH[0] = frame.length
        if (this.#native.queue(frame, ONE_LENGTH, 0, 1, 0) === 1) {
          this.#scheduleKick()
          return SETTLED
        }
      } catch (error) {
        return Promise.reject(fromNative(error))
      }
    }
    return this.sendBatch([frame])
  }

  /** Queues frames in order, as many per hop into native code as fit; resolves once all
   * are queued. Frames before a bad one (empty, too long) are sent; the bad one rejects.
   * Sends that are not awaited still go out in the order they were called. */
  sendBatch(frames: readonly Uint8Array[]): Promise<void> {
    const run = this.#pending === 0 ? this.#sendBatch(frames) : this.#tail.then(() => this.#sendBatch(frames))
    this.#pending++
    const done = run.finally(() => this.#pending--)
    this.#tail = done.catch(() => {})
    return done
  }

  async #sendBatch(frames: readonly Uint8Array[]): Promise<void> {
    this.#checkOpen()
    if (!Array.isArray(frames)) throw new TypeError(`frames must be an array of Uint8Array, got ${typeof frames}`)
    // One buffer and a length each: native code then makes no napi call per frame.
    const lengths = new Uint32Array(frames.length)
    for (let i = 0; i < frames.length; i++) {
      const frame: unknown = frames[i]
      if (!(frame instanceof Uint8Array)) throw new TypeError(`frame ${i} must be a Uint8Array, got ${typeof frame}`)
      lengths[i] = frame.length
    }
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames)
    // From here on close() waits for this batch (#tail), so the native sender stays open.
    let start = 0
    let offset = 0
    while (start < frames.length) {
      const end = this.#rate === undefined ? frames.length : start + (await this.#pace(frames.length - start))
      while (start < end) {
        const queued = call(() => this.#native.queue(data, lengths, start, end, offset))
        for (let i = start; i < start + queued; i++) offset += lengths[i]
        start += queued
        if (start < end) {
          await call(() => this.#native.waitRoom()).catch((error: unknown) => {
            throw fromNative(error)
          })
          // The wait resolves from native code straight into this continuation; give
          // the event loop a turn so timers, I/O and captures run between waits.
          await nextTurn()
          this.#turn.reset()
        }
      }
    }
    this.#scheduleKick()
    await this.#turn.yield()
  }

  /** Waits until the rate allows more frames; returns how many (at most `want`). */
  async #pace(want: number): Promise<number> {
    const rate = this.#rate as number
    for (;;) {
      const now = performance.now()
      if (this.#paced === 0) this.#started = now
      const allowed = Math.floor(((now - this.#started) / 1000) * rate) + 1 - this.#paced
      if (allowed > 0) {
        const n = Math.min(want, allowed)
        this.#paced += n
        return n
      }
      const due = this.#paced / rate - (now - this.#started) / 1000 // seconds until the next frame
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, due * 1000)))
    }
  }

  /** Frames queued since the last automatic kick go out on the next turn of the loop. */
  #scheduleKick(): void {
    if (this.#kickScheduled || this.scheme !== 'ring') return
    this.#kickScheduled = true
    setImmediate(() => {
      this.#kickScheduled = false
      if (!this.closed) call(() => this.#native.kick())
    })
  }

  /** Sends every frame or batch of frames from `source`, in order; resolves to the number
   * of frames. Arrays in the source go into native code in one hop. */
  async sendAll(source: AsyncIterable<FrameOrBatch> | Iterable<FrameOrBatch>): Promise<number> {
    let count = 0
    for await (const item of source) {
      const frames = item instanceof Uint8Array ? [item] : item
      await this.sendBatch(frames)
      count += frames.length
    }
    return count
  }

  /** Resolves when the kernel has finished with every frame queued so far. */
  async flush(): Promise<void> {
    this.#checkOpen()
    await this.#tail
    await call(() => this.#native.flush()).catch((error: unknown) => {
      throw fromNative(error)
    })
  }

  /** Running totals: `sent` (the kernel has finished with them), `errors` (refused),
   * `queued` (accepted). */
  stats(): SenderStats {
    return this.#final ?? this.#native.stats()
  }

  /** Waits for sends in progress, sends everything queued and waits until the kernel has
   * finished with it, then releases the ring and socket. Resolves to the final totals.
   * Idempotent: later calls return the same promise. */
  close(): Promise<SenderStats> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener('abort', this.#onAbort)
      await this.#tail
      try {
        this.#final = await this.#native.close()
        return this.#final
      } catch (error) {
        throw fromNative(error)
      }
    })()
    return this.#closing
  }

  #checkOpen(): void {
    if (this.#signal?.aborted) throw this.#signal.reason
    if (this.#closing !== undefined) throw closedError(`sender ${this.uri}`)
  }
}

/**
 * Opens a sender: `openTx("eth1")` or `openTx("ring:eth1")` for the TX ring,
 * `openTx("int:eth1")` for one send() per frame.
 */
export function openTx(target: string, options?: TxOptions): Sender {
  const [scheme, iface] = parseUri(target, 'ring')
  return new Sender(scheme, iface, options)
}

/**
 * Counts, and with `write` saves to a pcap/pcapng file, the packets of `uri` (`ring:`,
 * `int:` or `pcapfile:`) on a native thread: no packet crosses into JavaScript. Capture and
 * output file are opened before this returns, so their errors throw here. Poll
 * `progress()`; `stop()` ends it and returns the totals (or throws what ended it).
 */
export function record(uri: string, options?: Omit<CaptureOptions, 'signal'> & RecordOptions): Recorder {
  const [scheme, target] = parseUri(uri)
  const { write, format, count, countFilters, ...capture } = options ?? {}
  const native = call(() => new NativeRecorder(target, scheme, capture, { write, format, count, countFilters }))
  return {
    progress: () => native.progress(),
    stop: () => call(() => native.stop()),
  }
}

/** A recording started by `record()`. */
export interface Recorder {
  /** Totals so far; `done` once the count was reached, the file ended, or it failed. */
  progress(): RecordProgress
  /** Stops (within 100 ms), finishes the file, returns the totals. Idempotent. */
  stop(): RecordProgress
}
