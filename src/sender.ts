/** Injection: `Sender` over a TX ring or a send() socket, with `openTx()`. */
import { call, closedError, fromNative } from './errors'
import { NativeSender, type SenderStats } from './native'
import { checkOptions, TX_OPTIONS, type TxOptions } from './options'
import { nextTurn, Turn } from './turn'
import { parseUri, type Scheme } from './uri'

const SETTLED: Promise<void> = Promise.resolve()
const ONE_LENGTH = new Uint32Array(1)

/** A send (or, with `frames` undefined, a flush) waiting its turn: they run in the order
 * they were called. */
interface Job {
  frames: readonly Uint8Array[] | undefined
  resolve: () => void
  reject: (error: unknown) => void
}

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
  /** The libpcap `LINKTYPE_*` of the frames the interface sends (1 Ethernet, 101 raw
   * IP, …), from its hardware type; `undefined` for one a raw socket cannot carry. */
  readonly linkType: number | undefined
  readonly #native: NativeSender
  readonly #rate: number | undefined
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => void this.close().catch(() => {})
  #closing: Promise<SenderStats> | undefined
  /** Totals as of close. */
  #final: SenderStats | undefined
  #kickScheduled = false
  /** The native sender has been closed (after every queued send went out). */
  #released = false
  /** What ended the sender (the interface went down or away), for the sends, flush or
   * close that come after it; `#errorReported` once one of them has thrown it. */
  #error: unknown
  #errorReported = false
  #started = 0
  #paced = 0
  /** Sends waiting their turn, from `#head` on, and the loop that works through them
   * (undefined when none is waiting). close() waits for it, so every send called before
   * close() goes out. */
  #jobs: Array<Job | undefined> = []
  #head = 0
  #draining: Promise<void> | undefined
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
    this.linkType = this.#native.linkType ?? undefined
    this.#rate = rate
    this.#signal = signal
    signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  get closed(): boolean {
    return this.#closing !== undefined
  }

  /**
   * Throws an Error with code `ERR_NETRING_LINK_TYPE`, naming both link types, when frames
   * of `linkType` (a file's, say) cannot be sent through this interface as they are: only
   * frames of the interface's own link type can (raw IPv4 or IPv6 onto a raw-IP one too),
   * never Linux cooked (SLL, SLL2) captures, whose header no interface sends.
   */
  checkLinkType(linkType: number): void {
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffffffff) {
      throw new RangeError(`linkType ${linkType} must be an integer from 0 to 4294967295`)
    }
    call(() => this.#native.checkLinkType(linkType))
  }

  /** Queues one frame; resolves once it is in the ring (or sent, for `int:`). */
  send(frame: Uint8Array): Promise<void> {
    // Fast path: nothing waiting before it and room in the ring: queue now and return a
    // settled promise, without the bookkeeping a wait needs. Every so often it goes the
    // slow way, which gives the event loop its turn.
    if (
      this.#draining === undefined &&
      this.#rate === undefined &&
      this.#closing === undefined &&
      this.#error === undefined &&
      frame instanceof Uint8Array &&
      (++this.#fast & 255) !== 0
    ) {
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
   * Sends that are not awaited still go out in the order they were called, also when
   * close() is called before they did. */
  sendBatch(frames: readonly Uint8Array[]): Promise<void> {
    return this.#enqueue(frames)
  }

  /** Queues a job behind those before it; a closed sender takes none. */
  #enqueue(frames: readonly Uint8Array[] | undefined): Promise<void> {
    try {
      this.#checkOpen()
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      this.#jobs.push({ frames, resolve, reject })
      this.#draining ??= this.#drain()
    })
  }

  /** Works through the waiting sends, one at a time, in order. */
  async #drain(): Promise<void> {
    while (this.#head < this.#jobs.length) {
      const job = this.#jobs[this.#head] as Job
      this.#jobs[this.#head++] = undefined
      try {
        await (job.frames === undefined ? this.#flush() : this.#sendBatch(job.frames))
        job.resolve()
      } catch (error) {
        job.reject(this.#report(error))
      }
      // Drop the done part of a long queue now and then: linear time, bounded memory.
      if (this.#head >= 4096 && this.#head * 2 >= this.#jobs.length) {
        this.#jobs = this.#jobs.slice(this.#head)
        this.#head = 0
      }
    }
    this.#jobs = []
    this.#head = 0
    this.#draining = undefined
  }

  /** Throws what ended the sender, if something did. */
  #checkError(): void {
    if (this.#error !== undefined) throw this.#error
  }

  /** Records what ended the sender, a system error (the first wins). A bad argument or
   * use after close is no such error: it says nothing of the frames. */
  #fail(error: unknown): unknown {
    const ends = !(error instanceof RangeError || error instanceof TypeError) && (error as { code?: unknown }).code !== 'ERR_NETRING_CLOSED'
    if (ends) this.#error ??= error
    return error
  }

  /** An error on its way to a caller: once the sender's own error has reached one, close()
   * does not throw it again. */
  #report(error: unknown): unknown {
    if (error === this.#error) this.#errorReported = true
    return error
  }

  async #sendBatch(frames: readonly Uint8Array[]): Promise<void> {
    this.#checkError()
    if (!Array.isArray(frames)) throw new TypeError(`frames must be an array of Uint8Array, got ${typeof frames}`)
    // One buffer and a length each: native code then makes no napi call per frame.
    const lengths = new Uint32Array(frames.length)
    for (let i = 0; i < frames.length; i++) {
      const frame: unknown = frames[i]
      if (!(frame instanceof Uint8Array)) throw new TypeError(`frame ${i} must be a Uint8Array, got ${typeof frame}`)
      lengths[i] = frame.length
    }
    try {
      await this.#queueAll(frames, lengths)
    } finally {
      // Frames before a bad one are in the ring too: they leave with the next kick.
      this.#scheduleKick()
    }
    await this.#turn.yield()
  }

  /** Queues `frames` (their `lengths`), waiting for room and for the pacer. */
  async #queueAll(frames: readonly Uint8Array[], lengths: Uint32Array): Promise<void> {
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames)
    // close() waits for this batch (#draining), so the native sender stays open.
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
            throw this.#fail(fromNative(error))
          })
          this.#checkError()
          // The wait resolves from native code straight into this continuation; give
          // the event loop a turn so timers, I/O and captures run between waits.
          await nextTurn()
          this.#turn.reset()
        }
      }
      // Paced frames leave when they are due, not when the batch ends.
      if (this.#rate !== undefined) this.#kick()
    }
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
      try {
        this.#kick()
      } catch {
        // #fail kept it for the next send, flush or close: nobody waits on this turn.
      }
    })
  }

  /** Hands the ring's queued frames to the kernel now; an error ends the sender. */
  #kick(): void {
    if (this.scheme !== 'ring' || this.#released || this.#error !== undefined) return
    try {
      this.#native.kick()
    } catch (error) {
      throw this.#fail(fromNative(error))
    }
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

  /** Resolves when the kernel has finished with every frame of the sends called before
   * it (a flush waits its turn behind them, and close() waits for it). */
  flush(): Promise<void> {
    return this.#enqueue(undefined)
  }

  async #flush(): Promise<void> {
    this.#checkError()
    await call(() => this.#native.flush()).catch((error: unknown) => {
      throw this.#fail(fromNative(error))
    })
  }

  /** Running totals: `sent` (the kernel has finished with them), `errors` (refused),
   * `queued` (accepted). */
  stats(): SenderStats {
    return this.#final ?? this.#native.stats()
  }

  /** Sends everything queued before it (also sends not awaited), waits until the kernel
   * has finished with it, then releases the ring and socket at once. Resolves to the
   * final totals; rejects with what ended the sender (the interface went away) if no
   * send or flush has reported it. Idempotent: later calls return the same promise. */
  close(): Promise<SenderStats> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener('abort', this.#onAbort)
      while (this.#draining !== undefined) await this.#draining
      let closeError: unknown
      try {
        this.#final = await this.#native.close()
      } catch (error) {
        closeError = this.#fail(fromNative(error))
      }
      this.#released = true
      if (this.#error !== undefined) {
        // Told once: a send or flush that reported it already leaves close() the totals
        // (which show what was not sent).
        if (!this.#errorReported) {
          this.#errorReported = true
          throw this.#error
        }
      } else if (closeError !== undefined) {
        throw closeError
      }
      return (this.#final ??= this.#native.stats())
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
