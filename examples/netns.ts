/**
 * A throwaway network namespace with a veth pair nr1 → nr0, for the examples and the
 * benchmarks. IPv6 is off on the pair (no link-local address), so the only frames on it
 * are the ones sent on purpose. `remove()` deletes both; calling it again does nothing.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const A = 'nr0'
export const B = 'nr1'

export interface Netns {
  name: string
  /** Runs `ip` inside the namespace (`ip -n NAME …`) and returns what it printed. */
  ip(...args: string[]): string
  remove(): void
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

/** Deletes namespace `name` and its veth pair; nothing happens when they are gone. */
export function removeNetns(name: string): void {
  // A socket keeps its namespace alive, so the link goes first, then the name.
  try {
    ip('-n', name, 'link', 'del', A)
  } catch {
    // already gone (deleted on purpose, or with the namespace)
  }
  try {
    ip('netns', 'del', name)
  } catch (error) {
    if (existsSync(`/run/netns/${name}`)) throw error
  }
}

export function makeNetns(name: string): Netns {
  ip('netns', 'add', name)
  const remove = (): void => removeNetns(name)
  try {
    ip('-n', name, 'link', 'add', A, 'type', 'veth', 'peer', 'name', B)
    for (const dev of [A, B]) {
      ip('-n', name, 'link', 'set', dev, 'addrgenmode', 'none')
      ip('-n', name, 'link', 'set', dev, 'up')
    }
  } catch (error) {
    remove()
    throw error
  }
  return { name, remove, ip: (...args) => ip('-n', name, ...args) }
}

/**
 * Runs `main` with a fresh namespace `name` and removes the namespace afterwards: when
 * `main` ends, fails (its message printed, exit code 1) or Ctrl-C stops the process.
 */
export function runInNetns(name: string, main: (netns: Netns) => Promise<void>): void {
  let netns: Netns | undefined
  process.on('SIGINT', () => {
    netns?.remove()
    process.exit(130)
  })
  Promise.resolve()
    .then(() => main((netns = makeNetns(name))))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error)
      process.exitCode = 1
    })
    .finally(() => netns?.remove())
}
