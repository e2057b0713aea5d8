//! A capture: a socket, its reader, and running totals of the kernel's statistics.

use std::os::fd::AsFd;
use std::sync::Arc;

use crate::batch::Batch;
use crate::batch::Framing;
use crate::error::{text, OptionName, Problem, Result};
use crate::linktype::LINKTYPE_ETHERNET;
use crate::validate::option_error;
use crate::fanout;
use crate::bpf::{for_cooked_socket, socket_program, without_loopback_copies, Filter, Instruction, DROP_ALL};
use crate::mmap::Mapping;
use crate::options::{Geometry, RxOptions};
use crate::rx::{Reader, RecvReader, RingV2, RingV3, MAX_RECV_BATCH, MAX_V2_BATCH};
use crate::socket::{PacketSocket, ANY, ETH_P_ALL_BE};

/// Running totals since the capture opened. The kernel resets PACKET_STATISTICS on every
/// read; these add them up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets the socket accepted into its ring or queue (`tp_packets - tp_drops`).
    pub received: u64,
    /// Packets the kernel dropped because the ring or queue was full (`tp_drops`).
    pub dropped: u64,
    /// Times a TPACKET_V3 ring was full and froze (`tp_freeze_q_cnt`); 0 for V2 and recv().
    pub freezes: u64,
    /// Packets copied out to the user so far.
    pub delivered: u64,
    /// Ring headers that pointed outside their slot and were skipped (should stay 0).
    pub malformed: u64,
}

/// The most bytes and packets one read of a ring copies, near enough to allocate for (a
/// batch that needs more grows): a V3 block holds its packets' data (each fits the slot
/// it came in, a VLAN tag put back too), in slots of at least 64 bytes; a read of a V2 ring
/// takes up to MAX_V2_BATCH frames.
fn batch_capacity(geometry: Geometry) -> (usize, usize) {
    match geometry {
        Geometry::V3 { block_size, .. } => (block_size as usize, block_size as usize / 64),
        Geometry::V2 { frame_size, frame_count, .. } => {
            let frames = (frame_count as usize).min(MAX_V2_BATCH);
            (frames * frame_size as usize, frames)
        }
    }
}

/// The program the socket attaches for `filter`: an expression compiled for the packets'
/// link type, and on a cooked socket made to read the packet as the kernel has it
/// (without the cooked header, see [`for_cooked_socket`]).
///
/// A cooked socket's program also drops the outgoing copies of loopback packets, as
/// libpcap's `any` does (a capture on lo itself sets PACKET_IGNORE_OUTGOING instead).
fn kernel_program(filter: Option<&Filter>, snaplen: u32, framing: Framing) -> Result<Option<Vec<Instruction>>> {
    let program = socket_program(filter, snaplen, framing.link_type())?;
    match (framing, filter, program) {
        (Framing::Cooked, Some(Filter::Expression(expression)), Some(program)) => {
            Ok(Some(without_loopback_copies(Some(for_cooked_socket(&program, expression)?), snaplen)))
        }
        (Framing::Cooked, _, program) => Ok(Some(without_loopback_copies(program, snaplen))),
        (_, _, program) => Ok(program),
    }
}

/// `ARPHRD_LOOPBACK`: the hardware type of lo.
const ARPHRD_LOOPBACK: u16 = 772;

/// A packet capture on one interface through a PACKET_MMAP ring or recv().
#[derive(Debug)]
pub struct Capture {
    socket: Arc<PacketSocket>,
    reader: Reader,
    snaplen: u32,
    /// How the packets begin: the interface's link layer, or a cooked header (`any`).
    framing: Framing,
    v3: bool,
    block_timeout_ms: u32,
    batch_capacity: (usize, usize),
    totals: Stats,
    fanout_group: Option<u16>,
}

