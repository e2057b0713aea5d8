//! Waiting for a packet socket on napi's tokio runtime.
//!
//! The socket is registered with tokio's reactor (epoll); a wait is a future, not a
//! thread, so any number of idle captures hold no thread at all, and libuv's thread pool
//! (which `fs`, `dns` and zlib need) is never used.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::within_runtime_if_available;
use netring_core::PacketSocket;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;

use crate::error::to_napi;

/// How often a wait looks at the socket even without a wake-up from epoll, so that a
/// missed edge (or an error epoll reports in a way tokio does not map) costs at most this.
const RECHECK: Duration = Duration::from_secs(1);

struct SocketRef(Arc<PacketSocket>);

impl AsRawFd for SocketRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

pub struct Waiter {
    // Dropped first: deregisters from epoll while the socket (held inside) is still open.
    fd: AsyncFd<SocketRef>,
    closed: AtomicBool,
    notify: Notify,
    /// A socket error seen while waiting; reported by the wait after the one that saw it,
    /// so the packets already in the ring are delivered before it.
    failed: Mutex<Option<String>>,
    /// How long to let the kernel hand over a partly filled block after an error.
    settle: Duration,
}

impl Waiter {
    pub fn new(socket: Arc<PacketSocket>, settle: Duration) -> napi::Result<Arc<Self>> {
        let fd = within_runtime_if_available(|| {
            // SAFETY: the fd belongs to the PacketSocket inside `SocketRef`, which the
            // AsyncFd owns: it stays open and is the same fd until the AsyncFd is dropped.
            unsafe { AsyncFd::register_with_interest(SocketRef(socket), Interest::READABLE) }
        })
        .map_err(|e| napi::Error::from_reason(format!("cannot register the socket with epoll: {e}")))?;
        Ok(Arc::new(Waiter { fd, closed: AtomicBool::new(false), notify: Notify::new(), failed: Mutex::new(None), settle }))
    }

    /// Wakes every pending wait; they resolve `false`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Resolves `true` when packets may be ready, `false` once closed; rejects with the
    /// socket's error (the interface went down or was removed).
    pub async fn readable(self: Arc<Self>) -> napi::Result<bool> {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.closed.load(Ordering::Acquire) {
            return Ok(false);
        }
        if let Some(reason) = self.failed.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(napi::Error::from_reason(reason));
        }
        tokio::select! {
            _ = &mut notified => Ok(false),
            ready = self.wait_readable() => ready,
        }
    }

    async fn wait_readable(&self) -> napi::Result<bool> {
        let socket = &self.fd.get_ref().0;
        loop {
            let guard = tokio::time::timeout(RECHECK, self.fd.readable()).await;
            let revents = socket.poll(libc::POLLIN, 0).map_err(|e| napi::Error::from_reason(e.to_string()))?;
            if revents & libc::POLLIN != 0 {
                return Ok(true);
            }
            if revents & libc::POLLERR != 0 {
                if let Some(e) = socket.take_error() {
                    let reason = to_napi(socket.error_from(e)).reason;
                    *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                    tokio::time::sleep(self.settle).await;
                    return Ok(true);
                }
            }
            match guard {
                Ok(Ok(mut guard)) => guard.clear_ready(),
                Ok(Err(e)) => return Err(napi::Error::from_reason(format!("waiting for the socket: {e}"))),
                Err(_elapsed) => {}
            }
        }
    }
}
