#!/usr/bin/env node
/**
 * The `netring` command: tracestats (`stats`), capture to a file, replay of a file, and
 * the list of interfaces. Counting and writing run on a native thread (`record()`); this
 * file only parses arguments and prints. Exit codes as tcpdump's: 2 for bad arguments
 * (with the usage line), 1 for a failure at run time (one message), 0 otherwise.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'

import { open } from './capture'
import type { RecordProgress } from './native'
import { record } from './record'
import { openTx } from './sender'

const USAGE: Record<string, string> = {
  stats: 'usage: netring stats <uri> [-c COUNT] [-t SECONDS] [-f FILTER] [--snaplen N] [RING OPTIONS] [--netns NAME]',
  capture:
    'usage: netring capture <uri> -w FILE [-c COUNT] [-t SECONDS] [-f FILTER] [--snaplen N] [RING OPTIONS] [--format pcap|pcap-ns|pcapng] [--netns NAME]',
  replay: 'usage: netring replay FILE <uri> [--pps N] [--loop N] [--netns NAME]',
  interfaces: 'usage: netring interfaces',
}
const MAIN_USAGE = 'usage: netring <stats|capture|replay|interfaces> [options]  (netring COMMAND --help)'

const HELP: Record<string, string> = {
  stats: `${USAGE.stats}

Counts the packets and bytes of <uri> (ring:IFACE, int:IFACE or pcapfile:PATH) in native
code until Ctrl-C, COUNT packets, SECONDS or the end of the file, then prints packets,
bytes, kernel drops, packets received, process CPU time and CPU per packet. On a terminal
a progress line (rate, total, drops) is updated about once a second.

  -c, --count COUNT     stop after COUNT packets
  -t, --time SECONDS    stop after SECONDS
  -f, --filter FILTER   also count what this tcpdump filter matches; repeatable, each
                        with its own count (run in native code on every packet)
      --snaplen N       bytes kept per packet (1 to 262144)
      --tpacket 2|3     ring version: TPACKET_V3 blocks (default) or V2 frames
      --blocks N        ring blocks (with V3 1 MiB each, default 32)
      --frames N        V2 ring frames of 2 KiB (default 4096)
      --netns NAME      open the socket in network namespace NAME (/run/netns/NAME)
  -h, --help            this help`,
  capture: `${USAGE.capture}

Writes the packets of <uri> to FILE without passing them through JavaScript: pcap with
microsecond timestamps, or pcapng when FILE ends in .pcapng (or as --format says). FILE is
created before the capture starts, so an unwritable path fails at once.

  -w, --write FILE      the output file (required)
  -c, --count COUNT     stop after COUNT packets
  -t, --time SECONDS    stop after SECONDS
  -f, --filter FILTER   a tcpdump filter (kernel filter)
      --snaplen N       bytes kept per packet (1 to 262144)
      --tpacket 2|3     ring version: TPACKET_V3 blocks (default) or V2 frames
      --blocks N        ring blocks (with V3 1 MiB each, default 32)
      --frames N        V2 ring frames of 2 KiB (default 4096)
      --format FORMAT   pcap, pcap-ns or pcapng
      --netns NAME      open the socket in network namespace NAME
  -h, --help            this help`,
  replay: `${USAGE.replay}

Sends every frame of FILE (pcap or pcapng), in order, through the TX ring of <uri>
(ring:IFACE, int:IFACE or a bare interface name).

      --pps N           at most N frames per second
      --loop N          send the file N times (default 1)
      --netns NAME      open the socket in network namespace NAME
  -h, --help            this help`,
  interfaces: `${USAGE.interfaces}

Lists the network interfaces of this namespace with their index, MTU and state.

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
    count: { type: 'string', short: 'c' },
    time: { type: 'string', short: 't' },
    filter: { type: 'string', short: 'f', multiple: true },
    snaplen: { type: 'string' },
  },
  capture: {
    ...common,
    ...ring,
    write: { type: 'string', short: 'w' },
    count: { type: 'string', short: 'c' },
    time: { type: 'string', short: 't' },
    filter: { type: 'string', short: 'f', multiple: true },
    snaplen: { type: 'string' },
    format: { type: 'string' },
  },
  replay: { ...common, pps: { type: 'string' }, loop: { type: 'string' } },
  interfaces: { help: { type: 'boolean', short: 'h' } },
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

function onlyFilter(values: Values): string | undefined {
  const filters = values.filter as string[] | undefined
  if (filters !== undefined && filters.length > 1) {
    throw new UsageError('capture takes one -f (it runs as the kernel filter)')
  }
  return filters?.[0]
}

const out = (line: string): void => void process.stdout.write(`${line}\n`)
const fmt = (n: number): string => n.toLocaleString('en-US')

/** Runs a recording until it is done, `seconds` pass or SIGINT/SIGTERM; prints progress on a terminal. */
async function runRecording(uri: string, values: Values, write?: string): Promise<RecordProgress> {
  // stats: every -f counts on its own and drops nothing; capture: one kernel filter.
  const countFilters = write === undefined ? (values.filter as string[] | undefined) : undefined
  const count = positiveNumber(values, 'count')
  const seconds = positiveNumber(values, 'time', false)
  const snaplen = positiveNumber(values, 'snaplen')
  const version = positiveNumber(values, 'tpacket')
  const blockCount = positiveNumber(values, 'blocks')
  const frameCount = positiveNumber(values, 'frames')
  const format = values.format as 'pcap' | 'pcap-ns' | 'pcapng' | undefined
  if (format !== undefined && !['pcap', 'pcap-ns', 'pcapng'].includes(format)) {
    throw new UsageError(`--format ${format} must be pcap, pcap-ns or pcapng`)
  }
  const filter = write === undefined ? undefined : onlyFilter(values)
  const netns = values.netns as string | undefined
  const geometry = { version, blockCount, frameCount }
  const recorder = record(uri, { count, snaplen, ...geometry, filter, netns, write, format, countFilters })
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

async function stats(positionals: string[], values: Values): Promise<void> {
  if (positionals.length !== 1) throw new UsageError('stats takes one <uri>')
  const cpu = process.cpuUsage()
  const p = await runRecording(positionals[0], values)
  const used = process.cpuUsage(cpu)
  const cpuSeconds = (used.user + used.system) / 1e6
  out(`packets   ${p.packets}`)
  out(`bytes     ${p.bytes}`)
  out(`dropped   ${p.dropped}`)
  out(`received  ${p.received}`)
  out(`cpu       ${cpuSeconds.toFixed(3)} s`)
  out(`cpu/pkt   ${p.packets > 0 ? `${Math.round((cpuSeconds * 1e9) / p.packets)} ns` : '-'}`)
  const filters = (values.filter as string[] | undefined) ?? []
  p.filters.forEach((f, i) => out(`filter    ${f.packets} packets  ${f.bytes} bytes  ${filters[i]}`))
}

async function capture(positionals: string[], values: Values): Promise<void> {
  if (positionals.length !== 1) throw new UsageError('capture takes one <uri>')
  const file = values.write
  if (typeof file !== 'string' || file === '') throw new UsageError('capture needs -w FILE')
  const p = await runRecording(positionals[0], values, file)
  process.stderr.write(`${p.packets} packets captured, ${p.received} received by filter, ${p.dropped} dropped by kernel\n`)
}

async function replay(positionals: string[], values: Values): Promise<void> {
  if (positionals.length !== 2) throw new UsageError('replay takes FILE and <uri>')
  const [file, uri] = positionals
  const rate = positiveNumber(values, 'pps')
  const loops = positiveNumber(values, 'loop') ?? 1
  const tx = openTx(uri, { rate, netns: values.netns as string | undefined })
  let frames = 0
  try {
    for (let i = 0; i < loops; i++) {
      for await (const batch of open(`pcapfile:${file}`).batches()) {
        const data = [...batch].map((packet) => packet.data)
        await tx.sendBatch(data)
        frames += data.length
      }
    }
  } finally {
    const stats = await tx.close()
    process.stderr.write(`${frames} frames replayed, ${stats.sent} sent, ${stats.errors} errors\n`)
  }
}

function interfaces(positionals: string[]): void {
  if (positionals.length !== 0) throw new UsageError('interfaces takes no arguments')
  const read = (name: string, field: string): string => readFileSync(`/sys/class/net/${name}/${field}`, 'utf8').trim()
  const rows = readdirSync('/sys/class/net')
    .map((name) => ({ name, index: Number(read(name, 'ifindex')), mtu: read(name, 'mtu'), state: read(name, 'operstate') }))
    .sort((x, y) => x.index - y.index)
  for (const r of rows) out(`${String(r.index).padStart(3)}  ${r.name.padEnd(16)} mtu ${r.mtu.padEnd(6)} ${r.state}`)
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
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
    else interfaces(positionals)
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
      process.stderr.write(`netring ${command}: ${message}\n${USAGE[command]}\n`)
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
