//! Thin wrappers over the libc calls the rest of the crate makes.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Calls a libc function and turns a `-1` return into `io::Error::last_os_error()`.
///
/// The call is not wrapped in `unsafe`: a use is `unsafe { syscall!(f(…)) }` under a
/// `// SAFETY:` comment that says why the arguments meet `f`'s contract.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        let res = libc::$fn($($arg),*);
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}
pub(crate) use syscall;

/// `setsockopt(fd, level, name, &value, sizeof value)`.
///
/// # Safety
/// `T` must be the type the kernel reads for option `name` at `level` (an `int` for flag
/// options, `struct tpacket_req3` for PACKET_RX_RING, …): the kernel interprets the
/// `size_of::<T>()` bytes at `value` as that type, and pointers inside it (such as
/// `sock_fprog.filter`) must point to memory valid for what the option reads.
pub(crate) unsafe fn setsockopt<T>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of exactly `size_of::<T>()` bytes for the
    // duration of the call; the kernel only reads it, as the type the caller vouches for.
    unsafe {
        syscall!(setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        ))
    }
    .map(drop)
}

/// `getsockopt(fd, level, name, &mut value, &mut len)`.
///
/// # Safety
/// `T` must be the type the kernel writes for option `name` at `level`, and it must be
/// valid for any bytes, all zeros included: plain integers and C structs of integers
/// (`int`, `struct tpacket_stats`), not `bool`, references, enums or pointers. The value
/// starts zeroed and the kernel may write fewer than `size_of::<T>()` bytes.
pub(crate) unsafe fn getsockopt<T>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    let mut value = mem::MaybeUninit::<T>::zeroed();
    let mut len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` has room for `len` bytes, which the kernel writes at most.
    unsafe { syscall!(getsockopt(fd.as_raw_fd(), level, name, value.as_mut_ptr().cast(), &mut len)) }?;
    // SAFETY: zero-initialised and (partly) overwritten by the kernel, and every bit
    // pattern is a valid `T` (caller's contract).
    Ok(unsafe { value.assume_init() })
}

/// The system page size (`sysconf(_SC_PAGESIZE)`): ring blocks must be a multiple of it.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as usize
    } else {
        4096
    }
}

/// The symbolic name of an errno value ("EPERM"), for error messages.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::ENODEV => "ENODEV",
        libc::ENXIO => "ENXIO",
        libc::ENETDOWN => "ENETDOWN",
        libc::EINVAL => "EINVAL",
        libc::ENOMEM => "ENOMEM",
        libc::ENOBUFS => "ENOBUFS",
        libc::EBUSY => "EBUSY",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENOENT => "ENOENT",
        libc::EBADF => "EBADF",
        libc::EFAULT => "EFAULT",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::ENOTSUP => "ENOTSUP",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENOSPC => "ENOSPC",
        libc::EEXIST => "EEXIST",
        libc::EALREADY => "EALREADY",
        libc::EIO => "EIO",
        libc::EISDIR => "EISDIR",
        libc::ENOTDIR => "ENOTDIR",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        libc::EROFS => "EROFS",
        libc::EMFILE => "EMFILE",
        libc::ENFILE => "ENFILE",
        libc::EFBIG => "EFBIG",
        libc::EDQUOT => "EDQUOT",
        libc::ETXTBSY => "ETXTBSY",
        libc::ESPIPE => "ESPIPE",
        libc::EPIPE => "EPIPE",
        libc::ENOSYS => "ENOSYS",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ERANGE => "ERANGE",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETRESET => "ENETRESET",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ENOTCONN => "ENOTCONN",
        libc::ESRCH => "ESRCH",
        libc::E2BIG => "E2BIG",
        libc::ENODATA => "ENODATA",
        libc::ENOMSG => "ENOMSG",
        libc::ENOTTY => "ENOTTY",
        libc::EXDEV => "EXDEV",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ECANCELED => "ECANCELED",
        _ => "EUNKNOWN",
    }
}
