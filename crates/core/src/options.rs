//! Capture options, their defaults, and the one step that validates them into a
//! [`RxConfig`] before any system call is made.

use crate::abi::{tpacket_align, MAX_RING_BYTES, MAX_SNAPLEN, V2_MAC_OFFSET, V3_BLOCK_HEADER, V3_MAC_OFFSET};
use crate::bpf::Filter;
use crate::error::{text, MethodName, OptionName, Problem, Result};
use crate::fanout::FanoutOptions;
use crate::sys::page_size;
use crate::validate::{
    check_aligned, check_count, check_netns, check_version, option_error, out_of_range, reject_set, widen_to_divide,
};
use OptionName::*;

/// Default `tp_block_size` of a TPACKET_V3 ring: 1 MiB blocks.
pub const DEFAULT_V3_BLOCK_SIZE: u32 = 1 << 20;
/// Default `tp_block_nr` of a TPACKET_V3 ring: 32 blocks, 32 MiB in all.
pub const DEFAULT_V3_BLOCK_COUNT: u32 = 32;
/// Default `tp_frame_size` of a TPACKET_V3 ring. V3 packets are packed into blocks by
/// their real size; the kernel only uses the frame size to derive `tp_frame_nr`.
pub const DEFAULT_V3_FRAME_SIZE: u32 = 2048;
/// Default `tp_retire_blk_tov`: a V3 block that is not full is handed over after 10 ms.
pub const DEFAULT_BLOCK_TIMEOUT_MS: u32 = 10;
/// Largest accepted `tp_retire_blk_tov`, in milliseconds.
pub const MAX_BLOCK_TIMEOUT_MS: u32 = 60_000;
/// Default `tp_frame_size` of a TPACKET_V2 ring: room for a 1518-byte frame, a VLAN tag
/// and the headers.
pub const DEFAULT_V2_FRAME_SIZE: u32 = 2048;
/// Default `tp_frame_nr` of a TPACKET_V2 ring: 4096 frames (8 MiB with 2048-byte frames).
pub const DEFAULT_V2_FRAME_COUNT: u32 = 4096;
/// How packets are read: through a PACKET_MMAP ring (`ring:`) or with recv() (`int:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// A PACKET_MMAP RX ring (PACKET_RX_RING).
    #[default]
    Ring,
    /// One recvmsg() per packet on a plain AF_PACKET socket.
    Recv,
}

/// Options as a user gives them; `None` means "use the default".
#[derive(Debug, Clone, Default)]
pub struct RxOptions {
    /// Ring or recv(). Default: ring.
    pub method: Method,
    /// TPACKET version of the ring: 3 (default, variable-size packets in blocks) or 2 (fixed frames).
    pub version: Option<u32>,
    /// `tp_block_size`: bytes per block, a multiple of the page size.
    pub block_size: Option<u32>,
    /// `tp_block_nr`: blocks in the ring.
    pub block_count: Option<u32>,
    /// `tp_frame_size`: bytes per frame, a multiple of 16.
    pub frame_size: Option<u32>,
    /// `tp_frame_nr`: frames in the ring (TPACKET_V2 only).
    pub frame_count: Option<u32>,
    /// `tp_retire_blk_tov` in milliseconds (TPACKET_V3 only).
    pub block_timeout_ms: Option<u32>,
    /// Bytes kept of each packet; the wire length is still reported.
    pub snaplen: Option<u32>,
    /// Put the interface in promiscuous mode (PACKET_MR_PROMISC) while the socket is open.
    pub promiscuous: bool,
    /// Do not capture packets this host sends (PACKET_IGNORE_OUTGOING).
    pub ignore_outgoing: bool,
    /// Open the socket inside this network namespace: a name under /run/netns or a path.
    pub netns: Option<String>,
    /// SO_RCVBUF of a recv() capture, in bytes (the kernel doubles it for bookkeeping).
    pub buffer_size: Option<u32>,
    /// A classic BPF filter (SO_ATTACH_FILTER), attached before any packet is let in.
    pub filter: Option<Filter>,
    /// Join a PACKET_FANOUT group after bind().
    pub fanout: Option<FanoutOptions>,
    /// The caller will read packets in place ([`crate::Capture::lend`]) rather than
    /// copied out ([`crate::Capture::read`]). Only checked here, with the other ring-only
    /// options: recv() has nothing to lend.
    pub zero_copy: bool,
}

