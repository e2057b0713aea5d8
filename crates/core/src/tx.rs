//! Sending frames: through a PACKET_MMAP TX ring (TPACKET_V2 or V3 slots that the kernel
//! sends when kicked with an empty `sendto()`), or with one `send()` per frame.
//!
//! A TX ring slot belongs to user space while its `tp_status` has neither
//! TP_STATUS_SEND_REQUEST nor TP_STATUS_SENDING. User space writes a frame into a free
//! slot and stores TP_STATUS_SEND_REQUEST; a kick makes the kernel walk the ring from its
//! own head, turn each requested slot into an skb (status TP_STATUS_SENDING) and, once the
//! skb is freed, store TP_STATUS_AVAILABLE, possibly with timestamp bits
//! (TP_STATUS_TS_*) or'ed in, which is why a free slot is never tested with `==`.
//! A slot the kernel cannot send gets TP_STATUS_WRONG_FORMAT and stops the kernel there.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::mmap::{frame_offset, Mapping};
use crate::options::{MAX_RING_BYTES, TPACKET_ALIGNMENT};
use crate::socket::PacketSocket;
use crate::sys::{page_size, syscall};

/// Default `tp_frame_size` of a TX ring: a slot holds a 1518-byte frame (and more) after
/// the slot header.
pub const DEFAULT_TX_FRAME_SIZE: u32 = 2048;
/// Default `tp_frame_nr` of a TX ring: 1024 slots (2 MiB with 2048-byte slots).
pub const DEFAULT_TX_FRAME_COUNT: u32 = 1024;
/// Largest accepted `tp_frame_size` of a TX ring: room for a 64 KiB frame and its header.
pub const MAX_TX_FRAME_SIZE: u32 = 1 << 17;
/// Default number of frames queued in a TX ring before they are handed to the kernel.
pub const DEFAULT_FRAMES_PER_KICK: u32 = 64;
/// Smallest frame a TX slot must hold (the Ethernet minimum, without the FCS).
pub const MIN_TX_SLOT_CAPACITY: u32 = 64;
/// Where a TPACKET_V2 TX slot's frame starts: `TPACKET2_HDRLEN - sizeof(struct sockaddr_ll)`,
/// as the kernel's `tpacket_parse_header()` reads it (32).
pub const V2_TX_DATA_OFFSET: u32 = (libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>()) as u32;
/// Where a TPACKET_V3 TX slot's frame starts: `TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)` (48).
pub const V3_TX_DATA_OFFSET: u32 = (libc::TPACKET3_HDRLEN - size_of::<libc::sockaddr_ll>()) as u32;
/// The link-layer header the kernel allows on top of the MTU (`dev->hard_header_len` of
/// an Ethernet device): destination, source, EtherType.
pub const LINK_HEADER_LEN: usize = 14;
/// The extra bytes the kernel allows for a frame whose EtherType is 802.1Q (`VLAN_HLEN`).
pub const VLAN_TAG_LEN: usize = 4;

/// Status bits of a slot the kernel still owns.
const KERNEL_OWNED: u32 = libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING;
/// Flush rounds in a row without progress after which [`Sender::flush`] gives up.
const FLUSH_STALL_LIMIT: u32 = 1000;

const fn align(x: u32) -> u32 {
    (x + TPACKET_ALIGNMENT - 1) & !(TPACKET_ALIGNMENT - 1)
}

/// How frames are sent: through a PACKET_MMAP TX ring (`ring:`) or one send() each (`int:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxMethod {
    /// PACKET_TX_RING: frames are written into shared slots and sent in batches by a kick.
    #[default]
    Ring,
    /// One `send()` system call per frame.
    Send,
}

/// Sender options as a user gives them; `None` means "use the default".
#[derive(Debug, Clone, Default)]
pub struct TxOptions {
    pub method: TxMethod,
    /// TPACKET version of the TX ring: 2 (TPACKET_V2, default) or 3 (TPACKET_V3, Linux 4.11+).
    pub version: Option<u32>,
    /// `tp_frame_size`: bytes per slot, a multiple of 16, header included. Default 2048.
    pub frame_size: Option<u32>,
    /// `tp_frame_nr`: slots in the ring. Default 1024.
    pub frame_count: Option<u32>,
    /// PACKET_QDISC_BYPASS: hand frames straight to the driver, skipping the qdisc layer
    /// (and its queueing, shaping and packet taps such as other captures on the host).
    pub qdisc_bypass: bool,
    /// PACKET_LOSS: the kernel skips a slot it cannot send (marks it available and goes
    /// on) instead of marking it TP_STATUS_WRONG_FORMAT and stopping. Skipped frames
    /// cannot be told apart from sent ones, so they are counted as sent.
    pub loss: bool,
    /// Frames queued before they are handed to the kernel without waiting. Default 64.
    pub frames_per_kick: Option<u32>,
    /// Open the socket inside this network namespace: a name under /run/netns or a path.
    pub netns: Option<String>,
}

