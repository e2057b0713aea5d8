/**
 * Privileged tests: each makes its own network namespace with a veth pair, sends frames
 * from one end and captures on the other, and removes both even when it fails.
 * Traffic never leaves the namespace.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import test, { type ExecutionContext } from 'ava'

import { openTx } from 'netring'
import { B, makeNetns as makeVethNamespace, makePeerNetns, removeNetns, type PeerNetns } from '../../examples/netns'

export { A, B } from '../../examples/netns'

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Why privileged tests cannot run here, or undefined when they can. */
function unprivilegedReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN for namespaces, CAP_NET_RAW to capture)'
  try {
    ip('-V')
  } catch {
    return 'needs the `ip` command (Debian package iproute2)'
  }
  return undefined
}

const reason = unprivilegedReason()
const ci = process.env.CI === 'true'
if (reason !== undefined && !ci) console.warn(`netring: skipping privileged tests: ${reason}`)

let seq = 0

/**
 * Removes the namespaces of test processes that are gone: a worker that ava killed on a
 * timeout never reached its `finally`. Namespaces of live processes are left alone.
 */
function removeStale(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const match = /^(nrt-(\d+)-\d+)(-peer)?/.exec(line)
    if (match === null || existsSync(`/proc/${match[2]}`)) continue
    if (match[3] === undefined) removeNetns(match[1])
    else ip('netns', 'del', match[0])
  }
}
if (reason === undefined) removeStale()

export interface Netns {
  name: string
  /** MAC address of an interface in the namespace, as bytes. */
  mac(iface: string): Buffer
  ifindex(iface: string): number
  ip(...args: string[]): string
}

function makeNetns(): Netns & { remove(): void } {
  const ns = makeVethNamespace(`nrt-${process.pid}-${seq++}`)
  const info = (iface: string): { address: string; ifindex: number } => JSON.parse(ns.ip('-j', 'link', 'show', iface))[0]
  return {
    ...ns,
    mac: (iface) => Buffer.from(info(iface).address.split(':').map((h) => parseInt(h, 16))),
    ifindex: (iface) => info(iface).ifindex,
  }
}

/**
 * A test that needs root and a namespace of its own. Where it cannot run it is skipped
 * with the reason, and under CI=true it fails instead.
 */
export function privileged(title: string, body: (t: ExecutionContext, ns: Netns) => Promise<void> | void): void {
  if (reason !== undefined) {
    if (ci) test(title, (t) => t.fail(`privileged test cannot run under CI: ${reason}`))
    else test.skip(`${title} (skipped: ${reason})`, () => {})
    return
  }
  test.serial(title, async (t) => {
    const ns = makeNetns()
    try {
      await body(t, ns)
    } finally {
      ns.remove()
    }
  })
}

/**
 * A privileged test that makes its namespaces itself (an example run as a process):
 * skipped with the reason where it cannot run, failed under CI=true.
 */
export function privilegedProcess(title: string, body: (t: ExecutionContext) => Promise<void> | void): void {
  if (reason !== undefined) {
    if (ci) test(title, (t) => t.fail(`privileged test cannot run under CI: ${reason}`))
    else test.skip(`${title} (skipped: ${reason})`, () => {})
    return
  }
  test.serial(title, body)
}

/**
 * A privileged test with two namespaces joined by a veth pair with addresses
 * (`makePeerNetns`): nr1 here, nr0 in `ns.peer`, whose kernel answers.
 */
export function privilegedPeer(title: string, body: (t: ExecutionContext, ns: PeerNetns) => Promise<void> | void, extraPeerIps: string[] = []): void {
  if (reason !== undefined) {
    if (ci) test(title, (t) => t.fail(`privileged test cannot run under CI: ${reason}`))
    else test.skip(`${title} (skipped: ${reason})`, () => {})
    return
  }
  test.serial(title, async (t) => {
    const ns = makePeerNetns(`nrt-${process.pid}-${seq++}`, extraPeerIps)
    try {
      await body(t, ns)
    } finally {
      ns.remove()
    }
  })
}

/** Sends `frames` from `iface` (the B end by default) with one send() each (`int:` output). */
export async function sendFrom(ns: Netns, frames: readonly Uint8Array[], iface = B): Promise<void> {
  const tx = openTx(`int:${iface}`, { netns: ns.name })
  try {
    await tx.sendBatch(frames)
  } finally {
    await tx.close()
  }
}

/**
 * An Ethernet frame to `dst` from 02:00:00:00:00:02 with ethertype 0x88b5 (local
 * experimental), carrying `seq` as 4 bytes and a pattern up to `length` bytes.
 */
export function frame(seq: number, length = 64, dst: Buffer = Buffer.from('020000000001', 'hex')): Buffer {
  const f = Buffer.alloc(length)
  dst.copy(f, 0)
  Buffer.from('020000000002', 'hex').copy(f, 6)
  f.writeUInt16BE(0x88b5, 12)
  f.writeUInt32BE(seq, 14)
  for (let i = 18; i < length; i++) f[i] = (i ^ seq) & 0xff
  return f
}

/** The sequence number `frame()` wrote. */
export function seqOf(data: Uint8Array): number {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32BE(14)
}

/**
 * Starts `tcpdump -i IFACE --immediate-mode -U -w PATH FILTER` inside the namespace and
 * resolves once it listens; `stop()` ends it (SIGINT: it finishes its file) and waits for
 * it to exit. Immediate mode, so that what arrived is in the file when it stops.
 */
export async function startTcpdump(ns: Netns, iface: string, path: string, filter: string): Promise<{ stop(): Promise<void> }> {
  const tcpdump = spawn('ip', ['netns', 'exec', ns.name, 'tcpdump', '-i', iface, '--immediate-mode', '-U', '-w', path, filter], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>((resolve) => tcpdump.on('close', () => resolve()))
  let said = ''
  await new Promise<void>((resolve, reject) => {
    tcpdump.stderr.on('data', (d: Buffer) => ((said += d), said.includes('listening') && resolve()))
    void exited.then(() => reject(new Error(`tcpdump ended before it listened: ${said}`)))
  })
  return {
    stop: async () => {
      tcpdump.kill('SIGINT')
      await exited
    },
  }
}
