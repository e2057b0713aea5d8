/** Native recording: counting and writing to a file with no packet crossing into JavaScript. */
import { call } from './errors'
import { NativeRecorder, type RecordOptions, type RecordProgress } from './native'
import { checkOptions, RECORD_OPTIONS, type CaptureOptions } from './options'
import { parseUri } from './uri'

/** The keys of the output options, which go to the recorder, not the capture: a
 * `Record` of every key, so that a new one cannot be left out. */
const OUTPUT: Record<keyof RecordOptions, true> = { write: true, format: true, count: true, countFilters: true, packetBuffered: true, rotate: true }

/**
 * Counts, and with `write` saves to a pcap/pcapng file, the packets of `uri` (`ring:`,
 * `int:` or `pcapfile:`) on a native thread: no packet crosses into JavaScript. Capture and
 * output file are opened before this returns, so their errors throw here. Poll
 * `progress()`; `stop()` ends it and returns the totals (or throws what ended it).
 */
export function record(uri: string, options?: Omit<CaptureOptions, 'signal' | 'zeroCopy'> & RecordOptions): Recorder {
  const [scheme, target] = parseUri(uri)
  checkOptions(options, RECORD_OPTIONS)
  const capture: Record<string, unknown> = {}
  const output: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options ?? {})) (Object.hasOwn(OUTPUT, key) ? output : capture)[key] = value
  const native = call(() => new NativeRecorder(target, scheme, capture, output as RecordOptions))
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
