//! Sender options, their defaults, and the one step that validates them into a
//! [`TxConfig`] before any system call is made.

use crate::abi::{tpacket_align, MAX_RING_BYTES, V2_TX_DATA_OFFSET, V3_TX_DATA_OFFSET};
use crate::error::{text, MethodName, OptionName, Result};
use crate::sys::page_size;
use crate::validate::{
    check_aligned, check_count, check_netns, check_version, out_of_range, reject_set, widen_to_divide,
};
use OptionName::*;

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
    /// Ring or send(). Default: ring.
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
    /// Frames queued after which the ring is kicked without waiting.
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

/// Validated sender options: everything needed to open a [`crate::Sender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxConfig {
    /// `None` for send() senders.
    pub ring: Option<TxRingConfig>,
    /// PACKET_QDISC_BYPASS.
    pub qdisc_bypass: bool,
    /// The network namespace to open the socket in.
    pub netns: Option<String>,
}

pub(crate) fn data_offset(version: u32) -> u32 {
    if version == 3 {
        V3_TX_DATA_OFFSET
    } else {
        V2_TX_DATA_OFFSET
    }
}

impl TxOptions {
    /// Checks every option and fills in the defaults. Makes no system call except
    /// `sysconf(_SC_PAGESIZE)`.
    pub fn validate(&self) -> Result<TxConfig> {
        self.validate_with_page_size(page_size() as u32)
    }

    /// [`TxOptions::validate`] for a system whose page size is `page`.
    pub fn validate_with_page_size(&self, page: u32) -> Result<TxConfig> {
        check_netns(self.netns.as_deref())?;
        let ring = match self.method {
            TxMethod::Send => {
                reject_set(
                    &[
                        (Version, self.version.is_some()),
                        (FrameSize, self.frame_size.is_some()),
                        (FrameCount, self.frame_count.is_some()),
                        (Loss, self.loss),
                        (FramesPerKick, self.frames_per_kick.is_some()),
                    ],
                    text![MethodName::TxRing, " senders only (PACKET_TX_RING), not ", MethodName::TxSend],
                )?;
                None
            }
            TxMethod::Ring => Some(self.ring_config(page)?),
        };
        Ok(TxConfig { ring, qdisc_bypass: self.qdisc_bypass, netns: self.netns.clone() })
    }

    fn ring_config(&self, page: u32) -> Result<TxRingConfig> {
        let version = self.version.unwrap_or(2);
        check_version(version)?;
        let header = data_offset(version);
        let mut frame_size = self.frame_size.unwrap_or(DEFAULT_TX_FRAME_SIZE);
        check_aligned(frame_size)?;
        let min = tpacket_align(header + MIN_TX_SLOT_CAPACITY);
        if frame_size < min {
            return Err(out_of_range(
                FrameSize,
                text![
                    FrameSize,
                    format!(
                        " {frame_size} must be at least {min} ({header} bytes of TPACKET_V{version} slot \
                         header + a {MIN_TX_SLOT_CAPACITY}-byte frame)"
                    )
                ],
            ));
        }
        if frame_size > MAX_TX_FRAME_SIZE {
            return Err(out_of_range(FrameSize, text![FrameSize, format!(" {frame_size} must be at most {MAX_TX_FRAME_SIZE}")]));
        }
        let frame_count = self.frame_count.unwrap_or(DEFAULT_TX_FRAME_COUNT);
        check_count(FrameCount, frame_count)?;
        // The block holds whole slots: the smallest page multiple that holds one.
        let block_size = frame_size.div_ceil(page) * page;
        let mut per_block = block_size / frame_size;
        if frame_count % per_block != 0 {
            if self.frame_size.is_some() {
                return Err(out_of_range(
                    FrameCount,
                    text![
                        FrameCount,
                        format!(" {frame_count} must be a multiple of the {per_block} frames per block ("),
                        FrameSize,
                        format!(" {frame_size} in blocks of {block_size} bytes, the smallest page multiple)")
                    ],
                ));
            }
            // A default slot size may be widened so that a block holds a number of slots
            // that divides the requested count (d = 1 always does: one slot per block).
            if let Some((d, widened)) = widen_to_divide(block_size, per_block, frame_count) {
                per_block = d;
                frame_size = frame_size.max(widened);
            }
        }
        let block_count = frame_count / per_block;
        let total = block_size as u64 * block_count as u64;
        if total > MAX_RING_BYTES {
            return Err(out_of_range(
                FrameCount,
                text![format!(
                    "ring of {frame_count} frames of {frame_size} bytes is {total} bytes; the most is {MAX_RING_BYTES}"
                )],
            ));
        }
        let frames_per_kick = self.frames_per_kick.unwrap_or(DEFAULT_FRAMES_PER_KICK.min(frame_count));
        if !(1..=frame_count).contains(&frames_per_kick) {
            return Err(out_of_range(
                FramesPerKick,
                text![FramesPerKick, format!(" {frames_per_kick} must be from 1 to {frame_count} ("), FrameCount, ")"],
            ));
        }
        Ok(TxRingConfig { version, block_size, block_count, frame_size, frame_count, loss: self.loss, frames_per_kick })
    }
}

