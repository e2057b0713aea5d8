//! Capture options as JavaScript passes them, and their conversion to the core's.
//! The doc comments here become the documentation of `CaptureOptions` in the `.d.ts`.

use napi::Either;
use napi_derive::napi;
use netring_core::{Method, RxOptions, TxMethod};

use crate::error::JsError;
use crate::filter::{filter, BpfInstruction, FanoutOptions};

/// Options of a capture (`openRing`, `open("ring:…")`, `open("int:…")`).
/// Geometry options apply to `ring:` captures only; `bufferSize` to `int:` only.
#[napi(object)]
#[derive(Default)]
pub struct CaptureOptions {
    /// TPACKET version of the ring: `3` (default: variable-size packets packed into blocks)
    /// or `2` (one fixed-size frame per packet, so a ring of N frames can be asked for).
    pub version: Option<f64>,
    /// `tp_block_size`: bytes per ring block, a multiple of the page size.
    /// Default 1048576 (1 MiB) for version 3; for version 2 the smallest page multiple
    /// that holds whole frames.
    pub block_size: Option<f64>,
    /// `tp_block_nr`: blocks in the ring. Default 32 for version 3; for version 2 it
    /// follows from `frameCount`.
    pub block_count: Option<f64>,
    /// `tp_frame_size`: bytes per frame, a multiple of 16. Default 2048. For version 2 it
    /// bounds the bytes kept per packet (frame size − 66 bytes of headers).
    pub frame_size: Option<f64>,
    /// `tp_frame_nr` (version 2 only): frames in the ring. Default 4096.
    pub frame_count: Option<f64>,
    /// `tp_retire_blk_tov` (version 3 only): milliseconds after which a block that is not
    /// full is handed over anyway, 1 to 60000. Default 10.
    pub block_timeout: Option<f64>,
    /// Bytes kept of each packet, 1 to 262144; `length` still reports the wire length.
    /// Default 262144 (whole packets), or what a version 2 frame holds.
    pub snaplen: Option<f64>,
    /// Put the interface in promiscuous mode (PACKET_MR_PROMISC) while open. Default false.
    pub promiscuous: Option<bool>,
    /// Skip packets this host sends (PACKET_IGNORE_OUTGOING). Default false.
    pub ignore_outgoing: Option<bool>,
    /// Open the socket inside this network namespace: a name under /run/netns (as
    /// `ip netns` makes them) or a path. Needs CAP_SYS_ADMIN. Default: the caller's.
    pub netns: Option<String>,
    /// `int:` only: the socket receive buffer (SO_RCVBUF) in bytes, 4096 to 1073741823.
    /// Default: the kernel's (net.core.rmem_default).
    pub buffer_size: Option<f64>,
    /// Keep only the packets this classic BPF filter accepts: a tcpdump expression
    /// (`'udp port 53'`, compiled by libpcap, which must then be installed: Debian package
    /// `libpcap0.8`), or a raw program as `tcpdump -dd` prints it (no libpcap needed).
    /// Attached before the socket is bound, so no packet gets in unfiltered. Packets it
    /// rejects count in neither `received` nor `dropped`. Expressions are compiled for
    /// Ethernet frames as on the wire, but Linux takes VLAN tags off before filters run:
    /// `vlan …` matches nothing and `udp` also matches tagged UDP; a raw program sees the
    /// tag through the ancillary loads SKF_AD_VLAN_TAG_PRESENT and SKF_AD_VLAN_TAG
    /// (`k` 0xfffff030 and 0xfffff02c). Default: none.
    pub filter: Option<Either<String, Vec<BpfInstruction>>>,
    /// Join a PACKET_FANOUT group, which shares the interface's packets among its
    /// members (see `openFanout()` for one member per worker thread). With
    /// `ignoreOutgoing`, the group is joined with PACKET_FANOUT_FLAG_IGNORE_OUTGOING
    /// (members receive through the group, so that is where it must be said), and every
    /// member must say the same. Default: none.
    pub fanout: Option<FanoutOptions>,
    /// `ring:` only: read packets in place from the ring instead of copying them out.
    /// A packet's `data` is then valid only until the iteration moves past its batch
    /// (use it in the loop body that received it, or keep `packet.copy()`); reading it
    /// later throws `ERR_NETRING_RELEASED`, and a `data` Buffer kept from before shows
    /// whatever the kernel wrote since. The batch's ring slots stay out of the kernel's
    /// reach until then, so a small TPACKET_V2 ring fills sooner. Default false.
    pub zero_copy: Option<bool>,
}

