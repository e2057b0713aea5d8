//! The user side of a TX ring: which slot to fill next, which one the kernel finishes
//! next, and how a slot the kernel refused (TP_STATUS_WRONG_FORMAT) is skipped.

use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::options::TxRingConfig;
use super::slot::SlotLayout;
use crate::mmap::Mapping;

/// Status bits of a slot the kernel still owns.
const KERNEL_OWNED: u32 = libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING;

/// The user side of a TX ring: which slot to fill next and which one the kernel
/// finishes next.
#[derive(Debug)]
pub(crate) struct TxRing {
    map: Mapping,
    pub(crate) layout: SlotLayout,
    /// Next slot to fill.
    head: usize,
    /// Oldest slot handed to the kernel and not yet reclaimed.
    tail: usize,
    /// Slots from `tail` on that are queued (SEND_REQUEST) or being sent.
    pub(crate) in_flight: usize,
    /// Frames queued since the last kick.
    pub(crate) since_kick: usize,
    /// Frames queued after which the sender kicks without waiting.
    pub(crate) frames_per_kick: usize,
}

impl TxRing {
    /// The ring over `map`, laid out as `config` says, with every slot user space's.
    pub(crate) fn new(map: Mapping, config: &TxRingConfig) -> Self {
        TxRing {
            map,
            layout: SlotLayout::new(config),
            head: 0,
            tail: 0,
            in_flight: 0,
            since_kick: 0,
            frames_per_kick: config.frames_per_kick as usize,
        }
    }

    /// The status word of slot `index` (< frame_count).
    fn status(&self, index: usize) -> &AtomicU32 {
        assert!(index < self.layout.frame_count);
        let offset = self.layout.slot(index) + self.layout.status();
        // SAFETY: for an index below frame_count, `slot()` is a 16-byte aligned offset
        // below block_count × block_size, the mapped length, and tp_status is an aligned
        // u32 in the slot header, only ever accessed atomically.
        unsafe { self.map.status_word(offset) }
    }

    /// Whether the slot to fill next is ours: no SEND_REQUEST or SENDING bit, whatever
    /// else (timestamp bits) the kernel left in its status.
    fn head_free(&self) -> bool {
        self.in_flight < self.layout.frame_count && self.status(self.head).load(Ordering::Acquire) & KERNEL_OWNED == 0
    }

    /// Writes `frame` (at most `layout.capacity()` bytes) into slot `index`, without
    /// touching its status.
    ///
    /// # Safety
    /// `index` must be below frame_count and `frame.len()` at most `layout.capacity()`.
    /// The slot must be user space's: not SEND_REQUEST or SENDING, or one that the kernel
    /// cannot reach because its own head is stopped on an earlier slot.
    unsafe fn write_slot(&self, index: usize, frame: &[u8]) {
        debug_assert!(index < self.layout.frame_count && frame.len() <= self.layout.capacity());
        let base = self.layout.slot(index);
        // SAFETY: the slot lies inside the mapping and the frame fits after its header
        // (caller's contract), the header words are aligned u32s, and the kernel does not
        // read the slot until its status says SEND_REQUEST (caller's contract).
        unsafe {
            let slot = self.map.as_ptr().add(base);
            ptr::copy_nonoverlapping(frame.as_ptr(), slot.add(self.layout.data()), frame.len());
            slot.add(self.layout.len()).cast::<u32>().write(frame.len() as u32);
            let second = if self.layout.v3 { 0 } else { frame.len() as u32 };
            slot.add(self.layout.second()).cast::<u32>().write(second);
        }
    }

    /// Queues `frame` (at most `layout.capacity()` bytes) in the head slot if it is free;
    /// returns whether it was.
    pub(crate) fn push(&mut self, frame: &[u8]) -> bool {
        assert!(frame.len() <= self.layout.capacity(), "frame longer than a slot");
        if !self.head_free() {
            return false;
        }
        // SAFETY: `head` is kept below frame_count and the frame fits (asserted);
        // `head_free()` saw no SEND_REQUEST/SENDING bit with Acquire, so the kernel is done
        // with the slot and will not look at it before the Release store below.
        unsafe { self.write_slot(self.head, frame) };
        self.status(self.head).store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        self.head = (self.head + 1) % self.layout.frame_count;
        self.in_flight += 1;
        self.since_kick += 1;
        true
    }

