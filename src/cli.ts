#!/usr/bin/env node
/**
 * The `netring` command: tracestats (`stats`), capture to a file or printed as tcpdump
 * prints it, replay of a file, and the list of interfaces. Counting and writing run on a
 * native thread (`record()`); printing reads the decoded packets (`print.ts`). Exit codes as tcpdump's: 2 for bad arguments
 * (with the usage line), 1 for a failure at run time (one message), 0 otherwise.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'

import { open } from './capture'
import { interfaces as listInterfaces } from './interfaces'
import type { RecordProgress } from './native'
import { PacketPrinter, type PrintOptions, type TimeFormat } from './print'
import { record } from './record'
import { openTx } from './sender'

const USAGE: Record<string, string> = {
  stats: 'usage: netring stats <uri> | -i IFACE | -r FILE [-c COUNT] [--duration SECONDS] [-f FILTER] [-s SNAPLEN] [-p] [-Q in|out|inout] [RING OPTIONS] [--netns NAME] [EXPRESSION]',
  capture:
    'usage: netring capture <uri> | -i IFACE | -r FILE [-w FILE [-U] [-C SIZE] [-G SECONDS] [-W N] [--format pcap|pcap-ns|pcapng] | -q -e -v -x -X -t -l] [-c COUNT] [--duration SECONDS] [-s SNAPLEN] [-p] [-Q in|out|inout] [RING OPTIONS] [--netns NAME] [EXPRESSION]',
  replay: 'usage: netring replay FILE <uri> [--pps N | --timing original [--speed X]] [--loop N] [--netns NAME]',
  interfaces: 'usage: netring interfaces [--netns NAME] [IFACE]',
}
const MAIN_USAGE = 'usage: netring <stats|capture|replay|interfaces> [options]  (netring COMMAND --help, netring --version)'

/** What tcpdump users type: the source as -i IFACE (a bare name means ring:IFACE),
 * -r FILE or a URI, and the filter as the words after it. */
const SOURCE_HELP = `<uri> is ring:IFACE, int:IFACE or pcapfile:PATH; a bare interface name means
ring:IFACE, as do -i IFACE; -r FILE means pcapfile:FILE. Words after the source are a
tcpdump filter EXPRESSION (the kernel filter), as with tcpdump.`

/** The help lines of the source options, which stats and capture share. */
const SOURCE_FLAGS = `  -i, --interface IFACE capture on IFACE (ring:IFACE); any for every interface
  -r, --read FILE       read FILE (pcap or pcapng; - for standard input)
  -Q, --direction in|out|inout
                        only packets that arrive (in) or leave (out); default inout`

/** The help lines of the capture's options, which stats and capture share. */
const CAPTURE_FLAGS = `  -s, --snaplen N       bytes kept per packet (1 to 262144; 0 means 262144)
  -p, --no-promiscuous-mode
                        don't put the interface into promiscuous mode
  -n                    accepted for tcpdump's sake: netring never resolves names
      --tpacket 2|3     ring version: TPACKET_V3 blocks (default) or V2 frames
      --blocks N        ring blocks (with V3 1 MiB each, default 32)
      --frames N        V2 ring frames of 2 KiB (default 4096)`

