/** Capture: `Capture` over a ring, a recv() socket or a file, with `openRing()` and `open()`. */
import { call, closedError, fromNative } from './errors'
import { FileSource } from './file'
import { NativeCapture, RECORD, type BpfInstruction, type CaptureStats, type NativeBatch } from './native'
import { CAPTURE_OPTIONS, checkFilter, checkOptions, type CaptureOptions, type Filter } from './options'
import { Batch, Lease, Packet, Shared } from './packet'
import { Turn } from './turn'
import { parseUri, type Scheme } from './uri'

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
  /** Interface names by index, as `interfaceName()` found them. */
  readonly #names = new Map<number, string | undefined>()
  /** The batch read in progress, which later reads queue behind. */
  #reading: Promise<unknown> | undefined

  /** @internal use `openRing()` or `open()` */
  constructor(scheme: Scheme, iface: string, options?: CaptureOptions) {
    if (typeof iface !== 'string') throw new TypeError(`interface must be a string, got ${typeof iface}`)
    checkOptions(options, CAPTURE_OPTIONS)
    const { signal, ...native } = options ?? {}
    signal?.throwIfAborted()
    const { filter, ...rest } = native
    if (scheme === 'pcapfile' && Object.keys(rest).length > 0) {
      throw new TypeError(`a pcapfile: capture takes no options but filter and signal; got ${Object.keys(rest).join(', ')}`)
    }
    this.#native = call(() =>
      scheme === 'pcapfile' ? new FileSource(iface, filter as string | BpfInstruction[] | undefined) : new NativeCapture(iface, scheme, native),
    )
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

  /**
   * The name of interface `ifindex` (a packet's `ifindex`) in the capture's network
   * namespace, or `undefined` when it has none (it went away). Names are looked up once
   * per capture and index. Useful on `ring:any`, whose packets come from every interface.
   */
  interfaceName(ifindex: number): string | undefined {
    let name = this.#names.get(ifindex)
    if (name === undefined && !this.#names.has(ifindex)) {
      this.#checkOpen()
      name = this.#native instanceof NativeCapture ? (call(() => (this.#native as NativeCapture).interfaceName(ifindex)) ?? undefined) : undefined
      this.#names.set(ifindex, name)
    }
    return name
  }

  /** The libpcap `LINKTYPE_*` of the packets (1 Ethernet, 101 raw IP, 276 Linux cooked
   * v2, …): the interface's, from its hardware type, or a file's (the pcap header's or
   * the first pcapng interface's). Still answers after `close()`. */
  get linkType(): number {
    return this.#native.linkType
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

  /** The next batch, waiting for the kernel when nothing is ready; `undefined` once
   * closed. Calls made while one is waiting queue behind it, so two iterators of one
   * capture never read over each other. */
  #nextBatch(): Promise<NativeBatch | undefined> {
    const run = this.#reading === undefined ? this.#readBatch() : this.#reading.then(() => this.#readBatch())
    const done = (): void => {
      if (this.#reading === tail) this.#reading = undefined
    }
    const tail = run.then(done, done)
    this.#reading = tail
    return run
  }

  async #readBatch(): Promise<NativeBatch | undefined> {
    for (;;) {
      if (this.#closed) {
        if (this.#signal?.aborted) throw this.#signal.reason
        if (this.#error !== undefined) throw this.#error
        return undefined
      }
      // Yield before reading, not after: a close() during the yield then delivers
      // nothing more (a zeroCopy batch read before it would already be released).
      await this.#turn.yield()
      if (this.#closed) continue
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
    let shared: Shared | undefined
    let end = 0
    let at = 0
    const nextBatch = async (): Promise<IteratorResult<Packet>> => {
      const batch = await this.#nextBatch()
      if (batch === undefined) return { done: true, value: undefined }
      shared = new Shared(batch.data, batch.meta, this.#lease)
      end = batch.meta.length
      at = RECORD
      return { done: false, value: new Packet(shared, 0) }
    }
    // The next() still in flight: a next() called before it settled (concurrent calls,
    // as `Promise.all([it.next(), it.next()])`) queues behind it, as Node's own async
    // iterators do, so every packet is delivered once and in order.
    let waiting: Promise<unknown> | undefined
    const track = (result: Promise<IteratorResult<Packet>>): Promise<IteratorResult<Packet>> => {
      const done = (): void => {
        if (waiting === tail) waiting = undefined
      }
      const tail = result.then(done, done)
      waiting = tail
      return result
    }
    const step = (): Promise<IteratorResult<Packet>> => {
      if (at < end && !this.#closed) {
        const packet = new Packet(shared!, at)
        at += RECORD
        return Promise.resolve({ done: false, value: packet })
      }
      return nextBatch()
    }
    const iterator: AsyncIterableIterator<Packet> = {
      // Per packet this is the whole cost of the iteration: an async function and a
      // generator here cost about 40 ns more per packet. Batches are never empty.
      // After close() no further packet is delivered, even of the current batch.
      next: () => {
        if (waiting !== undefined) return track(waiting.then(step))
        if (at < end && !this.#closed) {
          const packet = new Packet(shared!, at)
          at += RECORD
          return Promise.resolve({ done: false, value: packet })
        }
        return track(nextBatch())
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
