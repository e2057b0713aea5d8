/**
 * A throwaway network namespace with a veth pair nr1 → nr0, for the examples and the
 * benchmarks. IPv6 is off on the pair (no link-local address), so the only frames on it
 * are the ones sent on purpose. `remove()` deletes both and may be called more than once.
 */
import { execFileSync } from 'node:child_process'

export const A = 'nr0'
export const B = 'nr1'

export interface Netns {
  name: string
  /** Runs `ip` inside the namespace (`ip -n NAME …`) and returns what it printed. */
  ip(...args: string[]): string
  remove(): void
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

export function makeNetns(name: string): Netns {
  ip('netns', 'add', name)
  const remove = (): void => {
    // A socket keeps its namespace alive, so the link goes first, then the name.
    for (const args of [['-n', name, 'link', 'del', A], ['netns', 'del', name]]) {
      try {
        ip(...args)
      } catch {
        // already gone
      }
    }
  }
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