const HELP: Record<string, string> = {
  stats: `${USAGE.stats}

Counts the packets and bytes of <uri> in native code until Ctrl-C, COUNT packets,
SECONDS or the end of the file, then prints packets, bytes, kernel drops, packets
received, process CPU time and (from 10,000 packets on) CPU per packet. On a terminal a
progress line (rate, total, drops) is updated about once a second.
${SOURCE_HELP}

${SOURCE_FLAGS}
  -c, --count COUNT     stop after COUNT packets
      --duration SECONDS
                        stop after SECONDS
  -f, --filter FILTER   also count what this tcpdump filter matches; repeatable, each
                        with its own count (run in native code on every packet)
${CAPTURE_FLAGS}
      --netns NAME      open the socket in network namespace NAME (/run/netns/NAME)
  -h, --help            this help`,
  capture: `${USAGE.capture}

With -w, writes the packets of <uri> to FILE without passing them through JavaScript:
pcap with microsecond timestamps, or pcapng when FILE ends in .pcapng (or as --format
says). As tcpdump does, FILE is created once the capture is open and its filter
compiled, and before the first packet is read, so an unwritable path fails at once and
a killed capture loses at most its last second (or 64 KiB) of packets.

Without -w, prints one line per packet as tcpdump -nn does (Ethernet, Linux cooked,
ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6 and DNS decoded; times in local time), and
for a live capture at the end how many packets were captured, received and dropped.
${SOURCE_HELP}

${SOURCE_FLAGS}
  -w, --write FILE      the output file (required; - for standard output), created once
                        the capture and its filter work: a typo never touches a file
  -U, --packet-buffered write each batch to FILE as soon as it is read (otherwise the
                        64 KiB buffer is written when full and at least every second)
  -C, --file-size SIZE  a new file once FILE holds more than SIZE million bytes (a k, m
                        or g after it: KiB, MiB, GiB); the next ones are FILE1, FILE2, …
  -G, --rotate-seconds SECONDS
                        a new file every SECONDS; FILE is a strftime template
  -W, --file-count N    with -C, at most N files, reused in turn (FILE0…); with -G
                        alone, stop after N files
  -q                    print less protocol detail (tcp N, UDP, length N)
  -e                    print the link-layer header too
  -v                    print the IP header's fields (tcpdump's first -v line)
  -x, -xx               print each packet in hex (-xx: from the link header on)
  -X, -XX               print each packet in hex and ASCII
  -t, -tt, -ttt, -tttt, -ttttt
                        no time, seconds since 1970, time since the previous packet,
                        date and time, time since the first packet
  -l                    write each line as it is made (it goes out per batch otherwise)
  -c, --count COUNT     stop after COUNT packets
      --duration SECONDS
                        stop after SECONDS
  -f, --filter FILTER   a tcpdump filter (kernel filter), instead of an EXPRESSION
${CAPTURE_FLAGS}
      --format FORMAT   pcap, pcap-ns or pcapng
      --netns NAME      open the socket in network namespace NAME
  -h, --help            this help`,
  replay: `${USAGE.replay}

Sends every frame of FILE (pcap or pcapng; a path or pcapfile:PATH), in order, through
the TX ring of <uri> (ring:IFACE, int:IFACE or a bare interface name). FILE's link type
must be the interface's (raw IP may go onto a raw-IP interface): a Linux cooked capture
(tcpdump -i any) or a raw-IP file onto Ethernet is refused before anything is sent.

      --pps N           at most N frames per second (default: as fast as the ring goes)
      --timing original keep the file's own gaps between frames
      --speed X         with the file's gaps divided by X (2: twice as fast); implies
                        --timing original
      --loop N          send the file N times (default 1)
      --netns NAME      open the socket in network namespace NAME
  -h, --help            this help`,
  interfaces: `${USAGE.interfaces}

Lists the network interfaces (read from rtnetlink) as \`ip -br addr\` does: name,
operational state, addresses; then index, MTU, link type, MAC, flags and the kernel's
counters (rx/tx packets, bytes, errors, drops) on an indented line. With IFACE, that one.

      --netns NAME      the interfaces of network namespace NAME
  -h, --help            this help`,
}

/** Error codes of netring that mean the arguments were wrong (see crates/core/src/error.rs). */
const BAD_ARGUMENT_CODES = ['ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE']

/** Bad arguments: tcpdump's exit status 2, with the usage line. */
class UsageError extends Error {}

const common = {
  help: { type: 'boolean', short: 'h' },
  netns: { type: 'string' },
} as const

/** Where packets come from, and tcpdump's habits around it. */
const source = {
  interface: { type: 'string', short: 'i' },
  read: { type: 'string', short: 'r' },
  snaplen: { type: 'string', short: 's' },
  'no-promiscuous-mode': { type: 'boolean', short: 'p' },
  numeric: { type: 'boolean', short: 'n', multiple: true },
  direction: { type: 'string', short: 'Q' },
} as const