/// The layout of a PACKET_MMAP ring, as passed to PACKET_RX_RING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geometry {
    /// TPACKET_V3: packets packed into blocks by their real size.
    V3 {
        /// `tp_block_size`.
        block_size: u32,
        /// `tp_block_nr`.
        block_count: u32,
        /// `tp_frame_size` (the kernel derives `tp_frame_nr` from it).
        frame_size: u32,
        /// `tp_retire_blk_tov`, in milliseconds.
        block_timeout_ms: u32,
    },
    /// TPACKET_V2: one fixed-size frame per packet.
    V2 {
        /// `tp_block_size`.
        block_size: u32,
        /// `tp_block_nr`.
        block_count: u32,
        /// `tp_frame_size`.
        frame_size: u32,
        /// `tp_frame_nr`.
        frame_count: u32,
    },
}

impl Geometry {
    /// `tp_block_size`.
    pub fn block_size(&self) -> u32 {
        match *self {
            Geometry::V3 { block_size, .. } | Geometry::V2 { block_size, .. } => block_size,
        }
    }

    /// `tp_block_nr`.
    pub fn block_count(&self) -> u32 {
        match *self {
            Geometry::V3 { block_count, .. } | Geometry::V2 { block_count, .. } => block_count,
        }
    }

    /// Bytes mapped for the ring.
    pub fn ring_bytes(&self) -> usize {
        self.block_size() as usize * self.block_count() as usize
    }
}

/// Validated options: everything needed to open a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxConfig {
    /// `None` for recv() captures.
    pub geometry: Option<Geometry>,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// PACKET_MR_PROMISC while open.
    pub promiscuous: bool,
    /// PACKET_IGNORE_OUTGOING.
    pub ignore_outgoing: bool,
    /// The network namespace to open the socket in.
    pub netns: Option<String>,
    /// SO_RCVBUF for recv() captures; `None` keeps the kernel's default.
    pub buffer_size: Option<u32>,
    /// A raw program here has been checked; an expression is compiled at open.
    pub filter: Option<Filter>,
    /// The PACKET_FANOUT group to join, checked.
    pub fanout: Option<FanoutOptions>,
}

/// Smallest accepted `buffer_size` (SO_RCVBUF).
pub const MIN_BUFFER_SIZE: u32 = 4096;
/// Largest accepted `buffer_size`: SO_RCVBUF takes an int, which the kernel doubles.
pub const MAX_BUFFER_SIZE: u32 = i32::MAX as u32 / 2;

fn check_page_multiple(value: u32, page: u32) -> Result<()> {
    if value == 0 || value % page != 0 {
        return Err(out_of_range(
            BlockSize,
            text![BlockSize, format!(" {value} must be a non-zero multiple of the page size {page}")],
        ));
    }
    Ok(())
}

fn check_frame_size(value: u32, min: u32, block_size: u32) -> Result<()> {
    check_aligned(value)?;
    if value < min {
        return Err(out_of_range(FrameSize, text![FrameSize, format!(" {value} must be at least {min} (the frame header)")]));
    }
    if value > block_size {
        return Err(out_of_range(
            FrameSize,
            text![FrameSize, format!(" {value} must not exceed "), BlockSize, format!(" {block_size}")],
        ));
    }
    Ok(())
}

fn check_ring_bytes(block_size: u32, block_count: u32) -> Result<()> {
    let total = block_size as u64 * block_count as u64;
    if total > MAX_RING_BYTES {
        return Err(out_of_range(
            BlockCount,
            text![format!(
                "ring of {block_count} blocks of {block_size} bytes is {total} bytes; the most is {MAX_RING_BYTES}"
            )],
        ));
    }
    Ok(())
}


impl RxOptions {
    /// Checks every option and fills in the defaults. Makes no system call except
    /// `sysconf(_SC_PAGESIZE)`.
    pub fn validate(&self) -> Result<RxConfig> {
        self.validate_with_page_size(page_size() as u32)
    }

