//! Readers that copy ready packets into a [`Batch`]: a TPACKET_V3 ring (one block per
//! read), a TPACKET_V2 ring (the ready run of frames), or recv() on a plain socket. A ring
//! can also lend the same packets in place: their records point into the ring, whose
//! slots stay the user's until the next read.

use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::batch::{dissect_records, push_lent, put_tag_back, Batch, Framing, META_STRIDE};
use crate::error::{text, Error, MethodName, Result};
use crate::frame::{parse_block_header, parse_v2_frame, BlockPackets, LinkAddress, PacketInfo};
use crate::abi::{frame_offset, V2_STATUS, V3_BLOCK_STATUS};
use crate::mmap::Mapping;
use crate::socket::PacketSocket;
use crate::sys::syscall;

/// Most TPACKET_V2 frames copied per read.
pub const MAX_V2_BATCH: usize = 4096;
/// Most packets received with recv() per read.
pub const MAX_RECV_BATCH: usize = 256;


/// Bytes `offset..offset + len` of the mapping.
///
/// # Safety
/// The range must be inside the mapping and owned by user space (its status word has
/// TP_STATUS_USER, read with Acquire) for as long as the slice lives: the kernel does not
/// write a slot it has handed over until user space gives it back.
unsafe fn user_slice(map: &Mapping, offset: usize, len: usize) -> &[u8] {
    debug_assert!(offset + len <= map.len());
    // SAFETY: see the function's contract.
    unsafe { std::slice::from_raw_parts(map.as_ptr().add(offset), len) }
}

/// Bytes `offset..offset + len` of the mapping, to write.
///
/// # Safety
/// As for [`user_slice`], and no other slice of the range may be alive.
#[allow(clippy::mut_from_ref)] // the ring's status words, not the borrow, say who may write
unsafe fn user_slice_mut(map: &Mapping, offset: usize, len: usize) -> &mut [u8] {
    debug_assert!(offset + len <= map.len());
    // SAFETY: see the function's contract.
    unsafe { std::slice::from_raw_parts_mut(map.as_ptr().add(offset), len) }
}

/// Hands the slot whose status word is at `offset` back to the kernel.
fn give_to_kernel(map: &Mapping, offset: usize) {
    // SAFETY: callers pass the status word of a slot of this ring (aligned, in bounds).
    unsafe { map.status_word(offset) }.store(libc::TP_STATUS_KERNEL, Ordering::Release);
}

/// When a ring is dropped while its memory is still held elsewhere (packets lent to
/// JavaScript), that memory turns to zeros rather than going away; see [`Mapping::detach`].
fn drop_ring(map: &Arc<Mapping>) {
    if Arc::strong_count(map) > 1 {
        // Should it fail, the ring (and its socket) stays until the last holder lets go.
        let _ = map.detach();
    }
}

#[derive(Debug)]
pub(crate) struct RingV3 {
    map: Arc<Mapping>,
    block_size: usize,
    block_count: usize,
    current: usize,
    /// Start of the block the last `lend` lent, still the user's.
    lent: Option<usize>,
    /// VLAN tags to put back into the block being lent: (offset in the block, tag).
    tags: Vec<(usize, (u16, u16))>,
}

impl RingV3 {
    pub(crate) fn new(map: Mapping, block_size: usize, block_count: usize) -> Self {
        RingV3 { map: Arc::new(map), block_size, block_count, current: 0, lent: None, tags: Vec::new() }
    }

    /// Gives the block lent by the last `lend` back to the kernel.
    fn give_back(&mut self) {
        if let Some(base) = self.lent.take() {
            give_to_kernel(&self.map, base + V3_BLOCK_STATUS);
        }
    }

    /// Start of the current block if the kernel has retired it.
    fn ready(&self) -> Option<usize> {
        let base = self.current * self.block_size;
        // SAFETY: block starts are page-aligned and the status word is inside the block.
        let status = unsafe { self.map.status_word(base + V3_BLOCK_STATUS) };
        (status.load(Ordering::Acquire) & libc::TP_STATUS_USER != 0).then_some(base)
    }