/// Options and ring configurations for the TX tests (4096-byte pages).
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The page size of the tests.
    pub const PAGE: u32 = 4096;

    /// Default options changed by `f`.
    pub fn opts(f: impl FnOnce(&mut TxOptions)) -> TxOptions {
        let mut o = TxOptions::default();
        f(&mut o);
        o
    }

    /// The ring configuration `o` validates to.
    pub fn ring(o: TxOptions) -> TxRingConfig {
        o.validate_with_page_size(PAGE).unwrap().ring.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::error::{Error, Problem};

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
            (opts(|o| o.frame_size = Some(100)), "frame_size 100 must be a multiple of 16"),
            (
                opts(|o| o.frame_size = Some(80)),
                "frame_size 80 must be at least 96 (32 bytes of TPACKET_V2 slot header + a 64-byte frame)",
            ),
            (
                opts(|o| {
                    o.version = Some(3);
                    o.frame_size = Some(96);
                }),
                "frame_size 96 must be at least 112 (48 bytes of TPACKET_V3 slot header + a 64-byte frame)",
            ),
            (opts(|o| o.frame_size = Some(1 << 18)), "frame_size 262144 must be at most 131072"),
            (opts(|o| o.frame_count = Some(0)), "frame_count 0 must be at least 1"),
            (
                opts(|o| {
                    o.frame_size = Some(2048);
                    o.frame_count = Some(3);
                }),
                "frame_count 3 must be a multiple of the 2 frames per block \
                 (frame_size 2048 in blocks of 4096 bytes, the smallest page multiple)",
            ),
            (opts(|o| o.frames_per_kick = Some(0)), "frames_per_kick 0 must be from 1 to 1024 (frame_count)"),
            (
                opts(|o| {
                    o.frame_count = Some(16);
                    o.frames_per_kick = Some(17);
                }),
                "frames_per_kick 17 must be from 1 to 16 (frame_count)",
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
            assert!(matches!(err, Error::Option { problem: Problem::OutOfRange, .. }), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
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
            (send(|o| o.version = Some(2)), "option version applies to TxMethod::Ring senders only (PACKET_TX_RING), not TxMethod::Send"),
            (
                send(|o| o.frame_size = Some(2048)),
                "option frame_size applies to TxMethod::Ring senders only (PACKET_TX_RING), not TxMethod::Send",
            ),
            (
                send(|o| o.frame_count = Some(8)),
                "option frame_count applies to TxMethod::Ring senders only (PACKET_TX_RING), not TxMethod::Send",
            ),
            (send(|o| o.loss = true), "option loss applies to TxMethod::Ring senders only (PACKET_TX_RING), not TxMethod::Send"),
            (
                send(|o| o.frames_per_kick = Some(1)),
                "option frames_per_kick applies to TxMethod::Ring senders only (PACKET_TX_RING), not TxMethod::Send",
            ),
            (opts(|o| o.netns = Some(String::new())), "netns \"\" must be a namespace name or a path"),
        ];
        for (o, want) in cases {
            let err = o.validate_with_page_size(PAGE).expect_err(want);
            assert!(matches!(err, Error::Option { problem: Problem::NotApplicable | Problem::Invalid, .. }), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
        }
    }
}