/**
 * tcpdump's `-Q in|out|inout`: which way the packets go. `in` is PACKET_IGNORE_OUTGOING
 * (libpcap's way too); `out` puts libpcap's `outbound` (the kernel's packet type) before
 * the filter. Both run in the kernel, so what they leave out is not counted as received.
 */
function direction(values: Values, uri: string, filter: string | undefined): { ignoreOutgoing?: boolean; filter?: string } {
  const way = values.direction as string | undefined
  if (way === undefined || way === 'inout') return { filter }
  if (way !== 'in' && way !== 'out') throw new UsageError(`-Q ${way} must be in, out or inout`)
  if (uri.startsWith('pcapfile:')) throw new UsageError('-Q needs a live capture: a file has no direction to filter on')
  if (way === 'in') return { ignoreOutgoing: true, filter }
  return { filter: filter === undefined ? 'outbound' : `outbound and (${filter})` }
}

/** The geometry of a `ring:` capture, as openRing's version, blockCount and frameCount. */
const ring = {
  tpacket: { type: 'string' },
  blocks: { type: 'string' },
  frames: { type: 'string' },
} as const

const OPTIONS: Record<string, ParseArgsConfig['options']> = {
  stats: {
    ...common,
    ...ring,
    ...source,
    count: { type: 'string', short: 'c' },
    duration: { type: 'string' },
    filter: { type: 'string', short: 'f', multiple: true },
  },
  capture: {
    ...common,
    ...ring,
    ...source,
    write: { type: 'string', short: 'w' },
    'packet-buffered': { type: 'boolean', short: 'U' },
    'file-size': { type: 'string', short: 'C' },
    'rotate-seconds': { type: 'string', short: 'G' },
    'file-count': { type: 'string', short: 'W' },
    count: { type: 'string', short: 'c' },
    duration: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    link: { type: 'boolean', short: 'e' },
    verbose: { type: 'boolean', short: 'v', multiple: true },
    hex: { type: 'boolean', short: 'x', multiple: true },
    ascii: { type: 'boolean', short: 'X', multiple: true },
    time: { type: 'boolean', short: 't', multiple: true },
    'line-buffered': { type: 'boolean', short: 'l' },
    filter: { type: 'string', short: 'f', multiple: true },
    format: { type: 'string' },
  },
  replay: { ...common, pps: { type: 'string' }, loop: { type: 'string' }, timing: { type: 'string' }, speed: { type: 'string' } },
  interfaces: { help: { type: 'boolean', short: 'h' }, netns: { type: 'string' } },
}

type Values = Record<string, string | boolean | string[] | undefined>