    /// Calls `each(offset in the block, info, bytes)` for every packet of the block at
    /// `base`, which `ready` returned; returns (packets, malformed headers).
    fn walk(&self, base: usize, mut each: impl FnMut(usize, &PacketInfo, &[u8])) -> (usize, u64) {
        let mut count = 0;
        let mut malformed = 0;
        // SAFETY: the block is inside the mapping and `ready` read TP_STATUS_USER with
        // Acquire, so the kernel has finished writing it and will not touch it until it is
        // given back (a Release store), which happens after this slice has ended.
        let block = unsafe { user_slice(&self.map, base, self.block_size) };
        if let Some(header) = parse_block_header(block) {
            for packet in BlockPackets::new(block, &header) {
                match packet {
                    Ok((info, data)) => {
                        each(data.as_ptr() as usize - block.as_ptr() as usize, &info, data);
                        count += 1;
                    }
                    Err(_) => malformed += 1,
                }
            }
        }
        (count, malformed)
    }

    /// Copies the packets of the current block if the kernel has retired it, gives the
    /// block back (TP_STATUS_KERNEL) and moves on. Returns (packets, malformed headers).
    fn read(&mut self, batch: &mut Batch, snaplen: u32, framing: Framing) -> (usize, u64) {
        self.give_back();
        let Some(base) = self.ready() else { return (0, 0) };
        let counts = self.walk(base, |_, info, data| batch.push_framed(info, data, snaplen, framing));
        give_to_kernel(&self.map, base + V3_BLOCK_STATUS);
        self.current = (self.current + 1) % self.block_count;
        counts
    }

    /// Lends the packets of the current block if the kernel has retired it: their records
    /// (offsets into the mapping) go to `meta`, and the block stays the user's until the
    /// next read or lend. The block lent before goes back first.
    fn lend(&mut self, meta: &mut Vec<u32>, snaplen: u32, link_type: u32) -> (usize, u64) {
        self.give_back();
        let Some(base) = self.ready() else { return (0, 0) };
        let first = meta.len();
        let mut tags = std::mem::take(&mut self.tags);
        tags.clear();
        let counts = self.walk(base, |at, info, data| {
            if let Some(tag) = push_lent(meta, base + at, data.len(), info, snaplen) {
                tags.push((at, tag));
            }
        });
        if !tags.is_empty() {
            // SAFETY: the block is still the user's and the walk's slice has ended.
            let block = unsafe { user_slice_mut(&self.map, base, self.block_size) };
            for &(at, tag) in &tags {
                put_tag_back(block, at, tag);
            }
        }
        // SAFETY: as above; the mutable slice has ended.
        let block = unsafe { user_slice(&self.map, base, self.block_size) };
        dissect_records(&mut meta[first..], block, base, link_type);
        self.tags = tags;
        self.lent = Some(base);
        self.current = (self.current + 1) % self.block_count;
        counts
    }
}

impl Drop for RingV3 {
    fn drop(&mut self) {
        drop_ring(&self.map);
    }
}

#[derive(Debug)]
pub(crate) struct RingV2 {
    map: Arc<Mapping>,
    block_size: usize,
    frame_size: usize,
    frame_count: usize,
    current: usize,
    /// First frame and number of frames the last `lend` lent, still the user's.
    lent: (usize, usize),
}

impl RingV2 {
    pub(crate) fn new(map: Mapping, block_size: usize, frame_size: usize, frame_count: usize) -> Self {
        RingV2 { map: Arc::new(map), block_size, frame_size, frame_count, current: 0, lent: (0, 0) }
    }

    fn offset(&self, index: usize) -> usize {
        frame_offset(index % self.frame_count, self.block_size, self.frame_size)
    }

    /// Gives the frames lent by the last `lend` back to the kernel, in ring order.
    fn give_back(&mut self) {
        let (first, count) = std::mem::take(&mut self.lent);
        for i in first..first + count {
            give_to_kernel(&self.map, self.offset(i) + V2_STATUS);
        }
    }

    /// Offset of the current frame if the kernel has filled it.
    fn ready(&self) -> Option<usize> {
        let offset = self.offset(self.current);
        // SAFETY: frames are 16-byte aligned inside the mapping; tp_status is first.
        let status = unsafe { self.map.status_word(offset + V2_STATUS) };
        (status.load(Ordering::Acquire) & libc::TP_STATUS_USER != 0).then_some(offset)
    }

