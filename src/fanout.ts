/**
 * Fan-out across worker threads: `openFanout()` starts N workers, each with one capture
 * in the same PACKET_FANOUT group on one interface, so the kernel shares the interface's
 * packets among them (each packet to exactly one). Every worker loads a handler module
 * and calls its default export for each packet of its share.
 *
 * This file is also the workers' entry point: loaded in a worker started by
 * `openFanout()`, it runs the capture loop (see `runWorker` at the end).
 */
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads'

import { open, type Capture } from './capture'
import type { CaptureStats, FanoutOptions } from './native'
import type { CaptureOptions, FanoutMode } from './options'
import type { Packet } from './packet'

/** What a handler's default export receives with each packet. */
export interface FanoutContext {
  /** This worker's index, 0 to `workers - 1`. */
  readonly worker: number
  /** Number of workers in the group. */
  readonly workers: number
  /** The PACKET_FANOUT group id. */
  readonly group: number
  /** `options.data`, as each worker received it (a structured clone). */
  readonly data: unknown
}

/**
 * The default export of a handler module: called in its worker with each packet of the
 * worker's share, one at a time. A returned promise is awaited before the next packet.
 * The packet is valid for as long as it is held (see `Packet`). A handler module may
 * also export `done(context)`: called once after its worker's capture closed, and what
 * it returns (or resolves to), if structured-cloneable, is the worker's entry in
 * `FanoutReport.results`.
 */
export type FanoutHandler = (packet: Packet, context: FanoutContext) => void | Promise<void>

/** Options of `openFanout()`: those of a capture, plus the workers and their handler. */
export interface FanoutGroupOptions extends Omit<CaptureOptions, 'fanout' | 'signal'> {
  /** Worker threads, each with one capture in the group, 1 to 256.
   * Default: `os.availableParallelism()`. */
  workers?: number
  /** The handler module each worker loads: a path (relative to the current directory)
   * or a URL. Its default export is a `FanoutHandler`. */
  handler: string | URL
  /** The group. `mode` defaults to `'hash'` (each flow stays with one worker); without a
   * `group` id the kernel picks an unused one, which `FanoutGroup.group` tells. */
  fanout?: Partial<FanoutOptions>
  /** Passed to every handler as `context.data`; must be structured-cloneable. */
  data?: unknown
  /** Closes the group when aborted; an `openFanout()` still starting rejects with `signal.reason`. */
  signal?: AbortSignal
}

/** Statistics of every worker's capture, and their sums. */
export interface FanoutStats {
  /** Sums over the workers. */
  total: CaptureStats
  /** One entry per worker, by index: running totals of its capture (see `Capture.stats()`). */
  workers: CaptureStats[]
}

/** What a group leaves when it has closed. */
export interface FanoutReport extends FanoutStats {
  /** What each worker's handler module `done()` returned, by worker index (`undefined`
   * without one). */
  results: unknown[]
}

/** Most workers: every kernel since PACKET_FANOUT (3.1) takes 256 members per group. */
const MAX_WORKERS = 256
/** Marks the `workerData` of a worker this file started. */
const WORKER_KEY = 'netring:fanout-worker'
const ZERO: CaptureStats = { received: 0, dropped: 0, freezes: 0, delivered: 0 }
/** The workers' entry point: this file as compiled JavaScript, `dist/src/fanout.js`
 * (the package runs from `dist/`, where `loader.js` finds the binding). */
const WORKER_ENTRY = join(__dirname, 'fanout.js')

/** An error as it crosses threads: class, message and `code` survive. */
interface WireError {
  name: string
  message: string
  code?: string
  stack?: string
}

interface WorkerInit {
  [WORKER_KEY]: true
  uri: string
  options: Omit<CaptureOptions, 'signal'>
  handler: string
  index: number
  workers: number
  data: unknown
}

type FromWorker =
  | { type: 'open'; group: number }
  | { type: 'stats'; id: number; stats: CaptureStats }
  | { type: 'done'; stats: CaptureStats; result: unknown; error?: WireError }

type ToWorker = { type: 'stats'; id: number } | { type: 'close' }

