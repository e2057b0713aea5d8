//! The interfaces of a network namespace, read from rtnetlink (`RTM_GETLINK` and
//! `RTM_GETADDR` dumps over an `AF_NETLINK`/`NETLINK_ROUTE` socket), as `ip link` and
//! `ip addr` read them.
//!
//! Netlink rather than `/sys/class/net`: sysfs shows the namespace of whoever mounted it,
//! not the calling thread's, so another namespace's interfaces need a remount; a netlink
//! socket belongs to the namespace it was made in, so only `socket()` runs inside
//! [`in_netns`] and the dumps are read from here. Addresses are only in netlink anyway.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::netns::in_netns;
use crate::sys::syscall;
use crate::linktype::{link_type_for_arphrd, LINKTYPE_LINUX_SLL};

/// One network interface as `RTM_NEWLINK` describes it, with its addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// `IFLA_IFNAME`.
    pub name: String,
    /// `ifi_index`.
    pub index: u32,
    /// `IFLA_ADDRESS`: the hardware address (6 bytes on Ethernet, none on tun).
    pub mac: Vec<u8>,
    /// `IFLA_MTU`.
    pub mtu: u32,
    /// `ifi_type`: the ARPHRD_* hardware type (1 Ethernet, 772 loopback, 65534 none).
    pub hardware_type: u16,
    /// `ifi_flags`: IFF_UP, IFF_RUNNING, IFF_PROMISC, IFF_LOOPBACK, IFF_LOWER_UP, …
    pub flags: u32,
    /// `IFLA_OPERSTATE`: RFC 2863 state (0 unknown … 6 up), as `ip -br` prints it.
    pub oper_state: u8,
    /// `IFLA_STATS64`, when the kernel sent it.
    pub stats: Option<LinkStats>,
    /// `RTM_NEWADDR` entries of this interface, in the kernel's order (IPv4 first).
    pub addresses: Vec<IfAddress>,
}

/// The first eight counters of `struct rtnl_link_stats64`, as `ip -s link` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// rx_packets
    pub rx_packets: u64,
    /// tx_packets
    pub tx_packets: u64,
    /// rx_bytes
    pub rx_bytes: u64,
    /// tx_bytes
    pub tx_bytes: u64,
    /// rx_errors
    pub rx_errors: u64,
    /// tx_errors
    pub tx_errors: u64,
    /// rx_dropped
    pub rx_dropped: u64,
    /// tx_dropped
    pub tx_dropped: u64,
}

/// One address (`struct ifaddrmsg` with `IFA_LOCAL` or `IFA_ADDRESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddress {
    /// 4 or 16 bytes.
    pub address: Vec<u8>,
    /// `ifa_prefixlen`.
    pub prefix_len: u8,
    /// `ifa_scope`: 0 global, 253 link, 254 host.
    pub scope: u8,
}

/// The libpcap LINKTYPE_* a capture on interface `name` of ARPHRD type `hardware_type`
/// gets, by [`link_type_for_arphrd`] (libpcap's `map_arphrd_to_dlt`); a type libpcap
/// captures only in cooked mode is LINKTYPE_LINUX_SLL, as `pcap_datalink()` says there.
pub fn arphrd_to_linktype(hardware_type: u16, name: &str) -> u32 {
    link_type_for_arphrd(hardware_type, name).unwrap_or(LINKTYPE_LINUX_SLL)
}

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_STATS64: u16 = 23;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// Room for one recv() of a dump: the kernel fills up to a page (or 32 KiB) per message batch.
const RECV_BUFFER: usize = 64 << 10;

/// Lists the interfaces of the calling thread's namespace, or of `netns` (a name under
/// /run/netns or a path), sorted by index.
pub fn interfaces(netns: Option<&str>) -> Result<Vec<Interface>> {
    let ns = netns.unwrap_or("");
    let open = || {
        // SAFETY: socket() takes no pointers; the fd it returns is owned below.
        let fd = unsafe { syscall!(socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE)) }
            .map_err(|e| Error::os(ns, "socket(AF_NETLINK)", e))?;
        // SAFETY: `fd` is a new descriptor nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let fd = match netns {
        Some(ns) => in_netns(ns, open)?,
        None => open()?,
    };
    let mut links = Vec::new();
    dump(&fd, libc::RTM_GETLINK, IFINFOMSG, 1, |payload| {
        if let Some(link) = parse_link(payload) {
            links.push(link);
        }
    })
    .map_err(|e| Error::os(ns, "RTM_GETLINK", e))?;
    let mut addresses = Vec::new();
    dump(&fd, libc::RTM_GETADDR, IFADDRMSG, 2, |payload| {
        if let Some(a) = parse_address(payload) {
            addresses.push(a);
        }
    })
    .map_err(|e| Error::os(ns, "RTM_GETADDR", e))?;
    for (index, address) in addresses {
        if let Some(link) = links.iter_mut().find(|l| l.index == index) {
            link.addresses.push(address);
        }
    }
    links.sort_by_key(|l| l.index);
    Ok(links)
}