function positiveNumber(values: Values, name: string, integer = true): number | undefined {
  const text = values[name]
  if (text === undefined) return undefined
  const n = Number(text)
  if (typeof text !== 'string' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} ${String(text)} must be a positive ${integer ? 'integer' : 'number'}`)
  }
  return n
}

/** capture's kernel filter: one -f, or the EXPRESSION words, not both. */
function kernelFilter(values: Values, expression: string | undefined): string | undefined {
  const filters = values.filter as string[] | undefined
  if (filters !== undefined && filters.length > 1) {
    throw new UsageError('capture takes one -f (it runs as the kernel filter)')
  }
  const option = filters?.[0]
  if (option !== undefined && expression !== undefined) throw new UsageError('give the filter as -f or as an EXPRESSION, not both')
  return option ?? expression
}

/** What -s, -p, the ring flags and --netns ask of a capture. */
function captureFlags(values: Values, uri: string): { snaplen?: number; version?: number; blockCount?: number; frameCount?: number; promiscuous?: boolean; netns?: string } {
  return {
    snaplen: values.snaplen === '0' ? MAX_SNAPLEN : positiveNumber(values, 'snaplen'),
    version: positiveNumber(values, 'tpacket'),
    blockCount: positiveNumber(values, 'blocks'),
    frameCount: positiveNumber(values, 'frames'),
    // Promiscuous by default on a live interface, as tcpdump; -p turns it off.
    promiscuous: uri.startsWith('pcapfile:') ? undefined : values['no-promiscuous-mode'] !== true,
    netns: values.netns as string | undefined,
  }
}

/** The largest snaplen, and what tcpdump's `-s 0` means. */
const MAX_SNAPLEN = 262_144

/** A capture's source and kernel filter, from -i, -r or the first word, and the words after it. */
interface Source {
  uri: string
  /** The EXPRESSION after the source, or undefined. */
  expression: string | undefined
}

function sourceOf(command: string, positionals: string[], values: Values): Source {
  const iface = values.interface as string | undefined
  const file = values.read as string | undefined
  if (iface !== undefined && file !== undefined) throw new UsageError('-i and -r name two sources; give one')
  let uri: string
  let words = positionals
  if (iface !== undefined) uri = iface
  else if (file !== undefined) uri = `pcapfile:${file}`
  else if (positionals.length > 0) [uri, ...words] = positionals
  else throw new UsageError(`${command} takes a source: an interface (-i IFACE), a file (-r FILE) or a <uri>`)
  // Interface names never contain ':', so a word with one is a URI.
  if (!uri.includes(':')) uri = `ring:${uri}`
  return { uri, expression: words.length > 0 ? words.join(' ') : undefined }
}

const out = (line: string): void => void process.stdout.write(`${line}\n`)
const fmt = (n: number): string => n.toLocaleString('en-US')

/** Runs a recording until it is done, `seconds` pass or SIGINT/SIGTERM; prints progress on a terminal. */
async function runRecording({ uri, expression }: Source, values: Values, write?: string): Promise<RecordProgress> {
  // stats: every -f counts on its own and drops nothing; capture: one kernel filter.
  const countFilters = write === undefined ? (values.filter as string[] | undefined) : undefined
  const count = positiveNumber(values, 'count')
  const seconds = positiveNumber(values, 'duration', false)
  const flags = captureFlags(values, uri)
  const format = values.format as 'pcap' | 'pcap-ns' | 'pcapng' | undefined
  if (format !== undefined && !['pcap', 'pcap-ns', 'pcapng'].includes(format)) {
    throw new UsageError(`--format ${format} must be pcap, pcap-ns or pcapng`)
  }
  const { filter, ignoreOutgoing } = direction(values, uri, write === undefined ? expression : kernelFilter(values, expression))
  const packetBuffered = write === undefined ? undefined : values['packet-buffered'] === true
  const rotate = write === undefined ? undefined : rotation(values)
  const recorder = record(uri, { count, ...flags, ignoreOutgoing, filter, write, format, countFilters, packetBuffered, rotate })
  // As tcpdump does: tells a script (and the tests) that the capture is open.
  process.stderr.write(`netring: ${uri.startsWith('pcapfile:') ? 'reading from' : 'listening on'} ${uri}\n`)
  const started = performance.now()
  const tty = process.stderr.isTTY === true
  let last = { at: started, packets: 0 }
  let stopping = false
  const stop = (): void => void (stopping = true)
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const p = recorder.progress()
      const now = performance.now()
      if (p.done || stopping || (seconds !== undefined && now - started >= seconds * 1000)) break
      if (tty && now - last.at >= 1000) {
        const rate = ((p.packets - last.packets) * 1000) / (now - last.at)
        process.stderr.write(`\r${fmt(Math.round(rate))} pkt/s  total ${fmt(p.packets)}  dropped ${fmt(p.dropped)}   `)
        last = { at: now, packets: p.packets }
      }
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (tty) process.stderr.write('\n')
  }
  return recorder.stop()
}

/** Below this many packets, CPU per packet is mostly start-up and idle waits: not shown. */
const CPU_PER_PACKET_FROM = 10_000

async function stats(positionals: string[], values: Values): Promise<void> {
  const source = sourceOf('stats', positionals, values)
  const cpu = process.cpuUsage()
  const p = await runRecording(source, values)
  const used = process.cpuUsage(cpu)
  const cpuSeconds = (used.user + used.system) / 1e6
  out(`packets   ${p.packets}`)
  out(`bytes     ${p.bytes}`)
  out(`dropped   ${p.dropped}`)
  out(`received  ${p.received}`)
  out(`cpu       ${cpuSeconds.toFixed(3)} s`)
  out(`cpu/pkt   ${p.packets >= CPU_PER_PACKET_FROM ? `${Math.round((cpuSeconds * 1e9) / p.packets)} ns` : '-'}`)
  const filters = (values.filter as string[] | undefined) ?? []
  p.filters.forEach((f, i) => out(`filter    ${f.packets} packets  ${f.bytes} bytes  ${filters[i]}`))
}

async function capture(positionals: string[], values: Values): Promise<void> {
  const source = sourceOf('capture', positionals, values)
  const file = values.write
  if (file === undefined) return print(source, values)
  if (typeof file !== 'string' || file === '') throw new UsageError('-w needs a FILE')
  for (const flag of PRINT_FLAGS) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for printing; with -w nothing is printed`)
  }
  const p = await runRecording(source, values, file)
  process.stderr.write(`${p.packets} packets captured, ${p.received} received by filter, ${p.dropped} dropped by kernel\n`)
}

