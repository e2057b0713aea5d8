//! The AF_PACKET socket: creation, interface lookup, socket options and statistics.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::error::{Error, Result};
use crate::bpf::Instruction;
use crate::linktype::{describe_arphrd, link_type_for_arphrd, LINKTYPE_LINUX_SLL2};
use crate::netns::in_netns;
use crate::sys::{getsockopt, setsockopt, syscall};

/// `ETH_P_ALL`: every protocol, in network byte order as `bind()` wants it.
pub const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// Checks an interface name the way the kernel's `dev_valid_name()` does.
pub fn check_interface_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() >= libc::IFNAMSIZ
        || name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace());
    if bad {
        return Err(Error::InterfaceName { name: name.to_owned() });
    }
    Ok(())
}

/// The interface name that means every interface, as libpcap's `any` device.
pub const ANY: &str = "any";

/// The [`Error::LinkType`] of an interface whose hardware type has no raw link type.
fn no_raw_link_type(iface: &str, arphrd: u16) -> Error {
    Error::LinkType {
        iface: iface.to_owned(),
        message: format!(
            "interface \"{iface}\" has hardware type {}, which has no link type a raw socket captures: \
             libpcap captures it in cooked mode (a SOCK_DGRAM socket and a Linux cooked header), which netring \
             does for the any device only: capture ring:any with the filter \"ifindex N\"",
            describe_arphrd(arphrd)
        ),
    }
}

/// A raw AF_PACKET socket bound to one interface (once [`PacketSocket::bind`] is called),
/// or a cooked one on every interface ([`ANY`]).
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    iface: String,
    /// 0 for [`ANY`].
    ifindex: i32,
}

/// The kernel's PACKET_STATISTICS, as read (the kernel resets them on every read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// `tp_packets`: packets that reached the socket, *including* `tp_drops`.
    pub packets: u32,
    /// `tp_drops`: packets dropped because the ring or buffer was full.
    pub drops: u32,
    /// `tp_freeze_q_cnt` (TPACKET_V3 only): times the ring was full and the queue froze.
    pub freezes: u32,
}

impl PacketSocket {
    /// Creates a non-blocking AF_PACKET socket with protocol 0 (it receives nothing until
    /// `bind()` names a protocol) and looks up `iface`, inside `netns` when given. For
    /// [`ANY`] the socket is SOCK_DGRAM (packets start at their network header: every
    /// interface's link layer is different) and binds to no one interface.
    pub fn open(iface: &str, netns: Option<&str>) -> Result<Self> {
        check_interface_name(iface)?;
        let kind = if iface == ANY { libc::SOCK_DGRAM } else { libc::SOCK_RAW };
        let create = || {
            // SAFETY: socket() takes no pointers; the fd it returns is owned below.
            unsafe { syscall!(socket(libc::AF_PACKET, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)) }
                .map_err(|e| Error::os(iface, "socket(AF_PACKET)", e))
        };
        let raw = match netns {
            Some(ns) => in_netns(ns, create)?,
            None => create()?,
        };
        // SAFETY: `raw` is a socket fd just returned by socket() and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut socket = PacketSocket { fd, iface: iface.to_owned(), ifindex: 0 };
        if iface != ANY {
            socket.ifindex = socket.interface_index(iface).map_err(|e| Error::os(iface, "SIOCGIFINDEX", e))?;
        }
        Ok(socket)
    }

    /// Whether the socket is the cooked one of [`ANY`].
    pub fn cooked(&self) -> bool {
        self.ifindex == 0
    }

    /// Name of interface `ifindex` in the socket's network namespace (SIOCGIFNAME).
    pub fn interface_name(&self, ifindex: i32) -> io::Result<String> {
        // SAFETY: ifreq is a C struct of integers and arrays, for which all-zero is valid.
        let mut req: libc::ifreq = unsafe { mem::zeroed() };
        req.ifr_ifru.ifru_ifindex = ifindex;
        // SAFETY: SIOCGIFNAME reads ifru_ifindex and writes a NUL-terminated ifr_name
        // into `req`, which lives for the whole call.
        unsafe { syscall!(ioctl(self.fd.as_raw_fd(), libc::SIOCGIFNAME as _, &mut req as *mut libc::ifreq)) }?;
        let name: Vec<u8> = req.ifr_name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        Ok(String::from_utf8_lossy(&name).into_owned())
    }

