//! The one error type of the crate. Messages name the value, the rule or the errno, in
//! Rust terms: options by their field names (`block_size`), no advice that depends on
//! who embeds the crate. [`Error::Option`] keeps the option and the problem apart from
//! the text, so a binding can name options its own way (see [`Text::render`]).

use std::fmt;
use std::io;

use crate::sys::errno_name;

/// What went wrong, with what it went wrong on.
#[derive(Debug)]
pub enum Error {
    /// An option breaks a rule (its range, the ring geometry, where it applies); nothing
    /// was opened. `text` says the value and the rule, naming options as [`OptionName`]s.
    Option {
        /// The option at fault.
        option: OptionName,
        /// Out of range, not applicable, or malformed.
        problem: Problem,
        /// The message, with option names kept apart.
        text: Text,
    },
    /// A raw BPF program breaks one of the kernel's rules (`bpf_check_classic()`).
    Program {
        /// [`Problem::OutOfRange`] for lengths, jumps, shifts and slots;
        /// [`Problem::Invalid`] for an unknown opcode or a last instruction that is no `ret`.
        problem: Problem,
        /// Which instruction and which rule.
        message: String,
    },
    /// A frame to send is empty, shorter than a link header, or longer than the
    /// interface's MTU or a TX slot allows.
    Frame {
        /// The frame's length in bytes.
        len: usize,
        /// The limit it breaks.
        message: String,
    },
    /// An interface name the kernel's `dev_valid_name()` would refuse.
    InterfaceName {
        /// The name as given.
        name: String,
    },
    /// A trace file format name other than `pcap`, `pcap-ns` and `pcapng`.
    FileFormat {
        /// The name as given.
        name: String,
    },
    /// The network namespace to open the socket in does not exist.
    NoNamespace {
        /// The namespace as given.
        ns: String,
        /// The file it names.
        path: String,
    },
    /// The call does not apply to this kind of handle (for example, lending packets of
    /// a recv() capture); `text` says which kind it applies to.
    Unsupported {
        /// What applies where, with method names kept apart.
        text: Text,
    },
    /// The interface's link layer is one netring cannot capture raw (libpcap would use a
    /// cooked socket), or frames of a file's link type cannot be sent through it as they are.
    LinkType {
        /// The interface.
        iface: String,
        /// Which link types, and why.
        message: String,
    },
    /// The interface does not exist (ENODEV) in the namespace the socket lives in.
    NoDevice {
        /// The interface.
        iface: String,
    },
    /// The kernel refused for lack of privilege: opening AF_PACKET sockets needs CAP_NET_RAW.
    Permission {
        /// The interface.
        iface: String,
        /// The system call that was refused.
        op: &'static str,
        /// EPERM or EACCES.
        errno: i32,
    },
    /// Entering a network namespace (setns) was refused: that needs CAP_SYS_ADMIN.
    NamespacePermission {
        /// The namespace, as given.
        ns: String,
        /// EPERM or EACCES.
        errno: i32,
    },
    /// The interface went down or was removed while the socket was bound to it (ENETDOWN).
    InterfaceDown {
        /// The interface.
        iface: String,
        /// Whether it is gone rather than down.
        removed: bool,
    },
    /// The capture or sender was closed before this call.
    Closed,
    /// A [`crate::Recorder`]'s thread panicked.
    RecorderPanicked,
    /// Any other failed system call, with the operation that failed.
    Os {
        /// The interface (or namespace) the call was about.
        iface: String,
        /// The system call.
        op: &'static str,
        /// The errno.
        source: io::Error,
    },
    /// libpcap refused a tcpdump filter expression; `message` is libpcap's.
    Filter {
        /// The expression.
        expression: String,
        /// libpcap's `pcap_geterr()`.
        message: String,
    },
    /// A string filter needs libpcap, which could not be loaded (`reason` says why).
    NoLibpcap {
        /// dlopen()'s errors, or what `NETRING_LIBPCAP` named.
        reason: String,
    },
    /// A trace file could not be opened, read or written.
    File {
        /// The file.
        path: String,
        /// open, create, read or write.
        op: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// A trace file is truncated or damaged at `offset` bytes, in or before packet `packet`
    /// (counted from 1); the packets before it were delivered.
    BadFile {
        /// The file.
        path: String,
        /// The packet (from 1) in or before which the damage is.
        packet: u64,
        /// Byte offset of the damage.
        offset: u64,
        /// What is wrong there.
        message: String,
    },
    /// PACKET_FANOUT refused to make or join a group (`group` `None`: a new group).
    Fanout {
        /// The interface.
        iface: String,
        /// The group asked for; `None` for a new one.
        group: Option<u32>,
        /// The mode's name ("hash", …).
        mode: &'static str,
        /// The flags, as the option names them ("defrag", "rollover", or "none").
        flags: String,
        /// The errno.
        source: io::Error,
    },
}

/// What is wrong with an option or a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A value outside its range, or one that breaks a rule of the ring's geometry.
    OutOfRange,
    /// An option given where it does not apply (a ring option for recv(), …).
    NotApplicable,
    /// A value of the wrong shape (an empty namespace name, an unknown mode, …).
    Invalid,
}