/// Sends one `NLM_F_DUMP` request of `kind` with a zeroed family header of `header` bytes
/// (AF_UNSPEC: every family) and hands each reply's payload to `each` until NLMSG_DONE.
fn dump(fd: &OwnedFd, kind: u16, header: usize, seq: u32, mut each: impl FnMut(&[u8])) -> io::Result<()> {
    let mut request = vec![0u8; NLMSG_HDR + header];
    let len = request.len() as u32;
    request[0..4].copy_from_slice(&len.to_ne_bytes());
    request[4..6].copy_from_slice(&kind.to_ne_bytes());
    request[6..8].copy_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16).to_ne_bytes());
    request[8..12].copy_from_slice(&seq.to_ne_bytes());
    // SAFETY: `request` is valid for its length; a netlink socket sends to the kernel
    // (nl_pid 0) when no address is given.
    unsafe { syscall!(send(fd.as_raw_fd(), request.as_ptr().cast(), request.len(), 0)) }?;
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        // SAFETY: `buf` has room for `buf.len()` bytes, which recv() writes at most.
        let n = unsafe { syscall!(recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)) }? as usize;
        let mut at = 0;
        while at + NLMSG_HDR <= n {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            let msg_seq = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().expect("4 bytes"));
            if len < NLMSG_HDR || at + len > n {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "netlink message length runs past the datagram"));
            }
            let payload = &buf[at + NLMSG_HDR..at + len];
            if msg_seq == seq {
                match kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let errno = payload.get(0..4).map_or(0, |b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
                        if errno != 0 {
                            return Err(io::Error::from_raw_os_error(-errno));
                        }
                    }
                    _ => each(payload),
                }
            }
            at += (len + 3) & !3;
        }
    }
}

/// The rtattrs after a family header: (type, data).
fn attributes(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
        if len < 4 || len > b.len() {
            return None;
        }
        let data = &b[4..len];
        b = &b[((len + 3) & !3).min(b.len())..];
        Some((kind, data))
    })
}

fn u32_ne(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(0..4)?.try_into().ok()?))
}

fn parse_link(p: &[u8]) -> Option<Interface> {
    if p.len() < IFINFOMSG {
        return None;
    }
    let mut link = Interface {
        hardware_type: u16::from_ne_bytes([p[2], p[3]]),
        index: u32_ne(&p[4..])?,
        flags: u32_ne(&p[8..])?,
        ..Interface::default()
    };
    for (kind, data) in attributes(&p[IFINFOMSG..]) {
        match kind {
            IFLA_IFNAME => link.name = String::from_utf8_lossy(data.split(|&c| c == 0).next().unwrap_or(&[])).into_owned(),
            IFLA_ADDRESS => link.mac = data.to_vec(),
            IFLA_MTU => link.mtu = u32_ne(data).unwrap_or(0),
            IFLA_OPERSTATE => link.oper_state = data.first().copied().unwrap_or(0),
            IFLA_STATS64 if data.len() >= 64 => {
                let c = |i: usize| u64::from_ne_bytes(data[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
                link.stats = Some(LinkStats {
                    rx_packets: c(0),
                    tx_packets: c(1),
                    rx_bytes: c(2),
                    tx_bytes: c(3),
                    rx_errors: c(4),
                    tx_errors: c(5),
                    rx_dropped: c(6),
                    tx_dropped: c(7),
                });
            }
            _ => {}
        }
    }
    Some(link)
}

fn parse_address(p: &[u8]) -> Option<(u32, IfAddress)> {
    if p.len() < IFADDRMSG {
        return None;
    }
    let (family, prefix_len, scope, index) = (p[0], p[1], p[3], u32_ne(&p[4..])?);
    let want = match i32::from(family) {
        libc::AF_INET => 4,
        libc::AF_INET6 => 16,
        _ => return None,
    };
    let (mut local, mut address) = (None, None);
    for (kind, data) in attributes(&p[IFADDRMSG..]) {
        if data.len() != want {
            continue;
        }
        match kind {
            IFA_LOCAL => local = Some(data.to_vec()),
            IFA_ADDRESS => address = Some(data.to_vec()),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; on a point-to-point link IFA_ADDRESS is the peer's.
    Some((index, IfAddress { address: local.or(address)?, prefix_len, scope }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_loopback_of_this_namespace() {
        let all = interfaces(None).expect("rtnetlink dump");
        let lo = all.iter().find(|l| l.name == "lo").expect("lo is always there");
        assert_eq!(lo.hardware_type, libc::ARPHRD_LOOPBACK);
        assert_eq!(arphrd_to_linktype(lo.hardware_type, &lo.name), 1);
        assert_ne!(lo.flags & libc::IFF_LOOPBACK as u32, 0);
        assert!(all.windows(2).all(|w| w[0].index < w[1].index));
    }

    #[test]
    fn attributes_stop_at_a_lying_length() {
        let b = [8u8, 0, 3, 0, b'l', b'o', 0, 0, 200, 0, 4, 0];
        let got: Vec<_> = attributes(&b).collect();
        assert_eq!(got, vec![(3u16, &b"lo\0\0"[..])]);
    }
}