    /// Walks from the oldest in-flight slot over the ones the kernel has finished.
    /// Returns (reclaimed, sent, malformed, whether the kernel needs a new kick).
    pub(crate) fn reclaim(&mut self) -> (usize, u64, u64, bool) {
        let (mut sent, mut malformed, mut rekick) = (0, 0, false);
        let before = self.in_flight;
        while self.in_flight > 0 {
            let status = self.status(self.tail).load(Ordering::Acquire);
            if status & KERNEL_OWNED != 0 {
                break;
            }
            if status & libc::TP_STATUS_WRONG_FORMAT != 0 {
                malformed += 1;
                rekick |= self.skip_malformed();
                continue;
            }
            sent += 1;
            self.tail = (self.tail + 1) % self.layout.frame_count;
            self.in_flight -= 1;
        }
        (before - self.in_flight, sent, malformed, rekick)
    }

    /// The kernel marks a slot it cannot send TP_STATUS_WRONG_FORMAT and keeps its own
    /// head there: it never looks past that slot again until the slot says SEND_REQUEST.
    /// So the frames queued behind it are moved one slot back, the freed last slot is
    /// made available, and only then is the malformed slot (now holding the next frame)
    /// requested again. Returns whether frames were moved (the kernel needs a kick).
    fn skip_malformed(&mut self) -> bool {
        let n = self.layout.frame_count;
        let bad = self.tail;
        let behind = self.in_flight - 1;
        for k in 0..behind {
            let (dst, src) = ((bad + k) % n, (bad + k + 1) % n);
            let src_base = self.layout.slot(src);
            // SAFETY: the kernel's head is stopped at `bad`, whose status is not
            // SEND_REQUEST, so it reads none of the slots `bad..bad+behind` until the
            // Release store below: they are user space's. Both indexes are below
            // frame_count, the length read is clamped to a slot, and `dst != src`.
            unsafe {
                let len = self.map.as_ptr().add(src_base + self.layout.len()).cast::<u32>().read() as usize;
                let len = len.min(self.layout.capacity());
                let frame = std::slice::from_raw_parts(self.map.as_ptr().add(src_base + self.layout.data()), len);
                self.write_slot(dst, frame);
            }
        }
        let last = (bad + behind) % n;
        if behind > 0 {
            self.status(last).store(libc::TP_STATUS_AVAILABLE, Ordering::Release);
            self.status(bad).store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        } else {
            self.status(bad).store(libc::TP_STATUS_AVAILABLE, Ordering::Release);
        }
        self.head = last;
        self.in_flight -= 1;
        behind > 0
    }
}

