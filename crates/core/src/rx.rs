//! Readers that copy ready packets into a [`Batch`]: a TPACKET_V3 ring (one block per
//! read), a TPACKET_V2 ring (the ready run of frames), or recv() on a plain socket.

use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::batch::Batch;
use crate::error::Result;
use crate::frame::{parse_block_header, parse_v2_frame, BlockPackets, PacketInfo};
use crate::mmap::{frame_offset, Mapping};
use crate::socket::PacketSocket;
use crate::sys::syscall;

/// Most TPACKET_V2 frames copied per read.
pub const MAX_V2_BATCH: usize = 4096;
/// Most packets received with recv() per read.
pub const MAX_RECV_BATCH: usize = 256;

/// Offset of `tp_status` in a V2 frame and of `hdr.bh1.block_status` in a V3 block.
const V2_STATUS: usize = mem::offset_of!(libc::tpacket2_hdr, tp_status);
const V3_STATUS: usize = mem::offset_of!(libc::tpacket_block_desc, hdr);

/// The status word at `base + offset` of the mapping.
///
/// # Safety
/// `offset` must be 4-byte aligned and `offset + 4 <= map.len()`; the kernel and user space
/// access status words only atomically, which is what the returned reference is for.
unsafe fn status_word(map: &Mapping, offset: usize) -> &AtomicU32 {
    debug_assert!(offset % 4 == 0 && offset + 4 <= map.len());
    // SAFETY: in bounds and aligned (caller), valid for the mapping's lifetime, which the
    // returned reference borrows.
    unsafe { AtomicU32::from_ptr(map.as_ptr().add(offset).cast::<u32>()) }
}

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

#[derive(Debug)]
pub(crate) struct RingV3 {
    map: Mapping,
    block_size: usize,
    block_count: usize,
    current: usize,
}

impl RingV3 {
    pub(crate) fn new(map: Mapping, block_size: usize, block_count: usize) -> Self {
        RingV3 { map, block_size, block_count, current: 0 }
    }

    /// Copies the packets of the current block if the kernel has retired it, gives the
    /// block back (TP_STATUS_KERNEL) and moves on. Returns (packets, malformed headers).
    fn read(&mut self, batch: &mut Batch, snaplen: u32) -> (usize, u64) {
        let base = self.current * self.block_size;
        // SAFETY: block starts are page-aligned and the status word is inside the block.
        let status = unsafe { status_word(&self.map, base + V3_STATUS) };
        if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return (0, 0);
        }
        let mut count = 0;
        let mut malformed = 0;
        {
            // SAFETY: the block is inside the mapping and TP_STATUS_USER was read with
            // Acquire, so the kernel has finished writing it and will not touch it until
            // the Release store below; the slice is dropped before that store.
            let block = unsafe { user_slice(&self.map, base, self.block_size) };
            if let Some(header) = parse_block_header(block) {
                batch.data.reserve((header.blk_len as usize).min(self.block_size));
                for packet in BlockPackets::new(block, &header) {
                    match packet {
                        Ok((info, data)) => {
                            batch.push(&info, data, snaplen);
                            count += 1;
                        }
                        Err(_) => malformed += 1,
                    }
                }
            }
        }
        status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.current = (self.current + 1) % self.block_count;
        (count, malformed)
    }
}

#[derive(Debug)]
pub(crate) struct RingV2 {
    map: Mapping,
    block_size: usize,
    frame_size: usize,
    frame_count: usize,
    current: usize,
}

impl RingV2 {
    pub(crate) fn new(map: Mapping, block_size: usize, frame_size: usize, frame_count: usize) -> Self {
        RingV2 { map, block_size, frame_size, frame_count, current: 0 }
    }


    /// Copies the run of frames the kernel has filled, giving each back as it goes.
    fn read(&mut self, batch: &mut Batch, snaplen: u32) -> (usize, u64) {
        let mut count = 0;
        let mut malformed = 0;
        let limit = self.frame_count.min(MAX_V2_BATCH);
        while count + (malformed as usize) < limit {
            let offset = frame_offset(self.current, self.block_size, self.frame_size);
            // SAFETY: frames are 16-byte aligned inside the mapping; tp_status is first.
            let status = unsafe { status_word(&self.map, offset + V2_STATUS) };
            if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
                break;
            }
            {
                // SAFETY: as for a V3 block: the frame is the user's from the Acquire load
                // until the Release store below, and the slice ends before that store.
                let frame = unsafe { user_slice(&self.map, offset, self.frame_size) };
                match parse_v2_frame(frame) {
                    Ok((info, data)) => {
                        batch.push(&info, data, snaplen);
                        count += 1;
                    }
                    Err(_) => malformed += 1,
                }
            }
            status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.current = (self.current + 1) % self.frame_count;
        }
        (count, malformed)
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
    fn read(&mut self, socket: &PacketSocket, batch: &mut Batch, snaplen: u32) -> io::Result<usize> {
        let mut count = 0;
        while count < MAX_RECV_BATCH {
            match self.recv_one(socket) {
                Ok(Some((info, caplen))) => {
                    batch.push(&info, &self.buf[..caplen], snaplen);
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
            match syscall!(recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC)) {
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
    /// Appends what is ready to `batch` without blocking; returns (packets, malformed).
    pub(crate) fn read(&mut self, socket: &PacketSocket, batch: &mut Batch, snaplen: u32) -> Result<(usize, u64)> {
        match self {
            Reader::V3(ring) => Ok(ring.read(batch, snaplen)),
            Reader::V2(ring) => Ok(ring.read(batch, snaplen)),
            Reader::Recv(r) => r.read(socket, batch, snaplen).map(|n| (n, 0)).map_err(|e| socket.error_from(e)),
        }
    }
}