function toWire(error: unknown): WireError {
  if (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string') {
    const { name, message, code, stack } = error as NodeJS.ErrnoException
    return {
      name: typeof name === 'string' ? name : 'Error',
      message,
      code: typeof code === 'string' ? code : undefined,
      stack: typeof stack === 'string' ? stack : undefined,
    }
  }
  return { name: 'Error', message: String(error) }
}

function fromWire(wire: WireError, worker: number): Error {
  const Class = wire.name === 'TypeError' ? TypeError : wire.name === 'RangeError' ? RangeError : Error
  const error = new Class(wire.message)
  if (wire.code !== undefined) Object.assign(error, { code: wire.code })
  if (wire.stack !== undefined) error.stack = `${wire.stack}\n    at fanout worker ${worker}`
  return error
}

function sum(stats: CaptureStats[]): CaptureStats {
  const total = { ...ZERO }
  for (const s of stats) {
    total.received += s.received
    total.dropped += s.dropped
    total.freezes += s.freezes
    total.delivered += s.delivered
  }
  return total
}

/** The main thread's side of one worker. */
class Member {
  readonly worker: Worker
  /** Resolves with the group id once the capture is open; rejects if it could not open. */
  readonly opened: Promise<number>
  /** Resolves once the thread has exited. */
  readonly exited: Promise<void>
  /** Totals as of the last answer, final once `finished`. */
  last: CaptureStats = ZERO
  result: unknown
  finished = false
  #nextId = 0
  readonly #asks = new Map<number, (stats: CaptureStats) => void>()

  constructor(
    readonly index: number,
    init: WorkerInit,
    onFailure: (error: Error) => void,
  ) {
    this.worker = new Worker(WORKER_ENTRY, { workerData: init })
    let settleOpen: { resolve: (group: number) => void; reject: (error: Error) => void } | undefined
    this.opened = new Promise((resolve, reject) => (settleOpen = { resolve, reject }))
    this.opened.catch(() => {}) // the caller awaits it; a late failure goes to onFailure
    const fail = (error: Error): void => {
      if (settleOpen !== undefined) settleOpen.reject(error)
      else onFailure(error)
      settleOpen = undefined
    }
    this.worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'open':
          settleOpen?.resolve(message.group)
          settleOpen = undefined
          break
        case 'stats':
          this.last = message.stats
          this.#asks.get(message.id)?.(message.stats)
          this.#asks.delete(message.id)
          break
        case 'done':
          this.finished = true
          this.last = message.stats
          this.result = message.result
          this.#answerAll()
          if (message.error !== undefined) fail(fromWire(message.error, index))
          break
      }
    })
    // An uncaught error in the worker; it may arrive as a plain object, not an Error.
    this.worker.on('error', (error: unknown) => fail(fromWire(toWire(error), index)))
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.#answerAll()
        if (!this.finished) fail(new Error(`fanout worker ${index} exited with code ${code} before it finished`))
        this.finished = true
        resolve()
      }),
    )
  }

  send(message: ToWorker): void {
    if (!this.finished) this.worker.postMessage(message)
  }

  /** The worker's current totals (its last ones once it has finished). */
  stats(): Promise<CaptureStats> {
    if (this.finished) return Promise.resolve(this.last)
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#asks.set(id, resolve)
      this.send({ type: 'stats', id })
    })
  }

  #answerAll(): void {
    for (const answer of this.#asks.values()) answer(this.last)
    this.#asks.clear()
  }
}

/**
 * N captures in one PACKET_FANOUT group, one per worker thread. Made by `openFanout()`.
 */
export class FanoutGroup {
  /** E.g. `ring:eth1`. */
  readonly uri: string
  /** The PACKET_FANOUT group id (per network namespace). */
  readonly group: number
  readonly mode: FanoutMode
  /** Number of workers. */
  readonly workers: number
  /** The workers' thread ids, by index. */
  readonly threadIds: readonly number[]
  /**
   * Settles when the group has ended: resolves with the final report after `close()` or
   * an abort, rejects with the first failure of any worker (its handler threw, its
   * capture failed, or the thread died), after every worker was stopped. Handle it (or
   * await `close()`): a failure nobody handles is an unhandled rejection, as an
   * exception in a `for await` loop would be.
   */
  readonly done: Promise<FanoutReport>
  readonly #members: Member[]
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => void this.close().catch(() => {})
  #closing = false
  #failure: Error | undefined
  #settle!: { resolve: (report: FanoutReport) => void; reject: (error: Error) => void }