/// The layout of a TX ring, as passed to PACKET_TX_RING, and how it is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxRingConfig {
    /// 2 (TPACKET_V2) or 3 (TPACKET_V3).
    pub version: u32,
    /// `tp_block_size`: the smallest page multiple that holds a slot.
    pub block_size: u32,
    /// `tp_block_nr`.
    pub block_count: u32,
    /// `tp_frame_size`.
    pub frame_size: u32,
    /// `tp_frame_nr` (= block count × slots per block).
    pub frame_count: u32,
    /// PACKET_LOSS.
    pub loss: bool,
    pub frames_per_kick: u32,
}

impl TxRingConfig {
    /// Where a slot's frame starts: [`V2_TX_DATA_OFFSET`] or [`V3_TX_DATA_OFFSET`].
    pub fn data_offset(&self) -> u32 {
        data_offset(self.version)
    }

    /// The longest frame a slot holds (the kernel's `size_max` before the MTU limit).
    pub fn slot_capacity(&self) -> u32 {
        self.frame_size - self.data_offset()
    }

    /// Bytes mapped for the ring.
    pub fn ring_bytes(&self) -> usize {
        self.block_size as usize * self.block_count as usize
    }
}

/// Validated sender options: everything needed to open a [`Sender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxConfig {
    /// `None` for send() senders.
    pub ring: Option<TxRingConfig>,
    pub qdisc_bypass: bool,
    pub netns: Option<String>,
}

fn data_offset(version: u32) -> u32 {
    if version == 3 {
        V3_TX_DATA_OFFSET
    } else {
        V2_TX_DATA_OFFSET
    }
}

fn range(msg: String) -> Error {
    Error::Range(msg)
}

impl TxOptions {
    /// Checks every option and fills in the defaults. Makes no system call except
    /// `sysconf(_SC_PAGESIZE)`.
    pub fn validate(&self) -> Result<TxConfig> {
        self.validate_with_page_size(page_size() as u32)
    }

    pub fn validate_with_page_size(&self, page: u32) -> Result<TxConfig> {
        if let Some(ns) = &self.netns {
            if ns.is_empty() || ns.contains('\0') {
                return Err(Error::Type(format!("netns {ns:?} must be a namespace name or a path")));
            }
        }
        let ring = match self.method {
            TxMethod::Send => {
                let ring_only = [
                    ("version", self.version.is_some()),
                    ("frameSize", self.frame_size.is_some()),
                    ("frameCount", self.frame_count.is_some()),
                    ("loss", self.loss),
                    ("framesPerKick", self.frames_per_kick.is_some()),
                ];
                for (name, set) in ring_only {
                    if set {
                        return Err(Error::Type(format!(
                            "option {name} applies to ring: senders only (PACKET_TX_RING), not int:"
                        )));
                    }
                }
                None
            }
            TxMethod::Ring => Some(self.ring_config(page)?),
        };
        Ok(TxConfig { ring, qdisc_bypass: self.qdisc_bypass, netns: self.netns.clone() })
    }

    fn ring_config(&self, page: u32) -> Result<TxRingConfig> {
        let version = self.version.unwrap_or(2);
        if version != 2 && version != 3 {
            return Err(range(format!("version {version} must be 2 (TPACKET_V2) or 3 (TPACKET_V3)")));
        }
        let header = data_offset(version);
        let mut frame_size = self.frame_size.unwrap_or(DEFAULT_TX_FRAME_SIZE);
        if frame_size % TPACKET_ALIGNMENT != 0 {
            return Err(range(format!("frameSize {frame_size} must be a multiple of {TPACKET_ALIGNMENT}")));
        }
        let min = align(header + MIN_TX_SLOT_CAPACITY);
        if frame_size < min {
            return Err(range(format!(
                "frameSize {frame_size} must be at least {min} ({header} bytes of TPACKET_V{version} slot \
                 header + a {MIN_TX_SLOT_CAPACITY}-byte frame)"
            )));
        }
        if frame_size > MAX_TX_FRAME_SIZE {
            return Err(range(format!("frameSize {frame_size} must be at most {MAX_TX_FRAME_SIZE}")));
        }
        let frame_count = self.frame_count.unwrap_or(DEFAULT_TX_FRAME_COUNT);
        if frame_count == 0 {
            return Err(range(format!("frameCount {frame_count} must be at least 1")));
        }
        // The block holds whole slots: the smallest page multiple that holds one.
        let block_size = frame_size.div_ceil(page) * page;
        let mut per_block = block_size / frame_size;
        if frame_count % per_block != 0 {
            if self.frame_size.is_some() {
                return Err(range(format!(
                    "frameCount {frame_count} must be a multiple of the {per_block} frames per block \
                     (frameSize {frame_size} in blocks of {block_size} bytes, the smallest page multiple)"
                )));
            }
            // A default slot size may be widened so that a block holds a number of slots
            // that divides the requested count (d = 1 always does: one slot per block).
            let fits = |d: u32| frame_count % d == 0 && block_size / ((block_size / d) & !15) == d;
            if let Some(d) = (1..=per_block).rev().find(|&d| fits(d)) {
                per_block = d;
                frame_size = frame_size.max((block_size / d) & !15);
            }
        }
        let block_count = frame_count / per_block;
        let total = block_size as u64 * block_count as u64;
        if total > MAX_RING_BYTES {
            return Err(range(format!(
                "ring of {frame_count} frames of {frame_size} bytes is {total} bytes; the most is {MAX_RING_BYTES}"
            )));
        }
        let frames_per_kick = self.frames_per_kick.unwrap_or(DEFAULT_FRAMES_PER_KICK.min(frame_count));
        if !(1..=frame_count).contains(&frames_per_kick) {
            return Err(range(format!("framesPerKick {frames_per_kick} must be from 1 to {frame_count} (frameCount)")));
        }
        Ok(TxRingConfig { version, block_size, block_count, frame_size, frame_count, loss: self.loss, frames_per_kick })
    }
}

