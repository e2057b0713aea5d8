/** A pcap/pcapng file read through the interface `Capture` uses for a live socket. */
import { NativeFileReader, RECORD, type BpfInstruction, type CaptureStats, type NativeBatch } from './native'

/** A pcap/pcapng file behind the calls `Capture` makes of a live one; `wait()` says the
 * file has ended. A filter runs on each packet in native code (libpcap compiles it for
 * the file's link type, netring's BPF interpreter runs it). `stats()`: `received` and
 * `delivered` are the packets read that the filter accepted. */
export class FileSource {
  readonly #reader: NativeFileReader
  #delivered = 0
  readonly fanoutGroup = null

  constructor(path: string, filter?: string | BpfInstruction[]) {
    this.#reader = new NativeFileReader(path, filter)
  }

  /** The file's `LINKTYPE_*`: the pcap header's, or the first pcapng interface's. */
  get linkType(): number {
    return this.#reader.linkType
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
    throw new TypeError('a pcapfile: capture takes its filter when it opens, not setFilter()')
  }

  close(): void {
    this.#reader.close()
  }
}