/// The options an [`Error::Option`] can be about: the fields of [`crate::RxOptions`],
/// [`crate::TxOptions`] and [`crate::FanoutOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionName {
    /// `version`.
    Version,
    /// `block_size`.
    BlockSize,
    /// `block_count`.
    BlockCount,
    /// `frame_size`.
    FrameSize,
    /// `frame_count`.
    FrameCount,
    /// `block_timeout_ms`.
    BlockTimeoutMs,
    /// `snaplen`.
    Snaplen,
    /// `netns`.
    Netns,
    /// `buffer_size`.
    BufferSize,
    /// `zero_copy`.
    ZeroCopy,
    /// `loss` (TX).
    Loss,
    /// `frames_per_kick` (TX).
    FramesPerKick,
    /// `fanout` and its fields.
    Fanout,
    /// `filter`.
    Filter,
    /// `rotate` (a recording's file rotation).
    Rotate,
}

impl OptionName {
    /// The Rust field name of the option.
    pub fn field(self) -> &'static str {
        match self {
            OptionName::Version => "version",
            OptionName::BlockSize => "block_size",
            OptionName::BlockCount => "block_count",
            OptionName::FrameSize => "frame_size",
            OptionName::FrameCount => "frame_count",
            OptionName::BlockTimeoutMs => "block_timeout_ms",
            OptionName::Snaplen => "snaplen",
            OptionName::Netns => "netns",
            OptionName::BufferSize => "buffer_size",
            OptionName::ZeroCopy => "zero_copy",
            OptionName::Loss => "loss",
            OptionName::FramesPerKick => "frames_per_kick",
            OptionName::Fanout => "fanout",
            OptionName::Filter => "filter",
            OptionName::Rotate => "rotate",
        }
    }
}

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// The ways of capturing and sending, as a [`Text`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodName {
    /// [`crate::Method::Ring`]: a PACKET_MMAP RX ring.
    RxRing,
    /// [`crate::Method::Recv`]: recv() on a plain socket.
    RxRecv,
    /// [`crate::TxMethod::Ring`]: a PACKET_MMAP TX ring.
    TxRing,
    /// [`crate::TxMethod::Send`]: one send() per frame.
    TxSend,
}

impl MethodName {
    /// The Rust name of the method.
    pub fn rust_name(self) -> &'static str {
        match self {
            MethodName::RxRing => "Method::Ring",
            MethodName::RxRecv => "Method::Recv",
            MethodName::TxRing => "TxMethod::Ring",
            MethodName::TxSend => "TxMethod::Send",
        }
    }
}

/// One piece of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Words, values and rules.
    Words(String),
    /// The name of an option, to be spelled as the reader of the message knows it.
    Name(OptionName),
    /// The name of a method, likewise.
    Method(MethodName),
}

impl From<&str> for Piece {
    fn from(s: &str) -> Self {
        Piece::Words(s.to_owned())
    }
}