/// The longest frame the kernel sends on a link with `mtu`: MTU + link header, plus a
/// VLAN tag when the frame is tagged, and never more than the slot holds.
fn frame_limit(slot_capacity: Option<usize>, mtu: u32, tagged: bool) -> usize {
    let link = mtu as usize + LINK_HEADER_LEN + if tagged { VLAN_TAG_LEN } else { 0 };
    slot_capacity.map_or(link, |cap| cap.min(link))
}

/// Whether the kernel grants a frame the 4 extra bytes of a VLAN tag: its EtherType is
/// 802.1Q (`packet_extra_vlan_len_allowed()` in net/packet/af_packet.c).
fn is_tagged(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&(libc::ETH_P_8021Q as u16).to_be_bytes()[..])
}

/// The checks of [`Sender::check_frame`], without a socket.
fn check_frame_len(frame: &[u8], slot_capacity: Option<usize>, mtu: u32, iface: &str) -> Result<()> {
    let len = frame.len();
    if len == 0 {
        return Err(range(format!("frame is empty: it needs at least the {LINK_HEADER_LEN}-byte link header")));
    }
    if len < LINK_HEADER_LEN {
        return Err(range(format!(
            "frame of {len} bytes is shorter than the {LINK_HEADER_LEN}-byte link header \
             (destination, source, EtherType)"
        )));
    }
    let tagged = is_tagged(frame);
    let limit = frame_limit(slot_capacity, mtu, tagged);
    if len > limit {
        let vlan = if tagged { format!(" + {VLAN_TAG_LEN}-byte VLAN tag") } else { String::new() };
        let link = mtu as usize + LINK_HEADER_LEN + if tagged { VLAN_TAG_LEN } else { 0 };
        let slot = match slot_capacity {
            Some(cap) => format!("a TX slot holds {cap}; "),
            None => String::new(),
        };
        return Err(range(format!(
            "frame of {len} bytes is too long for \"{iface}\": the most is {limit} \
             ({slot}MTU {mtu} + {LINK_HEADER_LEN}-byte link header{vlan} is {link})"
        )));
    }
    Ok(())
}

/// Where the fields of one TX slot are, for TPACKET_V2 (`tpacket2_hdr`) or V3 (`tpacket3_hdr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlotLayout {
    v3: bool,
    block_size: usize,
    frame_size: usize,
    frame_count: usize,
}

impl SlotLayout {
    fn new(config: &TxRingConfig) -> Self {
        SlotLayout {
            v3: config.version == 3,
            block_size: config.block_size as usize,
            frame_size: config.frame_size as usize,
            frame_count: config.frame_count as usize,
        }
    }

    /// Offset of slot `index` in the mapping: the kernel's `packet_lookup_frame()`.
    fn slot(&self, index: usize) -> usize {
        frame_offset(index, self.block_size, self.frame_size)
    }

    fn status(&self) -> usize {
        if self.v3 {
            offset_of!(libc::tpacket3_hdr, tp_status)
        } else {
            offset_of!(libc::tpacket2_hdr, tp_status)
        }
    }

    fn len(&self) -> usize {
        if self.v3 {
            offset_of!(libc::tpacket3_hdr, tp_len)
        } else {
            offset_of!(libc::tpacket2_hdr, tp_len)
        }
    }

    /// `tp_snaplen` (V2) or `tp_next_offset` (V3, which must be 0 for TX): the second word written.
    fn second(&self) -> usize {
        if self.v3 {
            offset_of!(libc::tpacket3_hdr, tp_next_offset)
        } else {
            offset_of!(libc::tpacket2_hdr, tp_snaplen)
        }
    }

    fn data(&self) -> usize {
        data_offset(if self.v3 { 3 } else { 2 }) as usize
    }

    fn capacity(&self) -> usize {
        self.frame_size - self.data()
    }
}

/// The user side of a TX ring: which slot to fill next and which one the kernel
/// finishes next.
#[derive(Debug)]
struct TxRing {
    map: Mapping,
    layout: SlotLayout,
    /// Next slot to fill.
    head: usize,
    /// Oldest slot handed to the kernel and not yet reclaimed.
    tail: usize,
    /// Slots from `tail` on that are queued (SEND_REQUEST) or being sent.
    in_flight: usize,
    /// Frames queued since the last kick.
    since_kick: usize,
    frames_per_kick: usize,
}