    /// The interface the socket is for.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The interface's index (SIOCGIFINDEX) in the socket's namespace.
    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }

    pub(crate) fn err(&self, op: &'static str) -> impl FnOnce(io::Error) -> Error + '_ {
        move |e| Error::os(&self.iface, op, e)
    }

    fn ifreq(&self, name: &str, request: libc::c_ulong) -> io::Result<libc::ifreq> {
        // SAFETY: ifreq is a C struct of integers and arrays, for which all-zero is valid.
        let mut req: libc::ifreq = unsafe { mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
            *dst = src as libc::c_char;
        }
        // SAFETY: SIOCGIF* requests read ifr_name and write into ifr_ifru of `req`, which
        // lives for the whole call.
        unsafe { syscall!(ioctl(self.fd.as_raw_fd(), request as _, &mut req as *mut libc::ifreq)) }?;
        Ok(req)
    }

    /// Index of interface `name` in the socket's own network namespace (SIOCGIFINDEX).
    pub fn interface_index(&self, name: &str) -> io::Result<i32> {
        let req = self.ifreq(name, libc::SIOCGIFINDEX)?;
        // SAFETY: SIOCGIFINDEX filled the ifru_ifindex member of the union.
        Ok(unsafe { req.ifr_ifru.ifru_ifindex })
    }

    /// The interface's ARPHRD_* hardware type (SIOCGIFHWADDR's `ifr_hwaddr.sa_family`), in
    /// the socket's namespace: what link layer its frames have (see [`crate::linktype`]).
    pub fn hardware_type(&self) -> Result<u16> {
        let req = self.ifreq(&self.iface, libc::SIOCGIFHWADDR).map_err(self.err("SIOCGIFHWADDR"))?;
        // SAFETY: SIOCGIFHWADDR filled the ifru_hwaddr member of the union, a sockaddr.
        Ok(unsafe { req.ifr_ifru.ifru_hwaddr }.sa_family)
    }

    /// The libpcap `LINKTYPE_*` of the frames this (SOCK_RAW) socket reads from and sends
    /// to the interface, from its hardware type. An [`Error::LinkType`] for a hardware type
    /// libpcap captures in cooked mode only (see [`link_type_for_arphrd`]).
    /// The cooked socket of [`ANY`] reads LINKTYPE_LINUX_SLL2 (see [`crate::Framing`]).
    pub fn link_type(&self) -> Result<u32> {
        if self.cooked() {
            return Ok(LINKTYPE_LINUX_SLL2);
        }
        let arphrd = self.hardware_type()?;
        link_type_for_arphrd(arphrd, &self.iface).ok_or_else(|| no_raw_link_type(&self.iface, arphrd))
    }

    /// The interface's MTU (SIOCGIFMTU).
    pub fn mtu(&self) -> Result<u32> {
        let req = self.ifreq(&self.iface, libc::SIOCGIFMTU).map_err(self.err("SIOCGIFMTU"))?;
        // SAFETY: SIOCGIFMTU filled the ifru_mtu member of the union.
        Ok(unsafe { req.ifr_ifru.ifru_mtu } as u32)
    }

    /// `setsockopt(level, name, &value)` of a C struct; `op` names it in errors.
    ///
    /// # Safety
    /// As for the raw `setsockopt`: `T` must be the type the kernel reads for `name` at
    /// `level`, and pointers inside `value` must be valid for what the option reads.
    pub unsafe fn set_option<T>(&self, level: libc::c_int, name: libc::c_int, value: &T, op: &'static str) -> Result<()> {
        // SAFETY: the caller's contract is the raw call's.
        unsafe { setsockopt(self.fd.as_fd(), level, name, value) }.map_err(self.err(op))
    }

    /// `setsockopt(level, name, &value)` of an option that takes an `int` (a flag, a
    /// size, a version); `op` names it in errors.
    pub fn set_int_option(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int, op: &'static str) -> Result<()> {
        // SAFETY: the kernel reads an int option as the 4 bytes of a live c_int; one that
        // takes something else refuses the length (EINVAL) without reading past it.
        unsafe { self.set_option(level, name, &value, op) }
    }

    /// PACKET_VERSION: TPACKET_V2 or TPACKET_V3 frame headers; must precede the ring.
    pub fn set_version(&self, version: libc::tpacket_versions) -> Result<()> {
        self.set_int_option(libc::SOL_PACKET, libc::PACKET_VERSION, version as libc::c_int, "PACKET_VERSION")
    }

    /// Binds to the interface for `protocol` (network byte order); packets flow from here on.
    pub fn bind(&self, protocol_be: u16) -> Result<()> {
        // SAFETY: sockaddr_ll is a C struct of integers, for which all-zero is valid.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol_be;
        addr.sll_ifindex = self.ifindex;
        // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its size.
        unsafe {
            syscall!(bind(
                self.fd.as_raw_fd(),
                &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ))
        }
        .map(drop)
        .map_err(self.err("bind"))
    }

    /// PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC; the kernel undoes it when the socket closes.
    pub fn set_promiscuous(&self) -> Result<()> {
        let mreq = libc::packet_mreq {
            mr_ifindex: self.ifindex,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        // SAFETY: PACKET_ADD_MEMBERSHIP reads a `struct packet_mreq`, which `mreq` is.
        unsafe { self.set_option(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq, "PACKET_ADD_MEMBERSHIP") }
    }

    /// SO_ATTACH_FILTER with a classic BPF program (at most 4096 instructions, checked
    /// by [`crate::validate_program`]). It replaces the socket's program atomically.
    pub fn attach_filter(&self, program: &[Instruction]) -> Result<()> {
        // `Instruction` has the layout of `struct sock_filter`; the kernel only reads it.
        let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr() as *mut libc::sock_filter };
        // SAFETY: SO_ATTACH_FILTER reads a `struct sock_fprog` whose `filter` points to
        // `len` live `struct sock_filter`s: `program`, borrowed for the call.
        unsafe { self.set_option(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog, "SO_ATTACH_FILTER") }
    }

    /// SO_DETACH_FILTER; no filter attached (ENOENT) is not an error.
    pub fn detach_filter(&self) -> Result<()> {
        let none: libc::c_int = 0;
        // SAFETY: SO_DETACH_FILTER takes (and ignores) an int.
        match unsafe { setsockopt(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_DETACH_FILTER, &none) } {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(Error::os(&self.iface, "SO_DETACH_FILTER", e)),
            _ => Ok(()),
        }
    }

    /// PACKET_STATISTICS. `v3` selects the `tpacket_stats_v3` layout.
    pub fn kernel_stats(&self, v3: bool) -> Result<KernelStats> {
        let fd = self.fd.as_fd();
        if v3 {
            // SAFETY: PACKET_STATISTICS of a TPACKET_V3 socket writes a `struct
            // tpacket_stats_v3`, three u32s, for which any bytes are valid.
            let s: libc::tpacket_stats_v3 = unsafe { getsockopt(fd, libc::SOL_PACKET, libc::PACKET_STATISTICS) }
                .map_err(self.err("PACKET_STATISTICS"))?;
            Ok(KernelStats { packets: s.tp_packets, drops: s.tp_drops, freezes: s.tp_freeze_q_cnt })
        } else {
            // SAFETY: otherwise it writes a `struct tpacket_stats`, two u32s.
            let s: libc::tpacket_stats = unsafe { getsockopt(fd, libc::SOL_PACKET, libc::PACKET_STATISTICS) }
                .map_err(self.err("PACKET_STATISTICS"))?;
            Ok(KernelStats { packets: s.tp_packets, drops: s.tp_drops, freezes: 0 })
        }
    }

    /// Reads and clears the socket's pending error (SO_ERROR), e.g. ENETDOWN after the
    /// interface went down or was removed.
    pub fn take_error(&self) -> Option<io::Error> {
        // SAFETY: SO_ERROR writes an int, valid for any bytes.
        match unsafe { getsockopt::<libc::c_int>(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_ERROR) } {
            Ok(0) => None,
            Ok(errno) => Some(io::Error::from_raw_os_error(errno)),
            Err(e) => Some(e),
        }
    }

    /// Turns a pending socket error into an [`Error`] that says whether the interface
    /// went down or is gone.
    pub fn error_from(&self, e: io::Error) -> Error {
        if e.raw_os_error() == Some(libc::ENETDOWN) {
            let removed = self.interface_index(&self.iface).map_or(true, |index| index != self.ifindex);
            return Error::InterfaceDown { iface: self.iface.clone(), removed };
        }
        Error::os(&self.iface, "receive", e)
    }

    /// One `send()` of a whole link-layer frame through the bound interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `frame` is a live buffer of `frame.len()` bytes the kernel only reads.
            match unsafe { syscall!(send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0)) } {
                Ok(n) => return Ok(n as usize),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// `poll()` on the socket alone; returns `revents`.
    pub fn poll(&self, events: i16, timeout_ms: i32) -> io::Result<i16> {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events, revents: 0 };
        loop {
            // SAFETY: one valid pollfd, count 1.
            match unsafe { syscall!(poll(&mut pfd, 1, timeout_ms)) } {
                Ok(_) => return Ok(pfd.revents),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sets or clears O_NONBLOCK (fcntl F_SETFL). `sendto()` adds MSG_DONTWAIT by itself
    /// on an O_NONBLOCK socket, so a TX ring socket must be blocking for an empty
    /// `sendto()` without MSG_DONTWAIT to wait until its frames are sent.
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
        let flags = unsafe { syscall!(fcntl(self.fd.as_raw_fd(), libc::F_GETFL)) }.map_err(self.err("fcntl(F_GETFL)"))?;
        let flags = if nonblocking { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
        // SAFETY: F_SETFL takes an int of flags; the descriptor is owned by `self`.
        unsafe { syscall!(fcntl(self.fd.as_raw_fd(), libc::F_SETFL, flags)) }.map(drop).map_err(self.err("fcntl(F_SETFL)"))
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_hardware_types_are_named() {
        let e = no_raw_link_type("nlmon0", 824);
        assert!(matches!(e, Error::LinkType { ref iface, .. } if iface == "nlmon0"), "{e:?}");
        assert_eq!(
            e.to_string(),
            "interface \"nlmon0\" has hardware type ARPHRD_NETLINK (824), which has no link type a raw socket \
             captures: libpcap captures it in cooked mode (a SOCK_DGRAM socket and a Linux cooked header), which \
             netring does for the any device only: capture ring:any with the filter \"ifindex N\""
        );
    }

    #[test]
    fn interface_names() {
        for good in ["eth0", "veth-a.10", "a", "fifteen_chars_x"] {
            check_interface_name(good).unwrap();
        }
        for bad in ["", ".", "..", "has space", "a/b", "a:b", "sixteen_chars_xx"] {
            let err = check_interface_name(bad).unwrap_err();
            assert!(matches!(err, Error::InterfaceName { .. }), "{bad}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
