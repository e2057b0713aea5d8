//! Opening a socket inside another network namespace, as `ip netns exec` would.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crate::error::{Error, Result};
use crate::sys::syscall;

/// The file naming a network namespace: a path as given, or a name under /run/netns.
pub fn netns_path(ns: &str) -> String {
    if ns.contains('/') {
        ns.to_owned()
    } else {
        format!("/run/netns/{ns}")
    }
}

/// Runs `f` with the calling thread in network namespace `ns`, then moves the thread back.
///
/// `setns(CLONE_NEWNET)` affects only the calling thread, and a socket stays in the
/// namespace it was created in, so only the `socket()` call needs to run inside.
pub fn in_netns<T>(ns: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let path = netns_path(ns);
    let target = File::open(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NoNamespace { ns: ns.to_owned(), path: path.clone() },
        _ => Error::os(ns, "open network namespace", e),
    })?;
    let home = File::open("/proc/thread-self/ns/net").map_err(|e| Error::os(ns, "open /proc/thread-self/ns/net", e))?;
    // SAFETY: setns() takes an fd of a namespace file, open for the call, and no pointers.
    unsafe { syscall!(setns(target.as_raw_fd(), libc::CLONE_NEWNET)) }.map_err(|e| match e.raw_os_error() {
        Some(errno @ (libc::EPERM | libc::EACCES)) => Error::NamespacePermission { ns: ns.to_owned(), errno },
        _ => Error::os(ns, "setns", e),
    })?;
    let result = f();
    // SAFETY: as above, with the thread's own namespace, opened before it moved.
    if let Err(e) = unsafe { syscall!(setns(home.as_raw_fd(), libc::CLONE_NEWNET)) } {
        // The thread would stay in the other namespace and every later socket or child
        // process it makes would land there. That cannot be reported and continued from.
        eprintln!("netring: cannot return to the original network namespace: {e}");
        std::process::abort();
    }
    result
}