/** tcpdump's -C SIZE units: millions of bytes, or with k, m, g binary units. */
const SIZE_UNITS: Record<string, number> = { '': 1e6, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** -C, -G and -W as record()'s `rotate`, or undefined without them. */
function rotation(values: Values): { size?: number; seconds?: number; files?: number } | undefined {
  const text = values['file-size'] as string | undefined
  let size: number | undefined
  if (text !== undefined) {
    const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(text)
    size = match === null ? NaN : Math.round(Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()])
    if (!(size >= 1)) throw new UsageError(`-C ${text} must be a positive size in millions of bytes (or with k, m, g)`)
  }
  const seconds = positiveNumber(values, 'rotate-seconds')
  const files = positiveNumber(values, 'file-count')
  if (files !== undefined && size === undefined && seconds === undefined) throw new UsageError('-W needs -C or -G')
  return size === undefined && seconds === undefined ? undefined : { size, seconds, files }
}

/** The options that shape printed lines, which mean nothing with -w. */
const PRINT_FLAGS = ['quiet', 'link', 'verbose', 'hex', 'ascii', 'time', 'line-buffered']

/** Interface names of this process's network namespace by index, read once. */
let localInterfaces: Map<number, string> | undefined

function localInterfaceName(ifindex: number): string | undefined {
  localInterfaces ??= new Map(listInterfaces().map((i) => [i.index, i.name]))
  return localInterfaces.get(ifindex)
}

/** The `-t` family: how many t's say how the time is printed. */
const TIME_FORMATS: TimeFormat[] = ['time', 'none', 'epoch', 'delta', 'date', 'since-first']

