/**
 * `interfaces()`: the network interfaces of this namespace or of a named one, with their
 * addresses and counters, from rtnetlink (crates/core/src/link.rs): `RTM_GETLINK` and
 * `RTM_GETADDR` dumps over a netlink socket made inside the namespace. Not from /sys,
 * which shows the namespace it was mounted in, and without running `ip`.
 */
import { call } from './errors'
import { hexColons, ipv4String, ipv6String } from './layers'
import { interfaces as nativeInterfaces, type NativeInterface } from './native'
import { checkOptions } from './options'

/** An address of an interface. */
export interface InterfaceAddress {
  family: 'IPv4' | 'IPv6'
  /** Dotted IPv4 or RFC 5952 IPv6 text. */
  address: string
  /** The prefix length: `10.0.0.1/24` has 24. */
  prefixLength: number
  /** `'global'`, `'link'` (fe80::/10), `'host'` (loopback), or the ifa_scope number. */
  scope: 'global' | 'link' | 'host' | number
}

/** The interface counters of `ip -s link` (`struct rtnl_link_stats64`), running totals since the interface was made. */
export interface InterfaceCounters {
  rxPackets: number
  txPackets: number
  rxBytes: number
  txBytes: number
  rxErrors: number
  txErrors: number
  rxDropped: number
  txDropped: number
}

/** One network interface. */
export interface NetworkInterface {
  name: string
  /** The ifindex packets carry (`packet.ifindex`). */
  index: number
  /** Hardware address `aa:bb:cc:dd:ee:ff`; `''` when the link has none (tun). */
  mac: string
  mtu: number
  /** The libpcap LINKTYPE_* of its packets (`LinkType`): 1 Ethernet (and loopback), 101 raw IP (tun), 113 cooked otherwise. Give it to `build({ linkType })`. */
  linkType: number
  /** The ARPHRD_* type (1 Ethernet, 772 loopback, 65534 none). */
  hardwareType: number
  /** IFF_UP: configured up. */
  up: boolean
  /** IFF_RUNNING: up and the carrier is there (operationally up). */
  running: boolean
  /** IFF_PROMISC. */
  promiscuous: boolean
  /** IFF_LOOPBACK. */
  loopback: boolean
  /** The RFC 2863 operational state as `ip -br link` prints it. */
  state: 'UNKNOWN' | 'NOTPRESENT' | 'DOWN' | 'LOWERLAYERDOWN' | 'TESTING' | 'DORMANT' | 'UP'
  /** The raw `ifi_flags` (IFF_* bits, IFF_LOWER_UP 0x10000 included). */
  flags: number
  /** IPv4 addresses first, as the kernel lists them. */
  addresses: InterfaceAddress[]
  /** `undefined` when the kernel gave none. */
  counters: InterfaceCounters | undefined
}

const STATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'] as const
const IFF_UP = 0x1
const IFF_LOOPBACK = 0x8
const IFF_RUNNING = 0x40
const IFF_PROMISC = 0x100

function fromNative(n: NativeInterface): NetworkInterface {
  const s = n.stats
  return {
    name: n.name,
    index: n.index,
    mac: hexColons(n.mac, 0, n.mac.length),
    mtu: n.mtu,
    linkType: n.linkType,
    hardwareType: n.hardwareType,
    up: (n.flags & IFF_UP) !== 0,
    running: (n.flags & IFF_RUNNING) !== 0,
    promiscuous: (n.flags & IFF_PROMISC) !== 0,
    loopback: (n.flags & IFF_LOOPBACK) !== 0,
    state: STATES[n.operState] ?? 'UNKNOWN',
    flags: n.flags,
    addresses: n.addresses.map((a) => ({
      family: a.address.length === 4 ? 'IPv4' : 'IPv6',
      address: a.address.length === 4 ? ipv4String(a.address, 0) : ipv6String(a.address, 0),
      prefixLength: a.prefixLen,
      scope: a.scope === 0 ? 'global' : a.scope === 253 ? 'link' : a.scope === 254 ? 'host' : a.scope,
    })),
    counters:
      s.length === 8
        ? { rxPackets: s[0], txPackets: s[1], rxBytes: s[2], txBytes: s[3], rxErrors: s[4], txErrors: s[5], rxDropped: s[6], txDropped: s[7] }
        : undefined,
  }
}

/**
 * The network interfaces of this process's namespace, or of `netns` (a name under
 * /run/netns, as `ip netns` makes them, or a path to a namespace file), sorted by index.
 * Read from rtnetlink each call (two dumps, well under a millisecond, on the calling
 * thread). A missing namespace is a TypeError (`ERR_INVALID_ARG_TYPE`); entering one
 * needs CAP_SYS_ADMIN (EPERM otherwise).
 */
export function interfaces(options?: { netns?: string }): NetworkInterface[] {
  checkOptions(options, { netns: 'string' })
  return call(() => nativeInterfaces(options?.netns)).map(fromNative)
}
