//! The one error type of the crate. Each variant knows which JavaScript error class it
//! maps to (see [`Error::kind`]) and its message names the value, the rule or the errno.

use std::fmt;
use std::io;

use crate::sys::errno_name;

#[derive(Debug)]
pub enum Error {
    /// An option is outside its range or breaks a geometry rule; nothing was opened.
    Range(String),
    /// An argument has the wrong shape (for example an empty interface name).
    Type(String),
    /// The interface does not exist (ENODEV) in the namespace the socket lives in.
    NoDevice { iface: String },
    /// The kernel refused for lack of privilege: opening AF_PACKET sockets needs CAP_NET_RAW.
    Permission { iface: String, op: &'static str, errno: i32 },
    /// The interface went down or was removed while the socket was bound to it (ENETDOWN).
    InterfaceDown { iface: String, removed: bool },
    /// The capture or sender was closed before this call.
    Closed,
    /// Any other failed system call, with the operation that failed.
    Os { iface: String, op: &'static str, source: io::Error },
    /// libpcap refused a tcpdump filter expression; `message` is libpcap's.
    Filter { expression: String, message: String },
    /// A string filter needs libpcap, which could not be loaded (`reason` says why).
    NoLibpcap { reason: String },
    /// A trace file could not be opened, read or written.
    File { path: String, op: &'static str, source: io::Error },
    /// A trace file is truncated or damaged at `offset` bytes, in or before packet `packet`
    /// (counted from 1); the packets before it were delivered.
    BadFile { path: String, packet: u64, offset: u64, message: String },
    /// PACKET_FANOUT refused to make or join a group (`group` `None`: a new group).
    Fanout { iface: String, group: Option<u32>, mode: &'static str, flags: String, source: io::Error },
}

/// The class of JavaScript error a binding should throw for an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Range,
    Type,
    System,
}

impl Error {
    pub(crate) fn os(iface: &str, op: &'static str, source: io::Error) -> Self {
        let errno = source.raw_os_error().unwrap_or(0);
        match errno {
            libc::EPERM | libc::EACCES => Error::Permission { iface: iface.to_owned(), op, errno },
            libc::ENODEV | libc::ENXIO => Error::NoDevice { iface: iface.to_owned() },
            libc::ENETDOWN => Error::InterfaceDown { iface: iface.to_owned(), removed: false },
            _ => Error::Os { iface: iface.to_owned(), op, source },
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Range(_) => ErrorKind::Range,
            Error::Type(_) | Error::Filter { .. } => ErrorKind::Type,
            _ => ErrorKind::System,
        }
    }

    /// A Node-style `code` for the error: `ERR_OUT_OF_RANGE`, `ERR_INVALID_ARG_TYPE`,
    /// `ERR_INVALID_ARG_VALUE` (a filter expression that does not compile),
    /// `ERR_NETRING_CLOSED`, `ERR_NETRING_NO_LIBPCAP`, or the errno name ("ENODEV", "EPERM", …).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Range(_) => "ERR_OUT_OF_RANGE",
            Error::Type(_) => "ERR_INVALID_ARG_TYPE",
            Error::NoDevice { .. } => "ENODEV",
            Error::Permission { errno, .. } => errno_name(*errno),
            Error::InterfaceDown { .. } => "ENETDOWN",
            Error::Closed => "ERR_NETRING_CLOSED",
            Error::Os { source, .. } | Error::Fanout { source, .. } => errno_name(source.raw_os_error().unwrap_or(0)),
            Error::Filter { .. } => "ERR_INVALID_ARG_VALUE",
            Error::File { source, .. } => match source.raw_os_error() {
                Some(errno) => errno_name(errno),
                None => "ERR_NETRING_BAD_FILE",
            },
            Error::BadFile { .. } => "ERR_NETRING_BAD_FILE",
            Error::NoLibpcap { .. } => "ERR_NETRING_NO_LIBPCAP",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Range(msg) | Error::Type(msg) => f.write_str(msg),
            Error::NoDevice { iface } => write!(f, "no such interface \"{iface}\" (ENODEV)"),
            Error::Permission { iface, op, errno } => write!(
                f,
                "{op} on \"{iface}\" was refused ({}): capturing and injecting packets needs \
                 CAP_NET_RAW (run as root or grant it, e.g. `setcap cap_net_raw+ep $(which node)`)",
                errno_name(*errno)
            ),
            Error::InterfaceDown { iface, removed: true } => {
                write!(f, "interface \"{iface}\" was removed during the capture (ENETDOWN)")
            }
            Error::InterfaceDown { iface, removed: false } => {
                write!(f, "interface \"{iface}\" went down during the capture (ENETDOWN)")
            }
            Error::Closed => f.write_str("the handle is closed"),
            Error::Os { iface, op, source } => {
                let errno = source.raw_os_error().unwrap_or(0);
                write!(f, "{op} on \"{iface}\" failed: {source} ({})", errno_name(errno))
            }
            Error::Filter { expression, message } => write!(f, "filter {expression:?} does not compile: {message} (libpcap)"),
            Error::NoLibpcap { reason } => write!(
                f,
                "a string filter is compiled by libpcap, which could not be loaded ({reason}); install it \
                 (Debian and Ubuntu: apt-get install libpcap0.8; Fedora: dnf install libpcap) or give the \
                 filter as a raw BPF program (what `tcpdump -dd` prints)"
            ),
            Error::File { path, op, source } => match source.raw_os_error() {
                Some(errno) => write!(f, "{op} of \"{path}\" failed: {source} ({})", errno_name(errno)),
                None => write!(f, "{op} of \"{path}\" failed: {source}"),
            },
            Error::BadFile { path, packet, offset, message } => {
                write!(f, "\"{path}\" is damaged at byte offset {offset} (packet {packet}): {message}")
            }
            Error::Fanout { iface, group, mode, flags, source } => {
                let errno = source.raw_os_error().unwrap_or(0);
                match group {
                    Some(group) => write!(f, "PACKET_FANOUT on \"{iface}\" could not join group {group}")?,
                    None => write!(f, "PACKET_FANOUT on \"{iface}\" could not make a new group")?,
                }
                write!(f, " (mode {mode}, flags {flags}): ")?;
                match errno {
                    libc::EINVAL if group.is_some() => f.write_str(
                        "the group exists in this network namespace with another mode or flags, or on another \
                         interface",
                    )?,
                    libc::ENOSPC => f.write_str("the group has its largest number of members")?,
                    libc::EALREADY => f.write_str("the socket is in a group already")?,
                    libc::ENOMEM if group.is_none() => f.write_str("no group id is free")?,
                    _ => write!(f, "{source}")?,
                }
                write!(f, " ({})", errno_name(errno))
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os { source, .. } | Error::Fanout { source, .. } | Error::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
