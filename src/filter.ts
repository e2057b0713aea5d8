/** Compiling tcpdump expressions with libpcap, for users who want the program itself. */
import { call } from './errors'
import { compileFilter as nativeCompileFilter, type BpfInstruction } from './native'
import { checkOptions } from './options'

/**
 * Compiles a tcpdump-syntax filter into a classic BPF program with libpcap (loaded at
 * run time; Debian package `libpcap0.8`) for frames of `linkType` (a libpcap
 * `LINKTYPE_*`, as `capture.linkType` says; default 1, Ethernet), as `tcpdump -y TYPE
 * -dd` prints it. Accepting returns keep `snaplen` bytes (default 262144). Throws a TypeError with
 * libpcap's message when the expression does not compile, and an Error with code
 * `ERR_NETRING_NO_LIBPCAP` when libpcap is not installed. Host names in the expression
 * are looked up (DNS) while it compiles, blocking the thread; prefer addresses.
 */
export function compileFilter(expression: string, options?: { snaplen?: number; linkType?: number }): BpfInstruction[] {
  if (typeof expression !== 'string') throw new TypeError(`expression must be a string, got ${typeof expression}`)
  checkOptions(options, { snaplen: 'number', linkType: 'number' })
  return call(() => nativeCompileFilter(expression, options?.snaplen, options?.linkType))
}