    /// [`RxOptions::validate`] for a system whose page size is `page`.
    pub fn validate_with_page_size(&self, page: u32) -> Result<RxConfig> {
        if let Some(snaplen) = self.snaplen {
            if !(1..=MAX_SNAPLEN).contains(&snaplen) {
                return Err(out_of_range(Snaplen, text![Snaplen, format!(" {snaplen} must be from 1 to {MAX_SNAPLEN}")]));
            }
        }
        check_netns(self.netns.as_deref())?;
        if let Some(filter) = &self.filter {
            filter.validate()?;
        }
        if let Some(fanout) = &self.fanout {
            fanout.validate()?;
        }
        let geometry = match self.method {
            Method::Recv => {
                reject_set(
                    &[
                        (Version, self.version.is_some()),
                        (BlockSize, self.block_size.is_some()),
                        (BlockCount, self.block_count.is_some()),
                        (FrameSize, self.frame_size.is_some()),
                        (FrameCount, self.frame_count.is_some()),
                        (BlockTimeoutMs, self.block_timeout_ms.is_some()),
                        (ZeroCopy, self.zero_copy),
                    ],
                    text![MethodName::RxRing, " captures (PACKET_MMAP) only, not ", MethodName::RxRecv],
                )?;
                if let Some(size) = self.buffer_size {
                    if !(MIN_BUFFER_SIZE..=MAX_BUFFER_SIZE).contains(&size) {
                        return Err(out_of_range(
                            BufferSize,
                            text![BufferSize, format!(" {size} must be from {MIN_BUFFER_SIZE} to {MAX_BUFFER_SIZE} bytes")],
                        ));
                    }
                }
                None
            }
            Method::Ring => Some(match self.version.unwrap_or(3) {
                _ if self.buffer_size.is_some() => {
                    return Err(option_error(
                        BufferSize,
                        Problem::NotApplicable,
                        text![
                            "option ",
                            BufferSize,
                            " applies to ",
                            MethodName::RxRecv,
                            " captures only; a ring's size is ",
                            BlockSize,
                            " × ",
                            BlockCount
                        ],
                    ))
                }
                3 => self.v3_geometry(page)?,
                v => {
                    check_version(v)?;
                    self.v2_geometry(page)?
                }
            }),
        };
        let snaplen = match (self.snaplen, geometry) {
            (Some(s), _) => s,
            // V2 frames hold at most one frame's worth: that is the default snapshot.
            (None, Some(Geometry::V2 { frame_size, .. })) => (frame_size - V2_MAC_OFFSET).min(MAX_SNAPLEN),
            (None, _) => MAX_SNAPLEN,
        };
        Ok(RxConfig {
            geometry,
            snaplen,
            promiscuous: self.promiscuous,
            ignore_outgoing: self.ignore_outgoing,
            netns: self.netns.clone(),
            buffer_size: self.buffer_size,
            filter: self.filter.clone(),
            fanout: self.fanout,
        })
    }

    fn v3_geometry(&self, page: u32) -> Result<Geometry> {
        reject_set(&[(FrameCount, self.frame_count.is_some())], text!["TPACKET_V2 rings (version 2) only"])?;
        let block_size = self.block_size.unwrap_or(DEFAULT_V3_BLOCK_SIZE);
        check_page_multiple(block_size, page)?;
        let block_count = self.block_count.unwrap_or(DEFAULT_V3_BLOCK_COUNT);
        check_count(BlockCount, block_count)?;
        check_ring_bytes(block_size, block_count)?;
        let frame_size = self.frame_size.unwrap_or(DEFAULT_V3_FRAME_SIZE.min(block_size));
        check_frame_size(frame_size, tpacket_align(libc::TPACKET3_HDRLEN as u32), block_size)?;
        let block_timeout_ms = self.block_timeout_ms.unwrap_or(DEFAULT_BLOCK_TIMEOUT_MS);
        if !(1..=MAX_BLOCK_TIMEOUT_MS).contains(&block_timeout_ms) {
            return Err(out_of_range(
                BlockTimeoutMs,
                text![BlockTimeoutMs, format!(" {block_timeout_ms} must be from 1 to {MAX_BLOCK_TIMEOUT_MS} milliseconds")],
            ));
        }
        if let Some(snaplen) = self.snaplen {
            let room = block_size - V3_BLOCK_HEADER - V3_MAC_OFFSET;
            if snaplen > room {
                return Err(out_of_range(
                    Snaplen,
                    text![
                        Snaplen,
                        format!(" {snaplen} does not fit in a block of {block_size} bytes: at most {room} ("),
                        BlockSize,
                        format!(" - {V3_BLOCK_HEADER} block header - {V3_MAC_OFFSET} packet header)")
                    ],
                ));
            }
        }
        Ok(Geometry::V3 { block_size, block_count, frame_size, block_timeout_ms })
    }

