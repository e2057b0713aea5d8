/**
 * What every benchmark shares: a throwaway namespace with a veth pair, kernel counters,
 * per-CPU busy time, the machine description, and medians.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { cpus, totalmem } from 'node:os'
import { readFileSync } from 'node:fs'

export { A, B, makeNetns } from '../../examples/netns'

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** An interface counter (/sys/class/net/IF/statistics/NAME) inside namespace `ns`. */
export function counter(ns: string, iface: string, name: string): number {
  return Number(sh('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${iface}/statistics/${name}`]))
}

/** Busy and total jiffies of one CPU (-1: all together) from /proc/stat. */
export function cpuTimes(cpu: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(cpu < 0 ? 'cpu ' : `cpu${cpu} `))
  if (line === undefined) throw new Error(`no cpu${cpu} in /proc/stat`)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number)
  const busy = user + nice + system + irq + softirq + steal
  return { busy, total: busy + idle + iowait }
}

export function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** The first line a tool prints about its version (trafgen exits 1 after printing it). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error !== undefined) return 'not installed'
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0]
}

/** What the numbers were measured on. */
export function machine(): Record<string, string> {
  const model = cpus()[0]?.model ?? 'unknown'
  return {
    cpu: `${model} × ${cpus().length}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: sh('uname', ['-sr']),
    node: process.version,
    trafgen: version('trafgen', ['--version']),
    tcpdump: version('tcpdump', ['--version']),
    date: new Date().toISOString().slice(0, 10),
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `cmd` inside namespace `ns`, pinned to `cpu`, in a process group of its own so that
 * stop() reaches forked workers too (trafgen forks one). */
export function pinnedIn(ns: string, cpu: number, cmd: string[], stdio: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, 'taskset', '-c', String(cpu), ...cmd], {
    stdio: ['ignore', stdio, stdio === 'pipe' ? 'pipe' : 'inherit'],
    detached: true,
  })
}

/** SIGTERM to the process group (SIGINT may be inherited as ignored when the benchmark
 * runs in the background), SIGKILL if it is still there after 3 s. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  process.kill(-child.pid!, 'SIGTERM')
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

/** User + system CPU time of a process so far, in microseconds (/proc/PID/stat). */
export function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 Hz).
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
}

/** Busy and total jiffies of all CPUs together. */
export function systemCpuTimes(): { busy: number; total: number } {
  return cpuTimes(-1)
}