impl TxRing {
    /// The status word of slot `index` (< frame_count).
    fn status(&self, index: usize) -> &AtomicU32 {
        assert!(index < self.layout.frame_count);
        let offset = self.layout.slot(index) + self.layout.status();
        debug_assert!(offset % 4 == 0 && offset + 4 <= self.map.len());
        // SAFETY: for an index below frame_count, `slot()` is a 16-byte aligned offset
        // below block_count × block_size, the mapped length, and tp_status is an aligned
        // u32 in the slot header; the kernel and this code touch status words only atomically.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(offset).cast::<u32>()) }
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
    fn push(&mut self, frame: &[u8]) -> bool {
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
    fn reclaim(&mut self) -> (usize, u64, u64, bool) {
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

/// Running totals since the sender opened. `queued == sent + errors + in_flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Frames the kernel has finished with (sent to the driver, or taken by a send()).
    pub sent: u64,
    /// Frames queued in the ring that the kernel refused (TP_STATUS_WRONG_FORMAT).
    pub errors: u64,
    /// Frames accepted by [`Sender::try_queue`].
    pub queued: u64,
}

/// A handle on a sender's socket for another thread: hands queued TX ring frames to the
/// kernel and waits until they are sent. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Kicker {
    socket: Arc<PacketSocket>,
    ring: bool,
}

/// The empty `sendto(fd, NULL, 0, flags, NULL, 0)` that makes the kernel send a TX
/// ring's requested slots (`tpacket_snd()`).
fn kick_ring(socket: &PacketSocket, flags: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: no buffer and no address are passed: the kernel reads the frames from
        // the ring it mapped itself.
        match syscall!(sendto(socket.as_raw_fd(), ptr::null(), 0, flags, ptr::null(), 0)) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Errors of a kick that concern one slot: the kernel marked it TP_STATUS_WRONG_FORMAT,
/// and [`Sender::reclaim`] counts it and lets the kernel go on.
fn is_slot_error(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMSGSIZE | libc::EINVAL | libc::EFAULT))
}

/// Errors of a kick after which the frames stay queued and the next kick resends them:
/// the socket's send buffer was full (EAGAIN) or the qdisc or device dropped a frame
/// (ENOBUFS: `tpacket_snd()` then sets that slot back to TP_STATUS_SEND_REQUEST without
/// moving on, so the same frame goes again). For send(), the frame was not taken.
fn is_transient(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOBUFS))
}

fn send_error(socket: &PacketSocket, op: &'static str, e: io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ENETDOWN) {
        return socket.error_from(e);
    }
    Error::os(socket.iface(), op, e)
}

impl Kicker {
    /// `sendto(fd, NULL, 0, 0, NULL, 0)` on the blocking TX ring socket: the kernel sends
    /// every requested slot and waits until all the frames it has taken are completed
    /// (`need_wait` in `tpacket_snd()`). May block for as long as the link needs to drain;
    /// call it on a worker thread. EINTR is retried. For a send() sender, whose frames are
    /// the kernel's once send() returns, it waits until the socket is writable again
    /// (POLLOUT: its send buffer is no more than half full).
    ///
    /// A slot the kernel refuses (TP_STATUS_WRONG_FORMAT) stops it there; that is not an
    /// error of this call: [`Sender::reclaim`] counts it in [`TxStats::errors`] and lets
    /// the kernel go on, so callers that need everything sent loop while
    /// [`Sender::in_flight`] is not 0 after a reclaim ([`Sender::flush`] does).
    /// ENOBUFS (the qdisc or device dropped a frame; the kernel keeps it queued for the
    /// next kick) is not an error either: the caller waits and kicks again.
    pub fn flush_blocking(&self) -> Result<()> {
        if !self.ring {
            return self.socket.poll(libc::POLLOUT, -1).map(drop).map_err(self.socket.err("poll"));
        }
        match kick_ring(&self.socket, 0) {
            Ok(()) => Ok(()),
            Err(e) if is_slot_error(&e) || is_transient(&e) => Ok(()),
            Err(e) => Err(send_error(&self.socket, "sendto (flush TX ring)", e)),
        }
    }

    /// Hands requested ring slots to the kernel without waiting (`sendto` with
    /// MSG_DONTWAIT), then waits up to `timeout_ms` in poll() for POLLOUT: the send buffer
    /// has room again or the kernel's next slot is free. Unlike [`Kicker::flush_blocking`]
    /// it holds the kernel's ring lock (`pg_vec_lock`) only while frames are handed over,
    /// so another thread's kick is never held up behind a drain. Returns when there may be
    /// room; the caller looks (`try_queue`) and calls again if not.
    pub fn wait_room(&self, timeout_ms: i32) -> Result<()> {
        if self.ring {
            match kick_ring(&self.socket, libc::MSG_DONTWAIT) {
                Ok(()) => {}
                Err(e) if is_transient(&e) || is_slot_error(&e) => {}
                Err(e) => return Err(send_error(&self.socket, "sendto (kick TX ring)", e)),
            }
        }
        self.socket.poll(libc::POLLOUT, timeout_ms).map(drop).map_err(self.socket.err("poll"))
    }

    pub fn socket(&self) -> &Arc<PacketSocket> {
        &self.socket
    }
}