    fn v2_geometry(&self, page: u32) -> Result<Geometry> {
        reject_set(&[(BlockTimeoutMs, self.block_timeout_ms.is_some())], text!["TPACKET_V3 rings (version 3) only"])?;
        let frame_size = match (self.frame_size, self.snaplen) {
            (Some(f), _) => f,
            (None, Some(snaplen)) => tpacket_align(V2_MAC_OFFSET + snaplen),
            (None, None) => DEFAULT_V2_FRAME_SIZE,
        };
        // The block holds whole frames; by default the smallest page multiple that holds one.
        let block_size = self.block_size.unwrap_or_else(|| frame_size.div_ceil(page).max(1) * page);
        check_page_multiple(block_size, page)?;
        check_frame_size(frame_size, tpacket_align(libc::TPACKET2_HDRLEN as u32), block_size)?;
        if let Some(snaplen) = self.snaplen {
            if V2_MAC_OFFSET + snaplen > frame_size {
                return Err(out_of_range(
                    FrameSize,
                    text![
                        FrameSize,
                        format!(" {frame_size} is too small for "),
                        Snaplen,
                        format!(
                            " {snaplen}: it needs at least {} ({V2_MAC_OFFSET} bytes of frame header + ",
                            V2_MAC_OFFSET + snaplen
                        ),
                        Snaplen,
                        ")"
                    ],
                ));
            }
        }
        let mut per_block = block_size / frame_size;
        let mut frame_size = frame_size;
        if let (None, None, None) = (self.frame_size, self.block_size, self.block_count) {
            let count = self.frame_count.unwrap_or(DEFAULT_V2_FRAME_COUNT);
            // A derived frame size may be widened so that a page-sized block holds a number
            // of frames that divides the requested frame count ("a ring of 128 frames").
            if let Some((d, widened)) = widen_to_divide(block_size, per_block, count) {
                per_block = d;
                frame_size = frame_size.max(widened);
            }
        }
        let per_block_rule = |rule: String| {
            text![
                format!("{rule} ("),
                BlockSize,
                format!(" {block_size} / "),
                FrameSize,
                format!(" {frame_size})")
            ]
        };
        let (block_count, frame_count) = match (self.block_count, self.frame_count) {
            (Some(b), Some(f)) => {
                check_count(BlockCount, b)?;
                if b as u64 * per_block as u64 != f as u64 {
                    let mut text = text![FrameCount, format!(" {f} must equal "), BlockCount];
                    text.0.extend(per_block_rule(format!(" {b} × {per_block} frames per block")).0);
                    return Err(out_of_range(FrameCount, text));
                }
                (b, f)
            }
            (Some(b), None) => {
                check_count(BlockCount, b)?;
                let f = b
                    .checked_mul(per_block)
                    .ok_or_else(|| out_of_range(BlockCount, text![BlockCount, format!(" {b} is too large")]))?;
                (b, f)
            }
            (None, f) => {
                let f = f.unwrap_or(DEFAULT_V2_FRAME_COUNT);
                check_count(FrameCount, f)?;
                if f % per_block != 0 {
                    let mut text = text![FrameCount];
                    text.0.extend(per_block_rule(format!(" {f} must be a multiple of the {per_block} frames per block")).0);
                    return Err(out_of_range(FrameCount, text));
                }
                (f / per_block, f)
            }
        };
        check_ring_bytes(block_size, block_count)?;
        Ok(Geometry::V2 { block_size, block_count, frame_size, frame_count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    const PAGE: u32 = 4096;

    fn ring(f: impl FnOnce(&mut RxOptions)) -> RxOptions {
        let mut o = RxOptions::default();
        f(&mut o);
        o
    }

    #[test]
    fn defaults() {
        let c = RxOptions::default().validate_with_page_size(PAGE).unwrap();
        assert_eq!(
            c.geometry,
            Some(Geometry::V3 {
                block_size: DEFAULT_V3_BLOCK_SIZE,
                block_count: DEFAULT_V3_BLOCK_COUNT,
                frame_size: DEFAULT_V3_FRAME_SIZE,
                block_timeout_ms: DEFAULT_BLOCK_TIMEOUT_MS,
            })
        );
        assert_eq!(c.snaplen, MAX_SNAPLEN);
        let v2 = ring(|o| o.version = Some(2)).validate_with_page_size(PAGE).unwrap();
        assert_eq!(
            v2.geometry,
            Some(Geometry::V2 { block_size: 4096, block_count: 2048, frame_size: 2048, frame_count: 4096 })
        );
        assert_eq!(v2.snaplen, 2048 - V2_MAC_OFFSET);
        let recv = ring(|o| o.method = Method::Recv).validate_with_page_size(PAGE).unwrap();
        assert_eq!(recv.geometry, None);
    }

    #[test]
    fn v2_ring_of_n_frames() {
        for n in [2u32, 4, 8, 16, 32, 64, 128, 256, 1024] {
            let c = ring(|o| {
                o.version = Some(2);
                o.frame_count = Some(n);
            })
            .validate_with_page_size(PAGE)
            .unwrap();
            assert_eq!(
                c.geometry,
                Some(Geometry::V2 { block_size: 4096, block_count: n / 2, frame_size: 2048, frame_count: n })
            );
        }
        let c = ring(|o| {
            o.version = Some(2);
            o.snaplen = Some(96);
            o.frame_count = Some(128);
        })
        .validate_with_page_size(PAGE)
        .unwrap();
        assert_eq!(
            c.geometry,
            Some(Geometry::V2 { block_size: 4096, block_count: 8, frame_size: 256, frame_count: 128 })
        );
        // The same with the default frame count.
        let c = ring(|o| {
            o.version = Some(2);
            o.snaplen = Some(64);
        })
        .validate_with_page_size(PAGE)
        .unwrap();
        assert_eq!(
            c.geometry,
            Some(Geometry::V2 { block_size: 4096, block_count: 256, frame_size: 256, frame_count: 4096 })
        );
        assert_eq!(c.snaplen, 64);
    }

    #[test]
    fn bad_geometry_names_value_and_rule() {
        let cases: Vec<(RxOptions, &str)> = vec![
            (ring(|o| o.block_size = Some(5000)), "block_size 5000 must be a non-zero multiple of the page size 4096"),
            (ring(|o| o.block_size = Some(0)), "block_size 0 must be a non-zero multiple of the page size 4096"),
            (ring(|o| o.block_count = Some(0)), "block_count 0 must be at least 1"),
            (ring(|o| o.frame_size = Some(100)), "frame_size 100 must be a multiple of 16"),
            (ring(|o| o.frame_size = Some(32)), "frame_size 32 must be at least 80 (the frame header)"),
            (
                ring(|o| {
                    o.block_size = Some(4096);
                    o.frame_size = Some(8192);
                }),
                "frame_size 8192 must not exceed block_size 4096",
            ),
            (ring(|o| o.version = Some(1)), "version 1 must be 2 (TPACKET_V2) or 3 (TPACKET_V3)"),
            (ring(|o| o.snaplen = Some(0)), "snaplen 0 must be from 1 to 262144"),
            (ring(|o| o.snaplen = Some(300_000)), "snaplen 300000 must be from 1 to 262144"),
            (ring(|o| o.block_timeout_ms = Some(0)), "block_timeout_ms 0 must be from 1 to 60000 milliseconds"),
            (
                ring(|o| {
                    o.block_size = Some(4096);
                    o.snaplen = Some(4000);
                }),
                "snaplen 4000 does not fit in a block of 4096 bytes: at most 3966",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.frame_size = Some(1024);
                    o.snaplen = Some(1000);
                }),
                "frame_size 1024 is too small for snaplen 1000: it needs at least 1066",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.frame_size = Some(2048);
                    o.frame_count = Some(3);
                }),
                "frame_count 3 must be a multiple of the 2 frames per block (block_size 4096 / frame_size 2048)",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.block_count = Some(4);
                    o.frame_count = Some(4);
                }),
                "frame_count 4 must equal block_count 4 × 2 frames per block",
            ),
            (
                ring(|o| {
                    o.block_size = Some(1 << 30);
                    o.block_count = Some(8);
                }),
                "ring of 8 blocks of 1073741824 bytes is 8589934592 bytes; the most is 4294967296",
            ),
        ];
        for (opts, want) in cases {
            let err = opts.validate_with_page_size(PAGE).expect_err(want);
            assert!(matches!(err, Error::Option { problem: Problem::OutOfRange, .. }), "{want}: {err:?}");
            assert!(err.to_string().starts_with(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn options_that_do_not_apply_are_type_errors() {
        let cases: Vec<(RxOptions, &str)> = vec![
            (
                ring(|o| {
                    o.method = Method::Recv;
                    o.block_size = Some(4096);
                }),
                "option block_size applies to Method::Ring captures (PACKET_MMAP) only, not Method::Recv",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.block_timeout_ms = Some(5);
                }),
                "option block_timeout_ms applies to TPACKET_V3 rings (version 3) only",
            ),
            (ring(|o| o.frame_count = Some(8)), "option frame_count applies to TPACKET_V2 rings (version 2) only"),
            (ring(|o| o.netns = Some(String::new())), "netns \"\" must be a namespace name or a path"),
        ];
        for (opts, want) in cases {
            let err = opts.validate_with_page_size(PAGE).expect_err(want);
            assert!(matches!(err, Error::Option { problem: Problem::NotApplicable | Problem::Invalid, .. }), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
        }
    }
}
