//! [`Sender`], which queues frames into a TX ring or sends them one send() each, and
//! [`Kicker`], which hands queued frames to the kernel from another thread.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;
use std::sync::Arc;

use super::frame::{check_frame_len, frame_limit};
use super::options::{TxOptions, TxRingConfig};
use super::ring::TxRing;
use crate::error::{Error, Result};
use crate::linktype::{describe_link_type, send_problem};
use crate::mmap::Mapping;
use crate::socket::PacketSocket;
use crate::sys::syscall;

/// Flush rounds in a row without progress after which [`Sender::flush`] gives up.
const FLUSH_STALL_LIMIT: u32 = 1000;

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
        match unsafe { syscall!(sendto(socket.as_raw_fd(), ptr::null(), 0, flags, ptr::null(), 0)) } {
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

    /// The sender's socket.
    pub fn socket(&self) -> &Arc<PacketSocket> {
        &self.socket
    }
}

/// An [`Error::LinkType`] naming both link types when frames of `frames` (a `LINKTYPE_*`)
/// cannot be sent as they are through `iface`, whose frames are `interface` (`None`: a
/// hardware type with no raw link type): only the same link type can, or raw IP onto a
/// raw-IP interface; never Linux cooked (SLL, SLL2) headers.
pub fn check_link_type(iface: &str, interface: Option<u32>, frames: u32) -> Result<()> {
    let problem = match interface {
        Some(interface) => send_problem(frames, interface).map(|why| {
            format!("whose link type is {}: {why}", describe_link_type(interface))
        }),
        None => Some("whose hardware type has no link-layer header a raw socket sends".to_owned()),
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::LinkType {
            iface: iface.to_owned(),
            message: format!(
                "frames of link type {} cannot be sent through \"{iface}\", {problem}",
                describe_link_type(frames)
            ),
        }),
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
    /// The interface's `LINKTYPE_*`; `None` for a hardware type a raw socket cannot carry.
    link_type: Option<u32>,
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
        if config.qdisc_bypass {
            socket.set_int_option(libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS")?;
        }
        let ring = match config.ring {
            Some(rc) => Some(Self::ring(&socket, &rc)?),
            None => None,
        };
        socket.bind(0)?;
        let mtu = socket.mtu()?;
        let link_type = match socket.link_type() {
            Ok(link_type) => Some(link_type),
            Err(Error::LinkType { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(Sender {
            socket: Arc::new(socket),
            ring,
            mtu,
            link_type,
            totals: TxStats::default(),
            deferred: None,
        })
    }

    fn ring(socket: &PacketSocket, rc: &TxRingConfig) -> Result<TxRing> {
        let (version, op) = match rc.version {
            3 => (libc::tpacket_versions::TPACKET_V3, "PACKET_TX_RING (TPACKET_V3 TX rings need Linux 4.11 or later)"),
            _ => (libc::tpacket_versions::TPACKET_V2, "PACKET_TX_RING"),
        };
        socket.set_version(version)?;
        if rc.loss {
            socket.set_int_option(libc::SOL_PACKET, libc::PACKET_LOSS, 1, "PACKET_LOSS")?;
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
            // SAFETY: PACKET_TX_RING of a TPACKET_V3 socket reads a `struct tpacket_req3`.
            unsafe { socket.set_option(libc::SOL_PACKET, libc::PACKET_TX_RING, &req, op) }?;
        } else {
            let req = libc::tpacket_req {
                tp_block_size: rc.block_size,
                tp_block_nr: rc.block_count,
                tp_frame_size: rc.frame_size,
                tp_frame_nr: rc.frame_count,
            };
            // SAFETY: PACKET_TX_RING of a TPACKET_V2 socket reads a `struct tpacket_req`.
            unsafe { socket.set_option(libc::SOL_PACKET, libc::PACKET_TX_RING, &req, op) }?;
        }
        let map = Mapping::new(socket.as_fd(), rc.ring_bytes()).map_err(socket.err("mmap"))?;
        socket.set_nonblocking(false)?;
        Ok(TxRing::new(map, rc))
    }

    /// The interface's MTU, as read when the sender opened.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// The libpcap `LINKTYPE_*` of the frames the interface sends (from its hardware type,
    /// as for a capture); `None` for a hardware type libpcap captures in cooked mode only.
    pub fn link_type(&self) -> Option<u32> {
        self.link_type
    }

    /// Whether frames read as `frames` (a file's `LINKTYPE_*`) can be sent through this
    /// interface as they are: see [`check_link_type`].
    pub fn check_link_type(&self, frames: u32) -> Result<()> {
        check_link_type(self.socket.iface(), self.link_type, frames)
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

    #[test]
    fn link_type_messages() {
        check_link_type("veth-a", Some(1), 1).unwrap();
        check_link_type("tun0", Some(101), 228).unwrap();
        let e = check_link_type("veth-a", Some(1), 276).unwrap_err();
        assert!(matches!(e, Error::LinkType { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "frames of link type LINUX_SLL2 (276) cannot be sent through \"veth-a\", whose link type is EN10MB (1): \
             a Linux cooked capture's header was made up by the capturing socket and is not a frame header"
        );
        let e = check_link_type("veth-a", Some(1), 101).unwrap_err();
        assert!(e.to_string().contains("RAW (101) cannot be sent through \"veth-a\", whose link type is EN10MB (1): raw IP"), "{e}");
        let e = check_link_type("atm0", None, 1).unwrap_err();
        assert!(e.to_string().contains("whose hardware type has no link-layer header"), "{e}");
    }
}
