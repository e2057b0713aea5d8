//! The shared memory of a PACKET_MMAP ring.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

use crate::sys::syscall;

/// A `mmap(MAP_SHARED)` of a packet socket's ring; unmapped on drop.
#[derive(Debug)]
#[allow(clippy::len_without_is_empty)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; who may touch which slot is
// governed by the ring's status words, which are only accessed atomically.
unsafe impl Send for Mapping {}
// SAFETY: a shared reference gives out only the address and length (writes through them
// are the caller's unsafe business, as above) and `detach`, one system call.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of the ring set up on `fd` with PACKET_RX_RING / PACKET_TX_RING.
    pub fn new(fd: BorrowedFd<'_>, len: usize) -> io::Result<Self> {
        // SAFETY: a fresh shared mapping chosen by the kernel (addr NULL), so it aliases no
        // Rust object; the kernel checks `len` against the ring it set up.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        Ok(Mapping { ptr, len })
    }

    /// A private anonymous mapping of `len` zeroed bytes (`mmap(MAP_PRIVATE |
    /// MAP_ANONYMOUS)`), laid out like a ring: for tests that play the kernel's part over
    /// fixtures without a socket or privileges.
    #[cfg(test)]
    pub(crate) fn anonymous(len: usize) -> io::Result<Self> {
        // SAFETY: a fresh private mapping chosen by the kernel (addr NULL, fd -1), so it
        // aliases no Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        Ok(Mapping { ptr, len })
    }

    /// The start of the mapping. Writing through it is governed by the ring's status
    /// words: only slots that are user space's.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The ring status word (`tp_status`, `block_status`) at `offset`: the one word the
    /// kernel and user space both write, so it is only ever accessed atomically, Acquire
    /// to take a slot, Release to hand it over.
    ///
    /// # Safety
    /// `offset` must be 4-byte aligned with `offset + 4 <= self.len()`, and be the offset
    /// of a status word: no other reference (non-atomic) to those bytes may be alive.
    pub(crate) unsafe fn status_word(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= self.len);
        // SAFETY: in bounds and aligned (caller's contract), valid for as long as `self`,
        // which the returned reference borrows; accessed only atomically (caller's contract).
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast::<u32>()) }
    }

    /// Puts zero-filled private memory where the ring was, in one mmap(MAP_FIXED). For a
    /// ring whose memory was lent out (see [`crate::Capture::ring_memory`]): whoever
    /// still points into it reads zeros instead of faulting, and the socket, which the
    /// ring's mapping kept open, can close. The new memory is unmapped on drop as the
    /// ring would have been.
    pub(crate) fn detach(&self) -> io::Result<()> {
        // SAFETY: MAP_FIXED over exactly this value's own range, which only replaces pages
        // this value owns; the range stays mapped and readable throughout.
        let ptr = unsafe {
            libc::mmap(
                self.ptr.as_ptr().cast(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // munmap can only fail for an address range that is not a mapping, which cannot
        // happen for one this value created; there is nothing useful to do in drop anyway.
        // SAFETY: `ptr..ptr + len` is a mapping this value made and nothing borrows it any
        // more (drop takes `&mut self`, and every slice into it borrowed `self`).
        let _ = unsafe { syscall!(munmap(self.ptr.as_ptr().cast(), self.len)) };
    }
}