/** `-c` can stop a capture mid-batch: the packets after it are not printed. */
async function print({ uri, expression }: Source, values: Values): Promise<void> {
  for (const flag of ['packet-buffered', 'format', 'file-size', 'rotate-seconds', 'file-count']) {
    if (values[flag] !== undefined) throw new UsageError('-U, --format, -C, -G and -W are for -w FILE')
  }
  const count = positiveNumber(values, 'count')
  const seconds = positiveNumber(values, 'duration', false)
  const { filter, ignoreOutgoing } = direction(values, uri, kernelFilter(values, expression))
  const times = (values.time as boolean[] | undefined)?.length ?? 0
  if (times >= TIME_FORMATS.length) throw new UsageError(`-t is given ${times} times; at most ${TIME_FORMATS.length - 1} (-ttttt)`)
  const hex = (values.hex as boolean[] | undefined)?.length ?? 0
  const ascii = (values.ascii as boolean[] | undefined)?.length ?? 0
  const printOptions: PrintOptions = {
    quiet: values.quiet === true,
    link: values.link === true,
    verbose: (values.verbose as boolean[] | undefined)?.length ?? 0,
    time: TIME_FORMATS[times],
    hex: ascii > 0 ? 'ascii' : hex > 0 ? 'hex' : undefined,
    hexLink: Math.max(hex, ascii) > 1,
  }
  const live = !uri.startsWith('pcapfile:')
  const capture = open(uri, live ? { ...captureFlags(values, uri), filter, ignoreOutgoing } : filter === undefined ? {} : { filter })
  process.stderr.write(`netring: ${live ? 'listening on' : 'reading from'} ${uri}\n`)
  // A live capture names its namespace's interfaces; a file's indexes are looked up
  // here, as tcpdump does.
  printOptions.interfaceName = live ? (ifindex) => capture.interfaceName(ifindex) : localInterfaceName
  const printer = new PacketPrinter(printOptions)
  const lineBuffered = values['line-buffered'] === true
  const stop = (): void => capture.close()
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const timer = seconds === undefined ? undefined : setTimeout(stop, seconds * 1000)
  let printed = 0
  try {
    outer: for await (const batch of capture.batches()) {
      let text = ''
      for (const packet of batch) {
        text += `${printer.format(packet)}\n`
        printed++
        if (lineBuffered) {
          process.stdout.write(text)
          text = ''
        }
        if (printed === count) {
          process.stdout.write(text)
          break outer
        }
      }
      process.stdout.write(text)
    }
  } finally {
    clearTimeout(timer)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    const { received, dropped } = capture.stats()
    capture.close()
    // As tcpdump: the totals of a live capture (a file has nothing to add).
    if (live) process.stderr.write(`${printed} packets captured\n${received} packets received by filter\n${dropped} packets dropped by kernel\n`)
  }
}

async function replay(positionals: string[], values: Values): Promise<void> {
  if (positionals.length !== 2) throw new UsageError('replay takes FILE and <uri>')
  const [given, uri] = positionals
  const file = given.startsWith('pcapfile:') ? given.slice('pcapfile:'.length) : given
  const rate = positiveNumber(values, 'pps')
  const loops = positiveNumber(values, 'loop') ?? 1
  const speed = positiveNumber(values, 'speed', false)
  if (values.timing !== undefined && values.timing !== 'original') throw new UsageError(`--timing ${String(values.timing)} must be original`)
  const timed = values.timing === 'original' || speed !== undefined
  if (timed && rate !== undefined) throw new UsageError('--pps and --timing/--speed are two paces; give one')
  const tx = openTx(uri, { rate, netns: values.netns as string | undefined })
  let frames = 0
  try {
    for (let i = 0; i < loops; i++) {
      const source = open(`pcapfile:${file}`)
      try {
        // Before the first frame: a file of another link type sends nothing at all.
        tx.checkLinkType(source.linkType)
      } catch (error) {
        source.close()
        if (error instanceof Error) error.message = `cannot replay ${file}: ${error.message}`
        throw error
      }
      const pace = timed ? new FilePace(speed ?? 1) : undefined
      for await (const batch of source.batches()) {
        let data: Buffer[] = []
        for (const packet of batch) {
          // Frames due together go out together; a gap of a millisecond or more is slept,
          // counted from when the first frame went out.
          if (pace !== undefined && pace.wait(packet.timestamp) >= 1) {
            await tx.sendBatch(data)
            frames += data.length
            data = []
            await new Promise((resolve) => setTimeout(resolve, pace.wait(packet.timestamp)))
          }
          data.push(packet.data)
          if (pace?.started === false) {
            await tx.sendBatch(data)
            frames += data.length
            data = []
            pace.start(packet.timestamp)
          }
        }
        await tx.sendBatch(data)
        frames += data.length
      }
    }
  } finally {
    const stats = await tx.close()
    process.stderr.write(`${frames} frames replayed, ${stats.sent} sent, ${stats.errors} errors\n`)
  }
}

/** When each frame of a file is due, to keep its own gaps (divided by `speed`) from the
 * moment the first one went out. */
class FilePace {
  readonly #speed: number
  #first = 0n
  #start = 0n
  started = false

  constructor(speed: number) {
    this.#speed = speed
  }