    /// Calls `each(offset in the frame, info, bytes)` for the frame at `offset`, which
    /// `ready` returned; false when its header is malformed.
    fn visit(&self, offset: usize, each: impl FnOnce(usize, &PacketInfo, &[u8])) -> bool {
        // SAFETY: as for a V3 block: the frame is the user's from the Acquire load in
        // `ready` until it is given back, and the slice ends with this call, before that.
        let frame = unsafe { user_slice(&self.map, offset, self.frame_size) };
        match parse_v2_frame(frame) {
            Ok((info, data)) => {
                each(data.as_ptr() as usize - frame.as_ptr() as usize, &info, data);
                true
            }
            Err(_) => false,
        }
    }

    /// Copies the run of frames the kernel has filled, giving each back as it goes.
    fn read(&mut self, batch: &mut Batch, snaplen: u32, framing: Framing) -> (usize, u64) {
        self.give_back();
        let mut count = 0;
        let mut malformed = 0;
        let limit = self.frame_count.min(MAX_V2_BATCH);
        while count + (malformed as usize) < limit {
            let Some(offset) = self.ready() else { break };
            if self.visit(offset, |_, info, data| batch.push_framed(info, data, snaplen, framing)) {
                count += 1;
            } else {
                malformed += 1;
            }
            give_to_kernel(&self.map, offset + V2_STATUS);
            self.current = (self.current + 1) % self.frame_count;
        }
        (count, malformed)
    }

    /// Lends the run of frames the kernel has filled: their records (offsets into the
    /// mapping) go to `meta`, and the frames stay the user's until the next read or lend.
    /// The frames lent before go back first.
    fn lend(&mut self, meta: &mut Vec<u32>, snaplen: u32, link_type: u32) -> (usize, u64) {
        self.give_back();
        let mut count = 0;
        let mut malformed = 0;
        let limit = self.frame_count.min(MAX_V2_BATCH);
        let first = self.current;
        while count + (malformed as usize) < limit {
            let Some(offset) = self.ready() else { break };
            let mut tag = None;
            if self.visit(offset, |at, info, data| {
                tag = push_lent(meta, offset + at, data.len(), info, snaplen).map(|tag| (at, tag));
            }) {
                count += 1;
                if let Some((at, tag)) = tag {
                    // SAFETY: the frame is still the user's and the parse's slice has ended.
                    put_tag_back(unsafe { user_slice_mut(&self.map, offset, self.frame_size) }, at, tag);
                }
                // SAFETY: as above; the mutable slice has ended.
                let frame = unsafe { user_slice(&self.map, offset, self.frame_size) };
                let record = meta.len() - META_STRIDE;
                dissect_records(&mut meta[record..], frame, offset, link_type);
            } else {
                malformed += 1;
            }
            self.current = (self.current + 1) % self.frame_count;
        }
        self.lent = (first, count + malformed as usize);
        (count, malformed)
    }
}

impl Drop for RingV2 {
    fn drop(&mut self) {
        drop_ring(&self.map);
    }
}

/// recv() on a plain AF_PACKET socket, with PACKET_AUXDATA and SO_TIMESTAMPNS messages.
#[derive(Debug)]
pub(crate) struct RecvReader {
    buf: Vec<u8>,
    /// Room for the control messages, 8-byte aligned as cmsghdr wants.
    control: [u64; 16],
    /// An error recvmsg reported while packets were still queued, for the next read.
    error: Option<io::Error>,
}

impl RecvReader {
    pub(crate) fn new(snaplen: u32) -> Self {
        RecvReader { buf: vec![0; snaplen as usize], control: [0; 16], error: None }
    }

    /// Receives what is queued, up to [`MAX_RECV_BATCH`] packets, without blocking.
    /// A socket error (the interface went down or was removed) is reported once the
    /// packets queued before it have been read.
    fn read(&mut self, socket: &PacketSocket, batch: &mut Batch, snaplen: u32, framing: Framing) -> io::Result<usize> {
        let mut count = 0;
        while count < MAX_RECV_BATCH {
            match self.recv_one(socket) {
                Ok(Some((info, caplen))) => {
                    batch.push_framed(&info, &self.buf[..caplen], snaplen, framing);
                    count += 1;
                }
                Ok(None) => break,
                // recvmsg reports (and clears) a pending error ahead of the queued packets.
                Err(e) if self.error.is_none() => self.error = Some(e),
                Err(_) => break,
            }
        }
        match self.error.take() {
            Some(e) if count == 0 => Err(e),
            error => {
                self.error = error;
                Ok(count)
            }
        }
    }