/// The TX ring's state machine without a socket: an anonymous mapping plays the ring and
/// the test plays the kernel, completing slots (TP_STATUS_AVAILABLE, with timestamp bits)
/// or refusing them (TP_STATUS_WRONG_FORMAT).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::options::fixtures::{opts, ring as config};

    fn ring(version: u32, frame_count: u32) -> TxRing {
        let config = config(opts(|o| {
            o.version = Some(version);
            o.frame_count = Some(frame_count);
        }));
        TxRing::new(Mapping::anonymous(config.ring_bytes()).unwrap(), &config)
    }

    fn word(ring: &TxRing, slot: usize, field: usize) -> u32 {
        // SAFETY: header words of a slot inside the mapping, aligned; single-threaded test.
        unsafe { ring.map.as_ptr().add(ring.layout.slot(slot) + field).cast::<u32>().read() }
    }

    fn frame_in(ring: &TxRing, slot: usize) -> Vec<u8> {
        let len = word(ring, slot, ring.layout.len()) as usize;
        // SAFETY: the slot's data area holds `len` <= capacity bytes written by `push`.
        unsafe { std::slice::from_raw_parts(ring.map.as_ptr().add(ring.layout.slot(slot) + ring.layout.data()), len) }
            .to_vec()
    }

    /// What the kernel does when it has sent a slot.
    fn kernel_completes(ring: &TxRing, slot: usize) {
        ring.status(slot).store(libc::TP_STATUS_AVAILABLE | libc::TP_STATUS_TS_SOFTWARE, Ordering::Release);
    }

    fn frame(seq: u8, len: usize) -> Vec<u8> {
        vec![seq; len]
    }

    #[test]
    fn push_writes_the_slot_header_and_requests_the_send() {
        for version in [2, 3] {
            let mut r = ring(version, 4);
            assert!(r.push(&frame(1, 60)));
            assert!(r.push(&frame(2, 1514)));
            assert_eq!(r.status(0).load(Ordering::Acquire), libc::TP_STATUS_SEND_REQUEST);
            assert_eq!(word(&r, 0, r.layout.len()), 60);
            // tp_snaplen = tp_len for V2; tp_next_offset must stay 0 for V3.
            assert_eq!(word(&r, 1, r.layout.second()), if version == 3 { 0 } else { 1514 });
            assert_eq!(frame_in(&r, 1), frame(2, 1514));
            assert_eq!(r.status(2).load(Ordering::Acquire), libc::TP_STATUS_AVAILABLE, "untouched");
            assert_eq!((r.in_flight, r.since_kick), (2, 2));
        }
    }

    #[test]
    fn a_full_ring_refuses_until_the_kernel_completes_and_reclaim_counts() {
        let mut r = ring(2, 4);
        for seq in 0..4 {
            assert!(r.push(&frame(seq, 64)));
        }
        assert!(!r.push(&frame(9, 64)), "every slot is requested");
        assert_eq!(r.reclaim(), (0, 0, 0, false), "the kernel has finished nothing");
        kernel_completes(&r, 0);
        kernel_completes(&r, 1);
        assert_eq!(r.reclaim(), (2, 2, 0, false));
        assert_eq!(r.in_flight, 2);
        // Timestamp bits in a free slot's status do not make it the kernel's.
        assert!(r.push(&frame(4, 64)));
        assert!(r.push(&frame(5, 64)));
        assert!(!r.push(&frame(6, 64)));
        assert_eq!(frame_in(&r, 0), frame(4, 64), "slot 0 reused");
        // A slot still SENDING stops the reclaim there, in ring order.
        r.status(2).store(libc::TP_STATUS_SENDING, Ordering::Release);
        kernel_completes(&r, 3);
        assert_eq!(r.reclaim(), (0, 0, 0, false));
        kernel_completes(&r, 2);
        assert_eq!(r.reclaim(), (2, 2, 0, false));
    }

    #[test]
    fn a_wrong_format_slot_is_counted_and_the_frames_behind_it_move_up() {
        let mut r = ring(2, 4);
        for seq in 1..=3 {
            assert!(r.push(&frame(seq, 60 + usize::from(seq))));
        }
        // The kernel refuses slot 0 and stops there.
        r.status(0).store(libc::TP_STATUS_WRONG_FORMAT, Ordering::Release);
        let (reclaimed, sent, malformed, rekick) = r.reclaim();
        assert_eq!((reclaimed, sent, malformed, rekick), (1, 0, 1, true));
        // Frames 2 and 3 now sit in slots 0 and 1, requested again; slot 2 is free.
        assert_eq!((frame_in(&r, 0), frame_in(&r, 1)), (frame(2, 62), frame(3, 63)));
        assert_eq!(r.status(0).load(Ordering::Acquire), libc::TP_STATUS_SEND_REQUEST);
        assert_eq!(r.status(1).load(Ordering::Acquire), libc::TP_STATUS_SEND_REQUEST);
        assert_eq!(r.status(2).load(Ordering::Acquire), libc::TP_STATUS_AVAILABLE);
        assert_eq!(r.in_flight, 2);
        assert!(r.push(&frame(4, 64)), "the freed slot takes the next frame");
        assert_eq!(frame_in(&r, 2), frame(4, 64));
        for slot in 0..3 {
            kernel_completes(&r, slot);
        }
        assert_eq!(r.reclaim(), (3, 3, 0, false));
        // A refused slot with nothing behind it is simply made available.
        assert!(r.push(&frame(5, 65)));
        r.status(3).store(libc::TP_STATUS_WRONG_FORMAT, Ordering::Release);
        assert_eq!(r.reclaim(), (1, 0, 1, false));
        assert_eq!(r.status(3).load(Ordering::Acquire), libc::TP_STATUS_AVAILABLE);
        assert_eq!(r.in_flight, 0);
    }
}