/// Sends link-layer frames on one interface through a PACKET_MMAP TX ring or send().
///
/// Dropping a sender with frames still in its ring first sends them ([`Sender::flush`]):
/// no queued frame is lost silently, but the drop may block while the link drains.
#[derive(Debug)]
pub struct Sender {
    socket: Arc<PacketSocket>,
    ring: Option<TxRing>,
    mtu: u32,
    totals: TxStats,
    /// An error of an automatic kick after a frame was already accepted: returned by the
    /// next call instead of being lost.
    deferred: Option<Error>,
}

impl Sender {
    /// Validates `options`, then: creates the socket, sets PACKET_QDISC_BYPASS if asked,
    /// and for a ring PACKET_VERSION, PACKET_LOSS if asked, PACKET_TX_RING, the mapping,
    /// and makes the socket blocking (kicks pass MSG_DONTWAIT themselves); finally binds
    /// to the interface with protocol 0, so the socket sends but never receives, and reads
    /// the MTU that [`Sender::check_frame`] enforces.
    pub fn open(iface: &str, options: &TxOptions) -> Result<Sender> {
        let config = options.validate()?;
        let socket = PacketSocket::open(iface, config.netns.as_deref())?;
        let on: libc::c_int = 1;
        if config.qdisc_bypass {
            socket.set_option(libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, &on, "PACKET_QDISC_BYPASS")?;
        }
        let ring = match config.ring {
            Some(rc) => Some(Self::ring(&socket, &rc)?),
            None => None,
        };
        socket.bind(0)?;
        let mtu = socket.mtu()?;
        Ok(Sender {
            socket: Arc::new(socket),
            ring,
            mtu,
            totals: TxStats::default(),
            deferred: None,
        })
    }

    fn ring(socket: &PacketSocket, rc: &TxRingConfig) -> Result<TxRing> {
        let on: libc::c_int = 1;
        let (version, op) = match rc.version {
            3 => (libc::tpacket_versions::TPACKET_V3, "PACKET_TX_RING (TPACKET_V3 TX rings need Linux 4.11 or later)"),
            _ => (libc::tpacket_versions::TPACKET_V2, "PACKET_TX_RING"),
        };
        socket.set_version(version)?;
        if rc.loss {
            socket.set_option(libc::SOL_PACKET, libc::PACKET_LOSS, &on, "PACKET_LOSS")?;
        }
        if rc.version == 3 {
            // A V3 TX ring is a ring of fixed slots like V2; the block timeout, private
            // area and feature word are RX-only and must be 0.
            let req = libc::tpacket_req3 {
                tp_block_size: rc.block_size,
                tp_block_nr: rc.block_count,
                tp_frame_size: rc.frame_size,
                tp_frame_nr: rc.frame_count,
                tp_retire_blk_tov: 0,
                tp_sizeof_priv: 0,
                tp_feature_req_word: 0,
            };
            socket.set_option(libc::SOL_PACKET, libc::PACKET_TX_RING, &req, op)?;
        } else {
            let req = libc::tpacket_req {
                tp_block_size: rc.block_size,
                tp_block_nr: rc.block_count,
                tp_frame_size: rc.frame_size,
                tp_frame_nr: rc.frame_count,
            };
            socket.set_option(libc::SOL_PACKET, libc::PACKET_TX_RING, &req, op)?;
        }
        let map = Mapping::new(socket.as_fd(), rc.ring_bytes()).map_err(socket.err("mmap"))?;
        socket.set_nonblocking(false)?;
        Ok(TxRing {
            map,
            layout: SlotLayout::new(rc),
            head: 0,
            tail: 0,
            in_flight: 0,
            since_kick: 0,
            frames_per_kick: rc.frames_per_kick as usize,
        })
    }

    /// The interface's MTU, as read when the sender opened.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// Bytes a TX ring slot holds; `None` for send() senders.
    pub fn slot_capacity(&self) -> Option<usize> {
        self.ring.as_ref().map(|r| r.layout.capacity())
    }

    /// The longest untagged frame accepted: the smaller of the slot capacity and MTU +
    /// 14-byte link header. A frame whose EtherType is 802.1Q may be 4 bytes longer
    /// (the kernel allows `mtu + hard_header_len + VLAN_HLEN` for tagged frames).
    pub fn max_frame_len(&self) -> usize {
        frame_limit(self.slot_capacity(), self.mtu, false)
    }

    /// Checks a frame against what the kernel would send: not empty, at least a link
    /// header, and not longer than the slot or the MTU allow.
    pub fn check_frame(&self, frame: &[u8]) -> Result<()> {
        check_frame_len(frame, self.slot_capacity(), self.mtu, self.socket.iface())
    }