    fn recv_one(&mut self, socket: &PacketSocket) -> io::Result<Option<(PacketInfo, usize)>> {
        // SAFETY: sockaddr_ll and msghdr are C structs of integers and pointers, for which
        // all-zero is valid.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut iov = libc::iovec { iov_base: self.buf.as_mut_ptr().cast(), iov_len: self.buf.len() };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = (&mut addr as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = self.control.as_mut_ptr().cast();
        msg.msg_controllen = mem::size_of_val(&self.control);
        let received = loop {
            // SAFETY: every pointer in `msg` refers to a live buffer of the stated length.
            match unsafe { syscall!(recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC)) } {
                Ok(n) => break n as usize,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        let mut info = PacketInfo {
            len: received as u32,
            ifindex: addr.sll_ifindex,
            pkttype: addr.sll_pkttype,
            link: LinkAddress::from_sockaddr(&addr),
            ..Default::default()
        };
        // SAFETY: `msg` was filled by recvmsg; the CMSG_* helpers walk its control buffer
        // within msg_controllen, and each payload is read unaligned at its declared type.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let data = libc::CMSG_DATA(cmsg);
                match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                    (libc::SOL_PACKET, libc::PACKET_AUXDATA) => {
                        let aux = data.cast::<libc::tpacket_auxdata>().read_unaligned();
                        info.len = aux.tp_len;
                        info.status = aux.tp_status;
                        info.vlan_tci = aux.tp_vlan_tci;
                        info.vlan_tpid = aux.tp_vlan_tpid;
                    }
                    (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                        let ts = data.cast::<libc::timespec>().read_unaligned();
                        info.sec = ts.tv_sec as u32;
                        info.nsec = ts.tv_nsec as u32;
                    }
                    _ => {}
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        Ok(Some((info, received.min(self.buf.len()))))
    }
}

#[derive(Debug)]
pub(crate) enum Reader {
    V3(RingV3),
    V2(RingV2),
    Recv(RecvReader),
}

impl Reader {
    /// Appends what is ready to `batch` without blocking, framed as `framing` says, cut to
    /// `snaplen` and dissected; returns (packets, malformed).
    pub(crate) fn read(&mut self, socket: &PacketSocket, batch: &mut Batch, snaplen: u32, framing: Framing) -> Result<(usize, u64)> {
        match self {
            Reader::V3(ring) => Ok(ring.read(batch, snaplen, framing)),
            Reader::V2(ring) => Ok(ring.read(batch, snaplen, framing)),
            Reader::Recv(r) => {
                r.read(socket, batch, snaplen, framing).map(|n| (n, 0)).map_err(|e| socket.error_from(e))
            }
        }
    }

    /// Lends what is ready in place (rings only), appending its records to `meta`;
    /// returns (packets, malformed).
    pub(crate) fn lend(&mut self, meta: &mut Vec<u32>, snaplen: u32, link_type: u32) -> Result<(usize, u64)> {
        match self {
            Reader::V3(ring) => Ok(ring.lend(meta, snaplen, link_type)),
            Reader::V2(ring) => Ok(ring.lend(meta, snaplen, link_type)),
            Reader::Recv(_) => Err(Error::Unsupported {
                text: text!["only a ", MethodName::RxRing, " capture lends packets in place; ", MethodName::RxRecv, " (recv()) copies them"],
            }),
        }
    }

    /// The ring's memory, which lent packets' offsets count from.
    pub(crate) fn memory(&self) -> Option<&Arc<Mapping>> {
        match self {
            Reader::V3(ring) => Some(&ring.map),
            Reader::V2(ring) => Some(&ring.map),
            Reader::Recv(_) => None,
        }
    }
}

/// The ring state machines without a socket: an anonymous mapping plays the ring, the
/// test plays the kernel (writes frames and blocks laid out as `tpacket_rcv()` does, from
/// [`crate::frame::fixtures`], and sets their status words), then checks what the reader
/// returns and that it hands every slot back (status TP_STATUS_KERNEL).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{META_CAPLEN, META_LEN, META_OFFSET, META_STRIDE};
    use crate::frame::fixtures::{v2_frame, v3_block};

    const BLOCK: usize = 4096;
    const FRAME: usize = 2048;