/// An option given as a JavaScript number, as a u32.
pub fn integer(name: &str, value: Option<f64>) -> Result<Option<u32>, JsError> {
    match value {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) => Ok(Some(v as u32)),
        Some(v) => Err(JsError::range(format!("{name} {v} must be an integer from 0 to {}", u32::MAX))),
    }
}

pub fn method(scheme: &str) -> Result<Method, JsError> {
    match scheme {
        "ring" => Ok(Method::Ring),
        "int" => Ok(Method::Recv),
        other => Err(JsError::type_error(format!("unknown capture method {other:?}; known: \"ring\", \"int\""))),
    }
}

impl CaptureOptions {
    pub fn to_core(&self, method: Method) -> Result<RxOptions, JsError> {
        Ok(RxOptions {
            method,
            version: integer("version", self.version)?,
            block_size: integer("blockSize", self.block_size)?,
            block_count: integer("blockCount", self.block_count)?,
            frame_size: integer("frameSize", self.frame_size)?,
            frame_count: integer("frameCount", self.frame_count)?,
            block_timeout_ms: integer("blockTimeout", self.block_timeout)?,
            snaplen: integer("snaplen", self.snaplen)?,
            promiscuous: self.promiscuous.unwrap_or(false),
            ignore_outgoing: self.ignore_outgoing.unwrap_or(false),
            netns: self.netns.clone(),
            buffer_size: integer("bufferSize", self.buffer_size)?,
            filter: self.filter.as_ref().map(filter).transpose()?,
            fanout: self.fanout.as_ref().map(FanoutOptions::to_core).transpose()?,
            zero_copy: self.zero_copy.unwrap_or(false),
        })
    }
}

/// Options of a sender (`openTx`). `version`, `frameSize`, `frameCount`, `loss` and
/// `framesPerKick` apply to `ring:` senders only.
#[napi(object)]
#[derive(Default)]
pub struct TxOptions {
    /// TPACKET version of the TX ring: `2` (default) or `3` (Linux 4.11 or later).
    pub version: Option<f64>,
    /// `tp_frame_size`: bytes per TX slot, header included, a multiple of 16. Default 2048.
    pub frame_size: Option<f64>,
    /// `tp_frame_nr`: slots in the TX ring. Default 1024.
    pub frame_count: Option<f64>,
    /// PACKET_QDISC_BYPASS: hand frames straight to the driver, skipping qdiscs (and the
    /// taps that let other captures on this host see them). Default false.
    pub qdisc_bypass: Option<bool>,
    /// PACKET_LOSS: the kernel skips a slot it cannot send instead of stopping there;
    /// skipped frames then count as sent. Default false.
    pub loss: Option<bool>,
    /// Frames queued before the ring is kicked without waiting. Default 64. Frames
    /// queued in between are kicked on the next turn of the event loop anyway.
    pub frames_per_kick: Option<f64>,
    /// Open the socket inside this network namespace (a name under /run/netns, or a
    /// path). Needs CAP_SYS_ADMIN. Default: the caller's.
    pub netns: Option<String>,
}

pub fn tx_method(scheme: &str) -> Result<TxMethod, JsError> {
    match scheme {
        "ring" => Ok(TxMethod::Ring),
        "int" => Ok(TxMethod::Send),
        other => Err(JsError::type_error(format!("unknown send method {other:?}; known: \"ring\", \"int\""))),
    }
}

impl TxOptions {
    pub fn to_core(&self, method: TxMethod) -> Result<netring_core::TxOptions, JsError> {
        Ok(netring_core::TxOptions {
            method,
            version: integer("version", self.version)?,
            frame_size: integer("frameSize", self.frame_size)?,
            frame_count: integer("frameCount", self.frame_count)?,
            qdisc_bypass: self.qdisc_bypass.unwrap_or(false),
            loss: self.loss.unwrap_or(false),
            frames_per_kick: integer("framesPerKick", self.frames_per_kick)?,
            netns: self.netns.clone(),
        })
    }
}