    /// Queues one frame without blocking (copied into the next TX ring slot, or sent with
    /// one `send()`). Returns `Ok(false)`, having queued nothing, when there is no room:
    /// the ring is full or the socket's send buffer is; wait
    /// ([`Kicker::flush_blocking`] on a worker thread) and try again.
    ///
    /// Ring frames are handed to the kernel every `frames_per_kick` frames without
    /// waiting, and whenever the ring is found full; call [`Sender::kick`] to hand over
    /// the rest. An error of such an automatic kick is returned by the next call.
    pub fn try_queue(&mut self, frame: &[u8]) -> Result<bool> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.check_frame(frame)?;
        if self.ring.is_none() {
            return self.send_one(frame);
        }
        if !self.ring_mut().push(frame) {
            self.reclaim();
            if !self.ring_mut().push(frame) {
                // Make sure the kernel has every queued frame, so that "full" means
                // "waiting for the kernel", then look again.
                self.kick_now()?;
                self.reclaim();
                if !self.ring_mut().push(frame) {
                    return Ok(false);
                }
            }
        }
        let ring = self.ring_mut();
        let kick = ring.since_kick >= ring.frames_per_kick;
        self.totals.queued += 1;
        if kick {
            if let Err(e) = self.kick_now() {
                self.deferred = Some(e);
            }
        }
        Ok(true)
    }

    fn ring_mut(&mut self) -> &mut TxRing {
        self.ring.as_mut().expect("a ring sender")
    }

    fn send_one(&mut self, frame: &[u8]) -> Result<bool> {
        match self.socket.send(frame) {
            Ok(_) => {
                self.totals.queued += 1;
                self.totals.sent += 1;
                Ok(true)
            }
            Err(e) if is_transient(&e) => Ok(false),
            Err(e) => Err(send_error(&self.socket, "send", e)),
        }
    }

    /// Hands the queued frames to the kernel without blocking: `sendto(fd, NULL, 0,
    /// MSG_DONTWAIT, NULL, 0)`. The kernel sends what its socket buffer allows and the
    /// rest stays queued for the next kick. A no-op for send() senders or when nothing is
    /// in flight.
    pub fn kick(&mut self) -> Result<()> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.kick_now()
    }

    fn kick_now(&mut self) -> Result<()> {
        let Some(ring) = self.ring.as_mut() else { return Ok(()) };
        if ring.in_flight == 0 {
            return Ok(());
        }
        ring.since_kick = 0;
        match kick_ring(&self.socket, libc::MSG_DONTWAIT) {
            Ok(()) => Ok(()),
            Err(e) if is_transient(&e) || is_slot_error(&e) => Ok(()),
            Err(e) => Err(send_error(&self.socket, "sendto (kick TX ring)", e)),
        }
    }

    /// Takes back the slots the kernel has finished, oldest first: each is counted as
    /// sent, or as an error if the kernel marked it TP_STATUS_WRONG_FORMAT (then the
    /// frames behind it are moved up so the kernel can go on, and kicked). Returns how
    /// many slots were taken back. Always 0 for send() senders.
    pub fn reclaim(&mut self) -> usize {
        let Some(ring) = self.ring.as_mut() else { return 0 };
        let (reclaimed, sent, malformed, rekick) = ring.reclaim();
        self.totals.sent += sent;
        self.totals.errors += malformed;
        if rekick {
            if let Err(e) = self.kick_now() {
                self.deferred.get_or_insert(e);
            }
        }
        reclaimed
    }

    /// Ring slots queued and not yet seen completed, as of the last [`Sender::reclaim`]
    /// (which [`Sender::try_queue`] and [`Sender::stats`] also run); 0 for send() senders.
    pub fn in_flight(&self) -> usize {
        self.ring.as_ref().map_or(0, |r| r.in_flight)
    }

    /// Sends everything in flight and waits until the kernel has finished with it:
    /// blocking kicks and reclaims until nothing is in flight. Blocks; not for a thread
    /// that must stay responsive (use [`Kicker::flush_blocking`] on a worker there).
    pub fn flush(&mut self) -> Result<()> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let kicker = self.kicker();
        let mut stalled = 0;
        loop {
            self.reclaim();
            if self.in_flight() == 0 {
                return self.deferred.take().map_or(Ok(()), Err);
            }
            let result = kicker.flush_blocking();
            let progress = self.reclaim() > 0;
            result?;
            if progress {
                stalled = 0;
            } else {
                stalled += 1;
                if stalled >= FLUSH_STALL_LIMIT {
                    return Err(Error::os(
                        self.socket.iface(),
                        "flush TX ring (the kernel leaves frames unsent)",
                        io::Error::from_raw_os_error(libc::EIO),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }

    /// A handle that another thread can kick and flush this sender's ring with.
    pub fn kicker(&self) -> Kicker {
        Kicker { socket: Arc::clone(&self.socket), ring: self.ring.is_some() }
    }

    /// Running totals, after a [`Sender::reclaim`].
    pub fn stats(&mut self) -> TxStats {
        self.reclaim();
        self.totals
    }

    /// The socket, shared so that a waiter on another thread can use it.
    pub fn socket(&self) -> &Arc<PacketSocket> {
        &self.socket
    }

    /// Whether frames go through a PACKET_TX_RING (else one send() each).
    pub fn is_ring(&self) -> bool {
        self.ring.is_some()
    }
}

impl Drop for Sender {
    /// No silent loss: frames still in flight are sent ([`Sender::flush`], which blocks
    /// until the kernel has finished with them) before the ring is unmapped and the socket
    /// closed. A failed flush cannot be reported from here; call [`Sender::flush`] first to
    /// see its error.
    fn drop(&mut self) {
        if self.in_flight() > 0 {
            let _ = self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u32 = 4096;

    fn opts(f: impl FnOnce(&mut TxOptions)) -> TxOptions {
        let mut o = TxOptions::default();
        f(&mut o);
        o
    }

    fn ring(o: TxOptions) -> TxRingConfig {
        o.validate_with_page_size(PAGE).unwrap().ring.unwrap()
    }

    #[test]
    fn defaults() {
        let c = TxOptions::default().validate_with_page_size(PAGE).unwrap();
        assert_eq!(
            c.ring,
            Some(TxRingConfig {
                version: 2,
                block_size: 4096,
                block_count: 512,
                frame_size: DEFAULT_TX_FRAME_SIZE,
                frame_count: DEFAULT_TX_FRAME_COUNT,
                loss: false,
                frames_per_kick: DEFAULT_FRAMES_PER_KICK,
            })
        );
        assert!(!c.qdisc_bypass);
        let send = opts(|o| {
            o.method = TxMethod::Send;
            o.qdisc_bypass = true;
        })
        .validate_with_page_size(PAGE)
        .unwrap();
        assert_eq!(send, TxConfig { ring: None, qdisc_bypass: true, netns: None });
    }

    #[test]
    fn slot_layout_matches_the_kernel() {
        // tpacket_parse_header(): data at tp_hdrlen - sizeof(struct sockaddr_ll).
        assert_eq!(size_of::<libc::sockaddr_ll>(), 20);
        assert_eq!(V2_TX_DATA_OFFSET, 32);
        assert_eq!(V3_TX_DATA_OFFSET, 48);
        assert_eq!(size_of::<libc::tpacket2_hdr>(), 32);
        assert_eq!(size_of::<libc::tpacket3_hdr>(), 48);
        let v2 = SlotLayout::new(&ring(TxOptions::default()));
        assert_eq!((v2.status(), v2.len(), v2.second(), v2.data(), v2.capacity()), (0, 4, 8, 32, 2016));
        let v3 = SlotLayout::new(&ring(opts(|o| o.version = Some(3))));
        assert_eq!((v3.status(), v3.len(), v3.second(), v3.data(), v3.capacity()), (20, 16, 0, 48, 2000));
    }

    #[test]
    fn slot_offsets_follow_blocks() {
        // Two 2048-byte slots per 4096-byte block.
        let l = SlotLayout::new(&ring(opts(|o| o.frame_count = Some(8))));
        let offsets: Vec<usize> = (0..8).map(|i| l.slot(i)).collect();
        assert_eq!(offsets, [0, 2048, 4096, 6144, 8192, 10240, 12288, 14336]);
        // 1504-byte slots: two per block, 1088 bytes left at the end of each block.
        let l = SlotLayout::new(&ring(opts(|o| {
            o.frame_size = Some(1504);
            o.frame_count = Some(6);
        })));
        let offsets: Vec<usize> = (0..6).map(|i| l.slot(i)).collect();
        assert_eq!(offsets, [0, 1504, 4096, 5600, 8192, 9696]);
        // 9216-byte (jumbo) slots: one per 12288-byte block.
        let c = ring(opts(|o| {
            o.frame_size = Some(9216);
            o.frame_count = Some(4);
        }));
        assert_eq!((c.block_size, c.block_count, c.slot_capacity()), (12288, 4, 9184));
        let l = SlotLayout::new(&c);
        assert_eq!((l.slot(1), l.slot(3)), (12288, 36864));
    }

    #[test]
    fn default_frame_size_widens_to_fit_the_count() {
        for (count, frame_size, block_count) in
            [(1, 4096, 1), (3, 4096, 3), (7, 4096, 7), (2, 2048, 1), (256, 2048, 128)]
        {
            let c = ring(opts(|o| o.frame_count = Some(count)));
            assert_eq!((c.frame_size, c.block_count, c.frame_count), (frame_size, block_count, count), "{count}");
            assert!(c.frames_per_kick <= count);
        }
        // With 64 KiB pages a block holds 32 default slots; 100 slots need 25 per block.
        let c = opts(|o| o.frame_count = Some(100)).validate_with_page_size(65536).unwrap().ring.unwrap();
        assert_eq!((c.block_size, c.frame_size, c.block_count), (65536, 2608, 4));
    }

    #[test]
    fn bad_options_name_value_and_rule() {
        let cases: Vec<(TxOptions, &str)> = vec![
            (opts(|o| o.version = Some(1)), "version 1 must be 2 (TPACKET_V2) or 3 (TPACKET_V3)"),
            (opts(|o| o.frame_size = Some(100)), "frameSize 100 must be a multiple of 16"),
            (
                opts(|o| o.frame_size = Some(80)),
                "frameSize 80 must be at least 96 (32 bytes of TPACKET_V2 slot header + a 64-byte frame)",
            ),
            (
                opts(|o| {
                    o.version = Some(3);
                    o.frame_size = Some(96);
                }),
                "frameSize 96 must be at least 112 (48 bytes of TPACKET_V3 slot header + a 64-byte frame)",
            ),
            (opts(|o| o.frame_size = Some(1 << 18)), "frameSize 262144 must be at most 131072"),
            (opts(|o| o.frame_count = Some(0)), "frameCount 0 must be at least 1"),
            (
                opts(|o| {
                    o.frame_size = Some(2048);
                    o.frame_count = Some(3);
                }),
                "frameCount 3 must be a multiple of the 2 frames per block \
                 (frameSize 2048 in blocks of 4096 bytes, the smallest page multiple)",
            ),
            (opts(|o| o.frames_per_kick = Some(0)), "framesPerKick 0 must be from 1 to 1024 (frameCount)"),
            (
                opts(|o| {
                    o.frame_count = Some(16);
                    o.frames_per_kick = Some(17);
                }),
                "framesPerKick 17 must be from 1 to 16 (frameCount)",
            ),
            (
                opts(|o| {
                    o.frame_size = Some(1 << 17);
                    o.frame_count = Some(1 << 16);
                }),
                "ring of 65536 frames of 131072 bytes is 8589934592 bytes; the most is 4294967296",
            ),
        ];
        for (o, want) in cases {
            let err = o.validate_with_page_size(PAGE).expect_err(want);
            assert!(matches!(err, Error::Range(_)), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
            assert_eq!(err.code(), "ERR_OUT_OF_RANGE");
        }
    }

    #[test]
    fn ring_options_on_a_send_sender_are_type_errors() {
        let send = |f: fn(&mut TxOptions)| {
            opts(|o| {
                o.method = TxMethod::Send;
                f(o);
            })
        };
        let cases: Vec<(TxOptions, &str)> = vec![
            (send(|o| o.version = Some(2)), "option version applies to ring: senders only (PACKET_TX_RING), not int:"),
            (
                send(|o| o.frame_size = Some(2048)),
                "option frameSize applies to ring: senders only (PACKET_TX_RING), not int:",
            ),
            (
                send(|o| o.frame_count = Some(8)),
                "option frameCount applies to ring: senders only (PACKET_TX_RING), not int:",
            ),
            (send(|o| o.loss = true), "option loss applies to ring: senders only (PACKET_TX_RING), not int:"),
            (
                send(|o| o.frames_per_kick = Some(1)),
                "option framesPerKick applies to ring: senders only (PACKET_TX_RING), not int:",
            ),
            (opts(|o| o.netns = Some(String::new())), "netns \"\" must be a namespace name or a path"),
        ];
        for (o, want) in cases {
            let err = o.validate_with_page_size(PAGE).expect_err(want);
            assert!(matches!(err, Error::Type(_)), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
        }
    }

    fn ether(len: usize, ethertype: u16) -> Vec<u8> {
        let mut f = vec![0u8; len];
        if len >= 14 {
            f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        }
        f
    }

    #[test]
    fn frame_limit_math() {
        // min(slot capacity, MTU + 14), +4 for an 802.1Q frame.
        assert_eq!(frame_limit(Some(2016), 1500, false), 1514);
        assert_eq!(frame_limit(Some(2016), 1500, true), 1518);
        assert_eq!(frame_limit(Some(2016), 9000, false), 2016);
        assert_eq!(frame_limit(Some(1504 - 32), 1500, true), 1472);
        assert_eq!(frame_limit(None, 1500, false), 1514);
        assert_eq!(frame_limit(None, 65536, true), 65554);
        assert!(is_tagged(&ether(64, 0x8100)));
        assert!(!is_tagged(&ether(64, 0x88b5)));
        assert!(!is_tagged(&ether(13, 0)));
    }

    #[test]
    fn frame_checks_name_length_and_both_limits() {
        for len in [14, 60, 1514] {
            check_frame_len(&ether(len, 0x88b5), Some(2016), 1500, "nr1").unwrap();
        }
        check_frame_len(&ether(1518, 0x8100), Some(2016), 1500, "nr1").unwrap();
        check_frame_len(&ether(1518, 0x8100), None, 1500, "nr1").unwrap();
        let cases: Vec<(Vec<u8>, Option<usize>, u32, &str)> = vec![
            (vec![], Some(2016), 1500, "frame is empty: it needs at least the 14-byte link header"),
            (
                vec![0; 13],
                Some(2016),
                1500,
                "frame of 13 bytes is shorter than the 14-byte link header (destination, source, EtherType)",
            ),
            (
                ether(1515, 0x88b5),
                Some(2016),
                1500,
                "frame of 1515 bytes is too long for \"nr1\": the most is 1514 \
                 (a TX slot holds 2016; MTU 1500 + 14-byte link header is 1514)",
            ),
            (
                ether(1519, 0x8100),
                Some(2016),
                1500,
                "frame of 1519 bytes is too long for \"nr1\": the most is 1518 \
                 (a TX slot holds 2016; MTU 1500 + 14-byte link header + 4-byte VLAN tag is 1518)",
            ),
            (
                ether(2017, 0x88b5),
                Some(2016),
                9000,
                "frame of 2017 bytes is too long for \"nr1\": the most is 2016 \
                 (a TX slot holds 2016; MTU 9000 + 14-byte link header is 9014)",
            ),
            (
                ether(1515, 0x88b5),
                None,
                1500,
                "frame of 1515 bytes is too long for \"nr1\": the most is 1514 (MTU 1500 + 14-byte link header is 1514)",
            ),
        ];
        for (frame, cap, mtu, want) in cases {
            let err = check_frame_len(&frame, cap, mtu, "nr1").expect_err(want);
            assert!(matches!(err, Error::Range(_)), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
        }
    }
}