    /// Writes `bytes` at `offset` of the mapping, as the kernel would.
    fn kernel_writes(map: &Mapping, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= map.len());
        // SAFETY: in bounds (asserted); the reader under test holds no slice of the ring
        // between its calls, and the test is single-threaded.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), map.as_ptr().add(offset), bytes.len()) };
    }

    fn status(map: &Mapping, offset: usize) -> u32 {
        // SAFETY: the offsets passed are status words of slots of the ring.
        unsafe { map.status_word(offset) }.load(Ordering::Acquire)
    }

    fn info(len: u32, sec: u32) -> PacketInfo {
        PacketInfo { len, sec, nsec: 7, ifindex: 3, pkttype: libc::PACKET_HOST, ..Default::default() }
    }

    fn packet(len: usize, fill: u8) -> Vec<u8> {
        vec![fill; len]
    }

    #[test]
    fn v3_read_copies_a_retired_block_and_gives_it_back() {
        let ring = Mapping::anonymous(2 * BLOCK).unwrap();
        let block = v3_block(BLOCK, &[(info(60, 1), packet(60, 0xa1)), (info(90, 2), packet(90, 0xa2))]);
        kernel_writes(&ring, 0, &block);
        let mut rx = RingV3::new(ring, BLOCK, 2);
        let map = Arc::clone(&rx.map);
        let mut batch = Batch::default();
        assert_eq!(rx.read(&mut batch, 262_144, Framing::Link(1)), (2, 0));
        assert_eq!(batch.len(), 2);
        let (a, b) = (batch.get(0).unwrap(), batch.get(1).unwrap());
        assert_eq!((a.len, a.sec, a.nsec, a.ifindex, a.data), (60, 1, 7, 3, &packet(60, 0xa1)[..]));
        assert_eq!((b.len, b.sec, b.data.len()), (90, 2, 90));
        assert_eq!(status(&map, V3_BLOCK_STATUS), libc::TP_STATUS_KERNEL, "block 0 handed back");
        // Block 1 is still the kernel's: nothing to read, and the reader waits there.
        assert_eq!(rx.read(&mut batch, 262_144, Framing::Link(1)), (0, 0));
        kernel_writes(&map, BLOCK, &v3_block(BLOCK, &[(info(70, 3), packet(70, 0xb1))]));
        batch.clear();
        assert_eq!(rx.read(&mut batch, 64, Framing::Link(1)), (1, 0));
        assert_eq!(batch.get(0).unwrap().data, &packet(64, 0xb1)[..], "cut at snaplen");
        assert_eq!(status(&map, BLOCK + V3_BLOCK_STATUS), libc::TP_STATUS_KERNEL);
        // And it wraps to block 0.
        kernel_writes(&map, 0, &v3_block(BLOCK, &[(info(61, 4), packet(61, 0xc1))]));
        batch.clear();
        assert_eq!(rx.read(&mut batch, 262_144, Framing::Link(1)), (1, 0));
        assert_eq!(batch.get(0).unwrap().sec, 4);
    }

    #[test]
    fn v3_lend_keeps_the_block_until_the_next_call() {
        let ring = Mapping::anonymous(2 * BLOCK).unwrap();
        kernel_writes(&ring, 0, &v3_block(BLOCK, &[(info(60, 1), packet(60, 0xa1)), (info(61, 2), packet(61, 0xa2))]));
        let mut rx = RingV3::new(ring, BLOCK, 2);
        let map = Arc::clone(&rx.map);
        let mut meta = Vec::new();
        assert_eq!(rx.lend(&mut meta, 262_144, 1), (2, 0));
        assert_eq!(meta.len(), 2 * META_STRIDE);
        // The records point into the ring: the first packet at offset_to_first_pkt + tp_mac.
        let first = meta[META_OFFSET] as usize;
        assert_eq!(first, crate::abi::V3_BLOCK_HEADER as usize + crate::abi::V3_MAC_OFFSET as usize);
        assert_eq!((meta[META_CAPLEN], meta[META_LEN]), (60, 60));
        // SAFETY: the block is lent: the user's until the next call.
        let lent = unsafe { user_slice(&map, first, 60) };
        assert_eq!(lent, &packet(60, 0xa1)[..]);
        assert_eq!(status(&map, V3_BLOCK_STATUS), libc::TP_STATUS_USER, "lent, not handed back yet");
        meta.clear();
        assert_eq!(rx.lend(&mut meta, 262_144, 1), (0, 0));
        assert_eq!(status(&map, V3_BLOCK_STATUS), libc::TP_STATUS_KERNEL, "handed back by the next lend");
    }

    #[test]
    fn v3_block_with_a_bad_offset_counts_it_malformed_and_still_gives_the_block_back() {
        let ring = Mapping::anonymous(BLOCK).unwrap();
        let mut block = v3_block(BLOCK, &[(info(60, 1), packet(60, 1)), (info(60, 2), packet(60, 2))]);
        // The first packet's tp_next_offset points past the block.
        let next = crate::abi::V3_BLOCK_HEADER as usize + mem::offset_of!(libc::tpacket3_hdr, tp_next_offset);
        block[next..next + 4].copy_from_slice(&(BLOCK as u32).to_ne_bytes());
        kernel_writes(&ring, 0, &block);
        let mut rx = RingV3::new(ring, BLOCK, 1);
        let map = Arc::clone(&rx.map);
        let mut batch = Batch::default();
        let (count, malformed) = rx.read(&mut batch, 262_144, Framing::Link(1));
        assert_eq!((count, malformed), (1, 1));
        assert_eq!(status(&map, V3_BLOCK_STATUS), libc::TP_STATUS_KERNEL);
    }

    #[test]
    fn v2_read_takes_the_run_of_filled_frames_and_gives_each_back() {
        // Two 2048-byte frames per 4096-byte block, four frames.
        let ring = Mapping::anonymous(2 * BLOCK).unwrap();
        for (i, fill) in [(0usize, 0xa0u8), (1, 0xa1)] {
            let data = packet(100 + i, fill);
            kernel_writes(&ring, frame_offset(i, BLOCK, FRAME), &v2_frame(FRAME, &data, data.len(), &info(0, i as u32)));
        }
        let mut rx = RingV2::new(ring, BLOCK, FRAME, 4);
        let map = Arc::clone(&rx.map);
        let mut batch = Batch::default();
        assert_eq!(rx.read(&mut batch, 262_144, Framing::Link(1)), (2, 0));
        assert_eq!(batch.get(1).unwrap().data, &packet(101, 0xa1)[..]);
        for i in 0..4 {
            assert_eq!(status(&map, frame_offset(i, BLOCK, FRAME) + V2_STATUS), libc::TP_STATUS_KERNEL, "frame {i}");
        }
        // Frames 2 and 3 (the second block), then 0 again: the ring wraps.
        for i in [2usize, 3, 0] {
            let data = packet(60, i as u8);
            kernel_writes(&map, frame_offset(i, BLOCK, FRAME), &v2_frame(FRAME, &data, 60, &info(0, 10 + i as u32)));
        }
        batch.clear();
        assert_eq!(rx.read(&mut batch, 262_144, Framing::Link(1)), (3, 0));
        let secs: Vec<u32> = batch.iter().map(|p| p.sec).collect();
        assert_eq!(secs, [12, 13, 10]);
    }

    #[test]
    fn v2_lend_keeps_frames_until_the_next_call_and_skips_a_malformed_one() {
        let ring = Mapping::anonymous(2 * BLOCK).unwrap();
        let data = packet(80, 0x5a);
        kernel_writes(&ring, 0, &v2_frame(FRAME, &data, 80, &info(0, 1)));
        // Frame 1: tp_snaplen past the end of the frame.
        let mut bad = v2_frame(FRAME, &data, 80, &info(0, 2));
        let snap = mem::offset_of!(libc::tpacket2_hdr, tp_snaplen);
        bad[snap..snap + 4].copy_from_slice(&(FRAME as u32).to_ne_bytes());
        kernel_writes(&ring, FRAME, &bad);
        let mut rx = RingV2::new(ring, BLOCK, FRAME, 4);
        let map = Arc::clone(&rx.map);
        let mut meta = Vec::new();
        assert_eq!(rx.lend(&mut meta, 262_144, 1), (1, 1));
        assert_eq!(meta[META_OFFSET] as usize, crate::abi::V2_MAC_OFFSET as usize);
        assert_eq!(status(&map, V2_STATUS) & libc::TP_STATUS_USER, libc::TP_STATUS_USER, "lent");
        assert_eq!(status(&map, FRAME + V2_STATUS) & libc::TP_STATUS_USER, libc::TP_STATUS_USER, "lent (malformed)");
        meta.clear();
        assert_eq!(rx.lend(&mut meta, 262_144, 1), (0, 0));
        assert_eq!(status(&map, V2_STATUS), libc::TP_STATUS_KERNEL);
        assert_eq!(status(&map, FRAME + V2_STATUS), libc::TP_STATUS_KERNEL);
    }
}
