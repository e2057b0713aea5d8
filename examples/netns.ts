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

/** The addresses of a `makePeerNetns` pair: this side (nr1) and the peer (nr0), a /24 and a /64. */
export const SELF_IP = '10.89.0.1'
export const PEER_IP = '10.89.0.2'
export const SELF_IP6 = 'fd00:6e72::1'
export const PEER_IP6 = 'fd00:6e72::2'
export const PREFIX = 24

/** Two namespaces joined by a veth pair with addresses, so a peer's kernel answers. */
export interface PeerNetns extends Netns {
  /** The far namespace, holding nr0 with PEER_IP (and any `extraPeerIps`). */
  peer: string
  /** Runs `ip` inside the peer namespace. */
  peerIp(...args: string[]): string
  /** MAC of nr1 (this side) and nr0 (the peer). */
  selfMac: string
  peerMac: string
}

/**
 * Namespace `name` with nr1 (SELF_IP/24, SELF_IP6/64) joined to namespace `name-peer`
 * holding nr0 (PEER_IP/24, PEER_IP6/64, and `extraPeerIps`): the peer's kernel answers ARP,
 * ping and UDP for its addresses. `remove()` deletes both namespaces.
 */
export function makePeerNetns(name: string, extraPeerIps: string[] = []): PeerNetns {
  const ns = makeNetns(name)
  const peer = `${name}-peer`
  const remove = (): void => {
    ns.remove()
    try {
      ip('netns', 'del', peer)
    } catch (error) {
      if (existsSync(`/run/netns/${peer}`)) throw error
    }
  }
  try {
    ip('netns', 'add', peer)
    ns.ip('link', 'set', A, 'netns', peer)
    const inPeer = (...args: string[]): string => ip('-n', peer, ...args)
    inPeer('link', 'set', 'lo', 'up')
    inPeer('link', 'set', A, 'up')
    for (const address of [`${PEER_IP}/${PREFIX}`, ...extraPeerIps.map((a) => `${a}/${PREFIX}`)]) inPeer('addr', 'add', address, 'dev', A)
    inPeer('addr', 'add', `${PEER_IP6}/64`, 'dev', A, 'nodad')
    ns.ip('addr', 'add', `${SELF_IP}/${PREFIX}`, 'dev', B)
    ns.ip('addr', 'add', `${SELF_IP6}/64`, 'dev', B, 'nodad')
    const macOf = (run: (...a: string[]) => string, dev: string): string => (JSON.parse(run('-j', 'link', 'show', dev)) as Array<{ address: string }>)[0].address
    return { ...ns, peer, remove, peerIp: inPeer, selfMac: macOf(ns.ip, B), peerMac: macOf(inPeer, A) }
  } catch (error) {
    remove()
    throw error
  }
}

/**
 * Runs `main` with a fresh namespace `name` and removes the namespace afterwards: when
 * `main` ends, fails (its message printed, exit code 1) or Ctrl-C stops the process.
 */
export function runInNetns<N extends Netns = Netns>(name: string, main: (netns: N) => Promise<void>, make: (name: string) => N = makeNetns as (name: string) => N): void {
  let netns: N | undefined
  process.on('SIGINT', () => {
    netns?.remove()
    process.exit(130)
  })
  Promise.resolve()
    .then(() => main((netns = make(name))))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error)
      process.exitCode = 1
    })
    .finally(() => netns?.remove())
}