impl From<String> for Piece {
    fn from(s: String) -> Self {
        Piece::Words(s)
    }
}

impl From<MethodName> for Piece {
    fn from(name: MethodName) -> Self {
        Piece::Method(name)
    }
}

impl From<OptionName> for Piece {
    fn from(name: OptionName) -> Self {
        Piece::Name(name)
    }
}

/// A message that names options and methods: displayed with their Rust names, or
/// rendered with other names by [`Text::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub Vec<Piece>);

impl Text {
    /// The message with each option named by `name` and each method by `method`.
    pub fn render(
        &self,
        name: impl Fn(OptionName) -> &'static str,
        method: impl Fn(MethodName) -> &'static str,
    ) -> String {
        self.0.iter().fold(String::new(), |mut out, piece| {
            match piece {
                Piece::Words(words) => out.push_str(words),
                Piece::Name(option) => out.push_str(name(*option)),
                Piece::Method(m) => out.push_str(method(*m)),
            }
            out
        })
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(OptionName::field, MethodName::rust_name))
    }
}

/// A [`Text`] from words (`&str`, `String`) and [`OptionName`]s, in order.
macro_rules! text {
    ($($piece:expr),* $(,)?) => {
        $crate::error::Text(vec![$($crate::error::Piece::from($piece)),*])
    };
}
pub(crate) use text;

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

    /// The errno of a failed system call or file operation, if the error has one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::NoDevice { .. } => Some(libc::ENODEV),
            Error::Permission { errno, .. } | Error::NamespacePermission { errno, .. } => Some(*errno),
            Error::InterfaceDown { .. } => Some(libc::ENETDOWN),
            Error::Os { source, .. } | Error::Fanout { source, .. } => Some(source.raw_os_error().unwrap_or(0)),
            Error::File { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The part of [`Error::Permission`]'s message before the advice on how to get the privilege.
pub const PERMISSION_ADVICE: &str = "run as root or grant it to the program, e.g. `setcap cap_net_raw+ep <program>`";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Option { text, .. } => write!(f, "{text}"),
            Error::Program { message, .. } | Error::Frame { message, .. } => f.write_str(message),
            Error::InterfaceName { name } => write!(
                f,
                "interface name {name:?} must be 1 to {} bytes with no '/', ':' or white space",
                libc::IFNAMSIZ - 1
            ),
            Error::FileFormat { name } => write!(f, "file format {name:?} must be \"pcap\", \"pcap-ns\" or \"pcapng\""),
            Error::NoNamespace { ns, path } => write!(f, "network namespace {ns:?} does not exist ({path})"),
            Error::Unsupported { text } => write!(f, "{text}"),
            Error::LinkType { message, .. } => f.write_str(message),
            Error::NoDevice { iface } => write!(f, "no such interface \"{iface}\" (ENODEV)"),
            Error::Permission { .. } => write!(f, "{} ({PERMISSION_ADVICE})", self.permission_prefix()),
            Error::InterfaceDown { iface, removed: true } => {
                write!(f, "interface \"{iface}\" was removed during the capture (ENETDOWN)")
            }
            Error::InterfaceDown { iface, removed: false } => {
                write!(f, "interface \"{iface}\" went down while in use (ENETDOWN)")
            }
            Error::NamespacePermission { ns, errno } => write!(
                f,
                "entering network namespace \"{ns}\" (setns) was refused ({}): that needs CAP_SYS_ADMIN",
                errno_name(*errno)
            ),
            Error::Closed => f.write_str("the handle is closed"),
            Error::RecorderPanicked => f.write_str("the recording thread panicked"),
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

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// [`Error::Permission`]'s message up to the advice: "bind on "eth0" was refused
    /// (EPERM): capturing and injecting packets needs CAP_NET_RAW". Empty for other errors.
    pub fn permission_prefix(&self) -> String {
        match self {
            Error::Permission { iface, op, errno } => format!(
                "{op} on \"{iface}\" was refused ({}): capturing and injecting packets needs CAP_NET_RAW",
                errno_name(*errno)
            ),
            _ => String::new(),
        }
    }
}