  /** @internal use `openFanout()`; sets `failures.fail` to what a worker failure calls */
  constructor(
    uri: string,
    group: number,
    mode: FanoutMode,
    members: Member[],
    signal: AbortSignal | undefined,
    failures: { fail?: (error: Error) => void },
  ) {
    this.uri = uri
    this.group = group
    this.mode = mode
    this.workers = members.length
    this.threadIds = members.map((m) => m.worker.threadId)
    this.#members = members
    this.#signal = signal
    this.done = new Promise((resolve, reject) => (this.#settle = { resolve, reject }))
    signal?.addEventListener('abort', this.#onAbort, { once: true })
    failures.fail = (error) => {
      this.#failure ??= error
      void this.close().catch(() => {})
    }
  }

  get closed(): boolean {
    return this.#closing
  }

  /** Every worker's running totals (read from its capture now) and their sums. */
  async stats(): Promise<FanoutStats> {
    const workers = await Promise.all(this.#members.map((m) => m.stats()))
    return { total: sum(workers), workers }
  }

  /**
   * Closes every worker's capture, lets each handler module's `done()` run, and waits
   * for the threads to exit. Resolves to the final report; rejects as `done` does.
   * Idempotent: later calls return `done`.
   */
  close(): Promise<FanoutReport> {
    if (!this.#closing) {
      this.#closing = true
      this.#signal?.removeEventListener('abort', this.#onAbort)
      for (const member of this.#members) member.send({ type: 'close' })
      void Promise.all(this.#members.map((m) => m.exited)).then(() => {
        if (this.#failure !== undefined) return this.#settle.reject(this.#failure)
        const workers = this.#members.map((m) => m.last)
        this.#settle.resolve({ total: sum(workers), workers, results: this.#members.map((m) => m.result) })
      })
    }
    return this.done
  }
}

/** Splits `ring:eth1` / `int:eth1`; a bare name means `ring:`. */
function target(uri: string): string {
  if (typeof uri !== 'string') throw new TypeError(`interface must be a string, got ${typeof uri}`)
  return uri.includes(':') ? uri : `ring:${uri}`
}

function handlerUrl(handler: unknown): string {
  if (handler instanceof URL) return handler.href
  if (typeof handler !== 'string' || handler === '') {
    throw new TypeError(`option handler must be a module path or URL, got ${handler === '' ? 'an empty string' : typeof handler}`)
  }
  // A URL (file:, data:, …) as it is; anything else is a path.
  return /^[a-z][a-z0-9+.-]+:/i.test(handler) ? handler : pathToFileURL(resolve(handler)).href
}

/**
 * Opens one capture per worker thread on `iface` (`ring:IFACE`, `int:IFACE`, or a bare
 * name for `ring:`), all in one PACKET_FANOUT group, and resolves once every capture is
 * open, so no packet meant for the group is missed from then on. Each worker calls the
 * `handler` module's default export with each packet of its share. Rejects (having
 * stopped any worker already started) when a capture cannot open or the handler cannot
 * be loaded, with the worker's error (its class and `code` kept).
 *
 * ```ts
 * const group = await openFanout('eth1', { workers: 4, handler: './count.js' })
 * // … later
 * const { total, workers } = await group.close()
 * ```
 */
export async function openFanout(iface: string, options: FanoutGroupOptions): Promise<FanoutGroup> {
  const uri = target(iface)
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${options === null ? 'null' : typeof options}`)
  }
  const { workers = availableParallelism(), handler, fanout = {}, data, signal, ...capture } = options
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new RangeError(`workers ${workers} must be an integer from 1 to ${MAX_WORKERS}`)
  }
  if (typeof fanout !== 'object' || fanout === null) {
    throw new TypeError(`option fanout must be an object, got ${fanout === null ? 'null' : typeof fanout}`)
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`option signal must be an AbortSignal, got ${typeof signal}`)
  }
  signal?.throwIfAborted()
  const url = handlerUrl(handler)
  const mode: FanoutMode = fanout.mode ?? 'hash'
  // Failures while opening are collected; once the group exists it takes them.
  const failures: Error[] = []
  const hooks: { fail?: (error: Error) => void } = {}
  const onFailure = (error: Error): void => {
    if (hooks.fail !== undefined) hooks.fail(error)
    else failures.push(error)
  }
  const start = (index: number, id: number | undefined): Member =>
    new Member(
      index,
      {
        [WORKER_KEY]: true,
        uri,
        options: { ...capture, fanout: { ...fanout, mode, group: id } },
        handler: url,
        index,
        workers,
        data,
      },
      onFailure,
    )
  const members: Member[] = []
  const aborted = new Promise<never>((_, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
  aborted.catch(() => {})
  try {
    // The first member makes the group (with the kernel's pick of id when none is
    // given); the others join it by id, so a stranger's group is never joined by chance.
    members.push(start(0, fanout.group))
    const id = await Promise.race([members[0].opened, aborted])
    for (let i = 1; i < workers; i++) members.push(start(i, id))
    await Promise.race([Promise.all(members.map((m) => m.opened)), aborted])
    if (failures.length > 0) throw failures[0]
    return new FanoutGroup(uri, id, mode, members, signal, hooks)
  } catch (error) {
    for (const member of members) member.send({ type: 'close' })
    await Promise.all(members.map((m) => m.exited))
    throw error
  }
}

/** The worker's side: open the capture, feed the handler, answer the main thread. */
async function runWorker(port: MessagePort, init: WorkerInit): Promise<void> {
  let capture: Capture | undefined
  let closing = false
  const onMessage = (message: ToWorker): void => {
    if (message.type === 'stats') {
      port.postMessage({ type: 'stats', id: message.id, stats: capture?.stats() ?? ZERO } satisfies FromWorker)
    } else {
      closing = true
      capture?.close()
    }
  }
  port.on('message', onMessage)
  let error: WireError | undefined
  let result: unknown
  let module: { default?: unknown; done?: unknown } | undefined
  let context: FanoutContext | undefined
  try {
    module = (await import(init.handler)) as { default?: unknown; done?: unknown }
    // A CommonJS module compiled from `export default` has its function one level down.
    const exported = module.default as { default?: unknown } | undefined
    const handler = typeof exported === 'function' ? exported : exported?.default
    if (typeof handler !== 'function') {
      throw new TypeError(`handler module ${init.handler} must export a function as default, got ${typeof handler}`)
    }
    capture = open(init.uri, init.options)
    context = Object.freeze({ worker: init.index, workers: init.workers, group: capture.fanoutGroup as number, data: init.data })
    port.postMessage({ type: 'open', group: context.group } satisfies FromWorker)
    // Told to close while opening (another worker failed): no loop at all.
    const batches = closing ? [] : capture.batches()
    for await (const batch of batches) {
      for (const packet of batch) {
        const returned: unknown = handler(packet, context)
        if (typeof (returned as Promise<void> | undefined)?.then === 'function') await returned
      }
    }
  } catch (e) {
    error = toWire(e)
  }
  capture?.close()
  const done = module?.done ?? (module?.default as { done?: unknown } | undefined)?.done
  if (error === undefined && context !== undefined && typeof done === 'function') {
    try {
      result = await done(context)
    } catch (e) {
      error = toWire(e)
    }
  }
  const stats = capture?.stats() ?? ZERO
  try {
    port.postMessage({ type: 'done', stats, result, error } satisfies FromWorker)
  } catch (e) {
    port.postMessage({ type: 'done', stats, result: undefined, error: error ?? toWire(e) } satisfies FromWorker)
  }
  // Nothing else holds the thread: it exits once the message is out.
  port.off('message', onMessage)
}

if (!isMainThread && parentPort !== null && (workerData as Partial<WorkerInit> | null)?.[WORKER_KEY] === true) {
  void runWorker(parentPort, workerData as WorkerInit)
}
