//! Capture options, their defaults, and the one step that validates them into a
//! [`RxConfig`] before any system call is made.

use crate::error::{Error, Result};
use crate::fanout::FanoutOptions;
use crate::filter::Filter;
use crate::sys::page_size;

/// `TPACKET_ALIGNMENT`: frame sizes and in-frame offsets are multiples of 16.
pub const TPACKET_ALIGNMENT: u32 = 16;
/// The largest snapshot length, as in libpcap (`MAXIMUM_SNAPLEN`); also the default.
pub const MAX_SNAPLEN: u32 = 262_144;
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
/// Largest ring (block size × block count) accepted: 4 GiB.
pub const MAX_RING_BYTES: u64 = 1 << 32;

/// Bytes before the link-layer header of a TPACKET_V2 frame, as the kernel lays it out
/// for a 14-byte Ethernet header: `TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14`.
pub const V2_MAC_OFFSET: u32 = align(libc::TPACKET2_HDRLEN as u32 + 16) - 14;
/// Bytes before the link-layer header of a TPACKET_V3 packet (same rule, V3 header).
pub const V3_MAC_OFFSET: u32 = align(libc::TPACKET3_HDRLEN as u32 + 16) - 14;
/// Bytes of the block descriptor before the first V3 packet (`offset_to_first_pkt`).
pub const V3_BLOCK_HEADER: u32 = align8(std::mem::size_of::<libc::tpacket_block_desc>() as u32);

const fn align(x: u32) -> u32 {
    (x + TPACKET_ALIGNMENT - 1) & !(TPACKET_ALIGNMENT - 1)
}

const fn align8(x: u32) -> u32 {
    (x + 7) & !7
}

/// How packets are read: through a PACKET_MMAP ring (`ring:`) or with recv() (`int:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Ring,
    Recv,
}

/// Options as a user gives them; `None` means "use the default".
#[derive(Debug, Clone, Default)]
pub struct RxOptions {
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
    V3 { block_size: u32, block_count: u32, frame_size: u32, block_timeout_ms: u32 },
    V2 { block_size: u32, block_count: u32, frame_size: u32, frame_count: u32 },
}

impl Geometry {
    pub fn block_size(&self) -> u32 {
        match *self {
            Geometry::V3 { block_size, .. } | Geometry::V2 { block_size, .. } => block_size,
        }
    }

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
    pub snaplen: u32,
    pub promiscuous: bool,
    pub ignore_outgoing: bool,
    pub netns: Option<String>,
    /// SO_RCVBUF for recv() captures; `None` keeps the kernel's default.
    pub buffer_size: Option<u32>,
    /// A raw program here has been checked; an expression is compiled at open.
    pub filter: Option<Filter>,
    pub fanout: Option<FanoutOptions>,
}

/// Smallest and largest accepted `bufferSize` (SO_RCVBUF takes an int).
pub const MIN_BUFFER_SIZE: u32 = 4096;
pub const MAX_BUFFER_SIZE: u32 = i32::MAX as u32 / 2;

fn range(msg: String) -> Error {
    Error::Range(msg)
}

fn check_page_multiple(name: &str, value: u32, page: u32) -> Result<()> {
    if value == 0 || value % page != 0 {
        return Err(range(format!("{name} {value} must be a non-zero multiple of the page size {page}")));
    }
    Ok(())
}

fn check_frame_size(value: u32, min: u32, block_size: u32) -> Result<()> {
    if value % TPACKET_ALIGNMENT != 0 {
        return Err(range(format!("frameSize {value} must be a multiple of {TPACKET_ALIGNMENT}")));
    }
    if value < min {
        return Err(range(format!("frameSize {value} must be at least {min} (the frame header)")));
    }
    if value > block_size {
        return Err(range(format!("frameSize {value} must not exceed blockSize {block_size}")));
    }
    Ok(())
}

fn check_count(name: &str, value: u32) -> Result<()> {
    if value == 0 {
        return Err(range(format!("{name} {value} must be at least 1")));
    }
    Ok(())
}

fn check_ring_bytes(block_size: u32, block_count: u32) -> Result<()> {
    let total = block_size as u64 * block_count as u64;
    if total > MAX_RING_BYTES {
        return Err(range(format!(
            "ring of {block_count} blocks of {block_size} bytes is {total} bytes; the most is {MAX_RING_BYTES}"
        )));
    }
    Ok(())
}

fn reject_for(name: &str, set: bool, applies_to: &str) -> Result<()> {
    if set {
        return Err(Error::Type(format!("option {name} applies to {applies_to}")));
    }
    Ok(())
}

impl RxOptions {
    /// Checks every option and fills in the defaults. Makes no system call except
    /// `sysconf(_SC_PAGESIZE)`.
    pub fn validate(&self) -> Result<RxConfig> {
        self.validate_with_page_size(page_size() as u32)
    }