impl Capture {
    /// Validates `options` and compiles a filter expression (for Ethernet, so that a
    /// filter's syntax errors come before any system call), then: creates the socket (it
    /// receives nothing yet), reads the interface's link type (an [`crate::Error::LinkType`]
    /// when it has none a raw socket can capture) and compiles the expression again for
    /// it if it is not Ethernet, sets the TPACKET version, the filter (combined with the
    /// snapshot length) and the ring, maps the ring, and only then binds to the interface,
    /// so no packet is queued outside the ring, none gets past the filter, and none is
    /// lost to the purge a bind-first order would need. A fanout group is joined after
    /// bind(), as the kernel requires (see the `fanout` module for how the filter goes on).
    ///
    /// On [`ANY`] the socket is cooked: each packet gets a Linux cooked v2 header (with its
    /// interface index) in the copy, which is why `zero_copy` does not apply there, and
    /// no one interface is made promiscuous (as libpcap's `any`).
    pub fn open(iface: &str, options: &RxOptions) -> Result<Capture> {
        let config = options.validate()?;
        if iface == ANY && options.zero_copy {
            return Err(option_error(
                OptionName::ZeroCopy,
                Problem::NotApplicable,
                text!["option ", OptionName::ZeroCopy, " does not apply to the any device: its packets get a Linux cooked header in the copy"],
            ));
        }
        // An expression is compiled before any system call, for Ethernet unless on `any`,
        // and again once the interface's link type is known, if that is another.
        let expected = if iface == ANY { Framing::Cooked } else { Framing::Link(LINKTYPE_ETHERNET) };
        let mut program = kernel_program(config.filter.as_ref(), config.snaplen, expected)?;
        let socket = PacketSocket::open(iface, config.netns.as_deref())?;
        let framing = if socket.cooked() { Framing::Cooked } else { Framing::Link(socket.link_type()?) };
        if framing != expected && matches!(config.filter, Some(Filter::Expression(_))) {
            program = kernel_program(config.filter.as_ref(), config.snaplen, framing)?;
        }
        let (reader, v3, block_timeout_ms) = match config.geometry {
            Some(geometry) => {
                let (version, v3, timeout) = match geometry {
                    Geometry::V3 { block_timeout_ms, .. } => (libc::tpacket_versions::TPACKET_V3, true, block_timeout_ms),
                    Geometry::V2 { .. } => (libc::tpacket_versions::TPACKET_V2, false, 0),
                };
                socket.set_version(version)?;
                (Self::ring(&socket, geometry)?, v3, timeout)
            }
            None => {
                socket.set_int_option(libc::SOL_PACKET, libc::PACKET_AUXDATA, 1, "PACKET_AUXDATA")?;
                socket.set_int_option(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS")?;
                if let Some(size) = config.buffer_size {
                    let size = size as libc::c_int;
                    // SO_RCVBUFFORCE passes net.core.rmem_max (needs CAP_NET_ADMIN); else the capped one.
                    socket
                        .set_int_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size, "SO_RCVBUFFORCE")
                        .or_else(|_| socket.set_int_option(libc::SOL_SOCKET, libc::SO_RCVBUF, size, "SO_RCVBUF"))?;
                }
                (Reader::Recv(RecvReader::new(config.snaplen)), false, 0)
            }
        };
        // The filter goes on before bind(), so no packet gets in unfiltered. A socket that
        // will join a fanout group drops everything until it has joined (see `fanout`).
        match (&config.fanout, &program) {
            (Some(_), _) => socket.attach_filter(&DROP_ALL)?,
            (None, Some(program)) => socket.attach_filter(program)?,
            (None, None) => {}
        }
        // On loopback every packet is seen leaving and again arriving: libpcap keeps the
        // arrival only, and so does this.
        let ignore_outgoing = config.ignore_outgoing || (!socket.cooked() && socket.hardware_type()? == ARPHRD_LOOPBACK);
        if ignore_outgoing {
            socket.set_int_option(libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING")?;
        }
        if config.promiscuous && !socket.cooked() {
            socket.set_promiscuous()?;
        }
        socket.bind(ETH_P_ALL_BE)?;
        let fanout_group = match &config.fanout {
            Some(options) => {
                let group = fanout::join(&socket, options, ignore_outgoing)?;
                match &program {
                    Some(program) => socket.attach_filter(program)?,
                    None => socket.detach_filter()?,
                }
                Some(group)
            }
            None => None,
        };
        Ok(Capture {
            socket: Arc::new(socket),
            reader,
            snaplen: config.snaplen,
            framing,
            v3,
            block_timeout_ms,
            batch_capacity: config.geometry.map_or((0, MAX_RECV_BATCH), batch_capacity),
            totals: Stats::default(),
            fanout_group,
        })
    }

    /// PACKET_RX_RING with `geometry`, then mmap of the whole ring.
    fn ring(socket: &PacketSocket, geometry: Geometry) -> Result<Reader> {
        match geometry {
            Geometry::V3 { block_size, block_count, frame_size, block_timeout_ms } => {
                let req = libc::tpacket_req3 {
                    tp_block_size: block_size,
                    tp_block_nr: block_count,
                    tp_frame_size: frame_size,
                    tp_frame_nr: (block_size / frame_size) * block_count,
                    tp_retire_blk_tov: block_timeout_ms,
                    tp_sizeof_priv: 0,
                    tp_feature_req_word: 0,
                };
                // SAFETY: PACKET_RX_RING of a TPACKET_V3 socket reads a `struct tpacket_req3`.
                unsafe { socket.set_option(libc::SOL_PACKET, libc::PACKET_RX_RING, &req, "PACKET_RX_RING") }?;
                let map = Mapping::new(socket.as_fd(), geometry.ring_bytes()).map_err(socket.err("mmap"))?;
                Ok(Reader::V3(RingV3::new(map, block_size as usize, block_count as usize)))
            }
            Geometry::V2 { block_size, block_count, frame_size, frame_count } => {
                let req = libc::tpacket_req {
                    tp_block_size: block_size,
                    tp_block_nr: block_count,
                    tp_frame_size: frame_size,
                    tp_frame_nr: frame_count,
                };
                // SAFETY: PACKET_RX_RING of a TPACKET_V2 socket reads a `struct tpacket_req`.
                unsafe { socket.set_option(libc::SOL_PACKET, libc::PACKET_RX_RING, &req, "PACKET_RX_RING") }?;
                let map = Mapping::new(socket.as_fd(), geometry.ring_bytes()).map_err(socket.err("mmap"))?;
                Ok(Reader::V2(RingV2::new(map, block_size as usize, frame_size as usize, frame_count as usize)))
            }
        }
    }

    /// Appends the packets that are ready to `batch` (one V3 block, the ready V2 frames,
    /// or what recv() has queued) without blocking; returns how many. 0 means nothing is
    /// ready: wait for readability of [`Capture::socket`] (or call [`Capture::wait`]).
    pub fn read(&mut self, batch: &mut Batch) -> Result<usize> {
        let (count, malformed) = self.reader.read(&self.socket, batch, self.snaplen, self.framing)?;
        self.totals.delivered += count as u64;
        self.totals.malformed += malformed;
        Ok(count)
    }

    /// Like [`Capture::read`], without the copy: appends the records of the packets that
    /// are ready to `meta` (the layout of [`Batch::meta`]), their offsets counting from
    /// the start of [`Capture::ring_memory`], and leaves their ring slots to the user
    /// until the next `lend` or `read`, which gives them back to the kernel. A VLAN tag
    /// the kernel took off is put back in the slot, so the bytes are the same as `read`
    /// copies. Rings only: a Type error for recv() captures.
    pub fn lend(&mut self, meta: &mut Vec<u32>) -> Result<usize> {
        let (count, malformed) = self.reader.lend(meta, self.snaplen, self.framing.link_type())?;
        self.totals.delivered += count as u64;
        self.totals.malformed += malformed;
        Ok(count)
    }

    /// The ring's memory, shared (`None` for recv()). It stays mapped while shared: once
    /// the capture is dropped, whoever still holds it reads zeros.
    pub fn ring_memory(&self) -> Option<Arc<Mapping>> {
        self.reader.memory().cloned()
    }

    /// Blocks in poll() up to `timeout_ms` (-1: forever) until packets may be ready.
    /// A pending socket error (the interface went down or was removed) is returned as such.
    pub fn wait(&self, timeout_ms: i32) -> Result<bool> {
        let revents = self.socket.poll(libc::POLLIN, timeout_ms).map_err(self.socket.err("poll"))?;
        if revents & libc::POLLIN != 0 {
            return Ok(true);
        }
        if revents & libc::POLLERR != 0 {
            if let Some(e) = self.socket.take_error() {
                return Err(self.socket.error_from(e));
            }
        }
        Ok(false)
    }

    /// Running totals; reads (and so resets) the kernel's PACKET_STATISTICS. Packets a
    /// filter rejects reach neither count: the kernel counts after the filter.
    pub fn stats(&mut self) -> Result<Stats> {
        let k = self.socket.kernel_stats(self.v3)?;
        // tp_packets counts the dropped packets too (the kernel adds tp_drops on read).
        self.totals.received += u64::from(k.packets.saturating_sub(k.drops));
        self.totals.dropped += u64::from(k.drops);
        self.totals.freezes += u64::from(k.freezes);
        Ok(self.totals)
    }

    /// The socket, shared so that a waiter on another thread can poll it.
    pub fn socket(&self) -> &Arc<PacketSocket> {
        &self.socket
    }

    /// Bytes kept of each packet.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The libpcap `LINKTYPE_*` of the packets' bytes.
    pub fn link_type(&self) -> u32 {
        self.framing.link_type()
    }

    /// Replaces the filter (SO_ATTACH_FILTER swaps programs atomically), an expression
    /// compiled for the capture's link type; `None` removes it, keeping the snapshot
    /// length. Packets already in the ring or queue passed the old filter and are still
    /// delivered.
    pub fn set_filter(&mut self, filter: Option<&Filter>) -> Result<()> {
        if let Some(filter) = filter {
            filter.validate()?;
        }
        match kernel_program(filter, self.snaplen, self.framing)? {
            Some(program) => self.socket.attach_filter(&program),
            None => self.socket.detach_filter(),
        }
    }

    /// The PACKET_FANOUT group joined, if any (the kernel's pick when no id was given).
    pub fn fanout_group(&self) -> Option<u16> {
        self.fanout_group
    }

    /// `tp_retire_blk_tov` of a TPACKET_V3 ring; 0 otherwise.
    pub fn block_timeout_ms(&self) -> u32 {
        self.block_timeout_ms
    }

    /// The most bytes and packets one [`Capture::read`] can add to a batch; bytes are 0
    /// when no bound is small enough to allocate up front (recv()).
    pub fn batch_capacity(&self) -> (usize, usize) {
        self.batch_capacity
    }
}