  /** The first frame, captured at `timestamp` (ns), has gone out. */
  start(timestamp: bigint): void {
    this.#first = timestamp
    this.#start = process.hrtime.bigint()
    this.started = true
  }

  /** Milliseconds until the frame captured at `timestamp` is due, 0 if it is. */
  wait(timestamp: bigint): number {
    if (!this.started) return 0
    const due = Number(timestamp - this.#first) / this.#speed
    const now = Number(process.hrtime.bigint() - this.#start)
    return Math.max(0, (due - now) / 1e6)
  }
}

/**
 * `ip -br addr` (name padded to 16, state to 14, then each address/prefix), and below it
 * the rest: index, MTU, link type, MAC, flags and counters.
 */
function interfaces(positionals: string[], values: Values): void {
  if (positionals.length > 1) throw new UsageError('interfaces takes at most one interface name')
  const netns = typeof values.netns === 'string' ? values.netns : undefined
  const all = listInterfaces({ netns })
  const shown = positionals.length === 0 ? all : all.filter((i) => i.name === positionals[0])
  if (shown.length === 0) throw new Error(`no interface ${positionals[0]}${netns === undefined ? '' : ` in namespace ${netns}`}`)
  for (const i of shown) {
    out(`${i.name.padEnd(16)} ${i.state.padEnd(14)} ${i.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(' ')}`.trimEnd())
    const flags = [i.up && 'UP', i.running && 'RUNNING', i.promiscuous && 'PROMISC', i.loopback && 'LOOPBACK'].filter((f) => f !== false)
    const c = i.counters
    const counters =
      c === undefined
        ? ''
        : `  rx ${c.rxPackets} packets ${c.rxBytes} bytes ${c.rxErrors} errors ${c.rxDropped} dropped` +
          `  tx ${c.txPackets} packets ${c.txBytes} bytes ${c.txErrors} errors ${c.txDropped} dropped`
    out(`    index ${i.index} mtu ${i.mtu} linktype ${i.linkType}${i.mac === '' ? '' : ` ${i.mac}`} <${flags.join(',')}>${counters}`)
  }
}

/** This package's version, from its package.json (two levels above dist/src/cli.js; the
 * CLI runs compiled, as the binding it loads sits in dist/). */
function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === '--version' || command === '-V') {
    out(`netring version ${version()}`)
    out(`Node.js ${process.version}`)
    return 0
  }
  if (command === undefined || command === '-h' || command === '--help') {
    ;(command === undefined ? process.stderr : process.stdout).write(
      `${MAIN_USAGE}\n\n${Object.values(USAGE).join('\n')}\n`,
    )
    return command === undefined ? 2 : 0
  }
  if (!(command in OPTIONS)) {
    process.stderr.write(`netring: unknown command "${command}"\n${MAIN_USAGE}\n`)
    return 2
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options: OPTIONS[command], allowPositionals: true }) as {
      values: Values
      positionals: string[]
    }
    if (values.help === true) {
      out(HELP[command])
      return 0
    }
    if (command === 'stats') await stats(positionals, values)
    else if (command === 'capture') await capture(positionals, values)
    else if (command === 'replay') await replay(positionals, values)
    else interfaces(positionals, values)
    return 0
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // Bad arguments too: parseArgs' own errors (ERR_PARSE_ARGS_*), an unknown URI scheme
    // (a TypeError without a code), options out of range and filters that do not compile.
    const code = (error as { code?: unknown }).code
    const badArgument =
      error instanceof UsageError ||
      (error instanceof TypeError && code === undefined) ||
      (typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS') || BAD_ARGUMENT_CODES.includes(code)))
    if (badArgument) {
      // parseArgs' advice for unknown options quotes unevenly; one plain sentence instead.
      const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /^Unknown option '([^']*)'/.exec(message) : null
      process.stderr.write(`netring ${command}: ${unknown !== null ? `unknown option ${unknown[1]}` : message}\n${USAGE[command]}\n`)
      return 2
    }
    process.stderr.write(`netring ${command}: ${message}\n`)
    return 1
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`netring: ${String(error)}\n`)
    process.exitCode = 1
  },
)
