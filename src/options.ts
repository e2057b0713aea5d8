/**
 * The options of captures and senders, and the checks of their types: every option is
 * checked before any system call, here for shape and natively for ranges and geometry.
 */
import type { BpfInstruction, CaptureOptions as NativeCaptureOptions, FanoutOptions, RecordOptions, RotateOptions, TxOptions as NativeTxOptions } from './native'

/** How a fanout group picks the member for each packet; see `FanoutOptions.mode`. */
export type FanoutMode = FanoutOptions['mode']
/** A capture filter: a tcpdump expression, or a classic BPF program as `tcpdump -dd` prints it. */
export type Filter = string | readonly BpfInstruction[]

/** Options of a capture; see each field for its default. */
export interface CaptureOptions extends NativeCaptureOptions {
  /** Closes the capture when aborted; a pending or later `next()` rejects with `signal.reason`. */
  signal?: AbortSignal
}

/** Options of a sender; see each field for its default. */
export interface TxOptions extends NativeTxOptions {
  /** Most frames per second; frames wait (never drop) to keep to it. Default: no limit. */
  rate?: number
  /** Closes the sender when aborted (queued frames are still sent); later sends reject
   * with `signal.reason`. */
  signal?: AbortSignal
}

/** What `checkOptions` checks an option's value against. */
export type OptionType = 'number' | 'boolean' | 'string' | 'signal' | 'filter' | 'fanout' | 'strings' | 'rotate'

export const CAPTURE_OPTIONS: Record<keyof CaptureOptions, OptionType> = {
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
export function checkFilter(filter: unknown, what: string): void {
  if (typeof filter === 'string') return
  if (!Array.isArray(filter)) {
    throw new TypeError(`${what} must be a string (tcpdump syntax) or an array of { code, jt, jf, k }, got ${filter === null ? 'null' : typeof filter}`)
  }
  // An index loop, not forEach, which skips the holes of a sparse array.
  for (let i = 0; i < filter.length; i++) {
    const ins: unknown = filter[i]
    if (typeof ins !== 'object' || ins === null) {
      throw new TypeError(`filter[${i}] must be an object { code, jt, jf, k }, got ${ins === null ? 'null' : typeof ins}`)
    }
    for (const key of BPF_FIELDS) {
      const value = (ins as Record<string, unknown>)[key]
      if (typeof value !== 'number') throw new TypeError(`filter[${i}].${key} must be a number, got ${typeof value}`)
    }
  }
}

/** Shape checks of the `fanout` option; ranges and modes are checked natively. */
function checkFanout(fanout: unknown): void {
  checkOptions(fanout, FANOUT_OPTIONS, 'fanout option')
  if ((fanout as FanoutOptions).mode === undefined) {
    throw new TypeError(`fanout option mode is required: 'hash', 'lb', 'cpu', 'rollover', 'random' or 'queue'`)
  }
}

export const TX_OPTIONS: Record<keyof TxOptions, OptionType> = {
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

/** Options of `record()`: a capture's, less those that only a JavaScript reader uses,
 * plus the output. */
export const RECORD_OPTIONS: Record<keyof (Omit<CaptureOptions, 'signal' | 'zeroCopy'> & RecordOptions), OptionType> = {
  ...(({ signal: _signal, zeroCopy: _zeroCopy, ...rest }) => rest)(CAPTURE_OPTIONS),
  write: 'string',
  format: 'string',
  count: 'number',
  countFilters: 'strings',
  packetBuffered: 'boolean',
  rotate: 'rotate',
}

const ROTATE_OPTIONS: Record<keyof RotateOptions, OptionType> = { size: 'number', seconds: 'number', files: 'number' }

/** Type checks against `types`; ranges and geometry rules are checked natively, before any syscall. */
export function checkOptions(options: unknown, types: Record<string, OptionType>, what = 'option'): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${what}s must be an object, got ${options === null ? 'null' : typeof options}`)
  }
  for (const [key, value] of Object.entries(options)) {
    // Own keys only: "constructor" or "toString" are not options.
    const want = Object.hasOwn(types, key) ? types[key] : undefined
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
    if (want === 'rotate') {
      checkOptions(value, ROTATE_OPTIONS, 'rotate option')
      continue
    }
    if (want === 'strings') {
      if (!Array.isArray(value)) throw new TypeError(`${what} ${key} must be an array of strings, got ${typeof value}`)
      for (let i = 0; i < value.length; i++) {
        if (typeof value[i] !== 'string') throw new TypeError(`${what} ${key}[${i}] must be a string, got ${typeof value[i]}`)
      }
      continue
    }
    const ok = want === 'signal' ? value instanceof AbortSignal : typeof value === want
    if (!ok) {
      throw new TypeError(`${what} ${key} must be ${want === 'signal' ? 'an AbortSignal' : `a ${want}`}, got ${typeof value}`)
    }
  }
}