    pub fn validate_with_page_size(&self, page: u32) -> Result<RxConfig> {
        if let Some(snaplen) = self.snaplen {
            if !(1..=MAX_SNAPLEN).contains(&snaplen) {
                return Err(range(format!("snaplen {snaplen} must be from 1 to {MAX_SNAPLEN}")));
            }
        }
        if let Some(ns) = &self.netns {
            if ns.is_empty() || ns.contains('\0') {
                return Err(Error::Type(format!("netns {ns:?} must be a namespace name or a path")));
            }
        }
        if let Some(filter) = &self.filter {
            filter.validate()?;
        }
        if let Some(fanout) = &self.fanout {
            fanout.validate()?;
        }
        let geometry = match self.method {
            Method::Recv => {
                let ring_only = [
                    ("version", self.version.is_some()),
                    ("blockSize", self.block_size.is_some()),
                    ("blockCount", self.block_count.is_some()),
                    ("frameSize", self.frame_size.is_some()),
                    ("frameCount", self.frame_count.is_some()),
                    ("blockTimeout", self.block_timeout_ms.is_some()),
                    ("zeroCopy", self.zero_copy),
                ];
                for (name, set) in ring_only {
                    reject_for(name, set, "ring: captures (PACKET_MMAP) only, not int:")?;
                }
                if let Some(size) = self.buffer_size {
                    if !(MIN_BUFFER_SIZE..=MAX_BUFFER_SIZE).contains(&size) {
                        return Err(range(format!(
                            "bufferSize {size} must be from {MIN_BUFFER_SIZE} to {MAX_BUFFER_SIZE} bytes"
                        )));
                    }
                }
                None
            }
            Method::Ring => Some(match self.version.unwrap_or(3) {
                _ if self.buffer_size.is_some() => {
                    return Err(Error::Type(
                        "option bufferSize applies to int: captures only; a ring's size is blockSize × blockCount"
                            .into(),
                    ))
                }
                3 => self.v3_geometry(page)?,
                2 => self.v2_geometry(page)?,
                v => return Err(range(format!("version {v} must be 2 (TPACKET_V2) or 3 (TPACKET_V3)"))),
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
        reject_for("frameCount", self.frame_count.is_some(), "TPACKET_V2 rings (version 2) only")?;
        let block_size = self.block_size.unwrap_or(DEFAULT_V3_BLOCK_SIZE);
        check_page_multiple("blockSize", block_size, page)?;
        let block_count = self.block_count.unwrap_or(DEFAULT_V3_BLOCK_COUNT);
        check_count("blockCount", block_count)?;
        check_ring_bytes(block_size, block_count)?;
        let frame_size = self.frame_size.unwrap_or(DEFAULT_V3_FRAME_SIZE.min(block_size));
        check_frame_size(frame_size, align(libc::TPACKET3_HDRLEN as u32), block_size)?;
        let block_timeout_ms = self.block_timeout_ms.unwrap_or(DEFAULT_BLOCK_TIMEOUT_MS);
        if !(1..=MAX_BLOCK_TIMEOUT_MS).contains(&block_timeout_ms) {
            return Err(range(format!(
                "blockTimeout {block_timeout_ms} must be from 1 to {MAX_BLOCK_TIMEOUT_MS} milliseconds"
            )));
        }
        if let Some(snaplen) = self.snaplen {
            let room = block_size - V3_BLOCK_HEADER - V3_MAC_OFFSET;
            if snaplen > room {
                return Err(range(format!(
                    "snaplen {snaplen} does not fit in a block of {block_size} bytes: at most {room} \
                     (blockSize - {V3_BLOCK_HEADER} block header - {V3_MAC_OFFSET} packet header)"
                )));
            }
        }
        Ok(Geometry::V3 { block_size, block_count, frame_size, block_timeout_ms })
    }

    fn v2_geometry(&self, page: u32) -> Result<Geometry> {
        reject_for("blockTimeout", self.block_timeout_ms.is_some(), "TPACKET_V3 rings (version 3) only")?;
        let frame_size = match (self.frame_size, self.snaplen) {
            (Some(f), _) => f,
            (None, Some(snaplen)) => align(V2_MAC_OFFSET + snaplen),
            (None, None) => DEFAULT_V2_FRAME_SIZE,
        };
        // The block holds whole frames; by default the smallest page multiple that holds one.
        let block_size = self.block_size.unwrap_or_else(|| frame_size.div_ceil(page).max(1) * page);
        check_page_multiple("blockSize", block_size, page)?;
        check_frame_size(frame_size, align(libc::TPACKET2_HDRLEN as u32), block_size)?;
        if let Some(snaplen) = self.snaplen {
            if V2_MAC_OFFSET + snaplen > frame_size {
                return Err(range(format!(
                    "frameSize {frame_size} is too small for snaplen {snaplen}: it needs at least {} \
                     ({V2_MAC_OFFSET} bytes of frame header + snaplen)",
                    V2_MAC_OFFSET + snaplen
                )));
            }
        }
        let mut per_block = block_size / frame_size;
        let mut frame_size = frame_size;
        if let (None, None, None) = (self.frame_size, self.block_size, self.block_count) {
            let count = self.frame_count.unwrap_or(DEFAULT_V2_FRAME_COUNT);
            // A derived frame size may be widened so that a page-sized block holds a number
            // of frames that divides the requested frame count ("a ring of 128 frames").
            if let Some(d) = (1..=per_block).rev().find(|&d| count % d == 0 && block_size / ((block_size / d) & !15) == d) {
                per_block = d;
                frame_size = frame_size.max((block_size / d) & !15);
            }
        }
        let (block_count, frame_count) = match (self.block_count, self.frame_count) {
            (Some(b), Some(f)) => {
                check_count("blockCount", b)?;
                if b as u64 * per_block as u64 != f as u64 {
                    return Err(range(format!(
                        "frameCount {f} must equal blockCount {b} × {per_block} frames per block \
                         (blockSize {block_size} / frameSize {frame_size})"
                    )));
                }
                (b, f)
            }
            (Some(b), None) => {
                check_count("blockCount", b)?;
                let f = b.checked_mul(per_block).ok_or_else(|| range(format!("blockCount {b} is too large")))?;
                (b, f)
            }
            (None, f) => {
                let f = f.unwrap_or(DEFAULT_V2_FRAME_COUNT);
                check_count("frameCount", f)?;
                if f % per_block != 0 {
                    return Err(range(format!(
                        "frameCount {f} must be a multiple of the {per_block} frames per block \
                         (blockSize {block_size} / frameSize {frame_size})"
                    )));
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
    fn kernel_layout_constants() {
        // Checked against the kernel's tpacket_rcv(): netoff = TPACKET_ALIGN(hdrlen + 16), macoff = netoff - 14.
        assert_eq!(libc::TPACKET2_HDRLEN, 52);
        assert_eq!(V2_MAC_OFFSET, 66);
        assert_eq!(libc::TPACKET3_HDRLEN, 68);
        assert_eq!(V3_MAC_OFFSET, 82);
        assert_eq!(V3_BLOCK_HEADER, 48);
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
            (ring(|o| o.block_size = Some(5000)), "blockSize 5000 must be a non-zero multiple of the page size 4096"),
            (ring(|o| o.block_size = Some(0)), "blockSize 0 must be a non-zero multiple of the page size 4096"),
            (ring(|o| o.block_count = Some(0)), "blockCount 0 must be at least 1"),
            (ring(|o| o.frame_size = Some(100)), "frameSize 100 must be a multiple of 16"),
            (ring(|o| o.frame_size = Some(32)), "frameSize 32 must be at least 80 (the frame header)"),
            (
                ring(|o| {
                    o.block_size = Some(4096);
                    o.frame_size = Some(8192);
                }),
                "frameSize 8192 must not exceed blockSize 4096",
            ),
            (ring(|o| o.version = Some(1)), "version 1 must be 2 (TPACKET_V2) or 3 (TPACKET_V3)"),
            (ring(|o| o.snaplen = Some(0)), "snaplen 0 must be from 1 to 262144"),
            (ring(|o| o.snaplen = Some(300_000)), "snaplen 300000 must be from 1 to 262144"),
            (ring(|o| o.block_timeout_ms = Some(0)), "blockTimeout 0 must be from 1 to 60000 milliseconds"),
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
                "frameSize 1024 is too small for snaplen 1000: it needs at least 1066",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.frame_size = Some(2048);
                    o.frame_count = Some(3);
                }),
                "frameCount 3 must be a multiple of the 2 frames per block (blockSize 4096 / frameSize 2048)",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.block_count = Some(4);
                    o.frame_count = Some(4);
                }),
                "frameCount 4 must equal blockCount 4 × 2 frames per block",
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
            assert!(matches!(err, Error::Range(_)), "{want}: {err:?}");
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
                "option blockSize applies to ring: captures (PACKET_MMAP) only, not int:",
            ),
            (
                ring(|o| {
                    o.version = Some(2);
                    o.block_timeout_ms = Some(5);
                }),
                "option blockTimeout applies to TPACKET_V3 rings (version 3) only",
            ),
            (ring(|o| o.frame_count = Some(8)), "option frameCount applies to TPACKET_V2 rings (version 2) only"),
            (ring(|o| o.netns = Some(String::new())), "netns \"\" must be a namespace name or a path"),
        ];
        for (opts, want) in cases {
            let err = opts.validate_with_page_size(PAGE).expect_err(want);
            assert!(matches!(err, Error::Type(_)), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
        }
    }
}
