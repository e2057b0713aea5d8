//! PACKET_FANOUT: sockets on one interface that share its packets, each packet going to
//! exactly one member of the group, chosen by the group's mode.
//!
//! The kernel lets only a bound, running socket join a group, and a running socket that
//! has not joined yet receives every packet on its own. So a capture in a group attaches
//! a drop-everything filter before `bind()`, joins, and only then attaches its real
//! filter: it sees no packet twice (once alone, once through the group). Packets the group
//! hands it between the join and the second attach (two system calls apart) are dropped
//! unseen and counted nowhere; in a group formed before traffic starts there are none.

use std::io;
use std::os::fd::AsFd;

use crate::error::{text, Error, OptionName, Problem, Result};
use crate::validate::option_error;
use crate::socket::PacketSocket;
use crate::sys::{getsockopt, setsockopt};

/// Largest fanout group id: the id is the low 16 bits of the PACKET_FANOUT argument.
pub const MAX_FANOUT_GROUP: u32 = 0xffff;

/// How a group picks the member for a packet (the PACKET_FANOUT_* type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanoutMode {
    /// PACKET_FANOUT_HASH: by the packet's flow hash (addresses and ports, both
    /// directions alike), so every packet of a flow goes to the same member.
    Hash,
    /// PACKET_FANOUT_LB: round robin.
    LoadBalance,
    /// PACKET_FANOUT_CPU: by the CPU that received the packet.
    Cpu,
    /// PACKET_FANOUT_ROLLOVER: all to one member until its ring is full, then the next.
    Rollover,
    /// PACKET_FANOUT_RND: at random.
    Random,
    /// PACKET_FANOUT_QM: by the NIC receive queue the packet came in on.
    QueueMapping,
}

impl FanoutMode {
    /// Every mode, in the order the kernel numbers them.
    pub const ALL: [FanoutMode; 6] = [
        FanoutMode::Hash,
        FanoutMode::LoadBalance,
        FanoutMode::Cpu,
        FanoutMode::Rollover,
        FanoutMode::Random,
        FanoutMode::QueueMapping,
    ];

    /// The name used in options: "hash", "lb", "cpu", "rollover", "random" or "queue".
    pub fn name(self) -> &'static str {
        match self {
            FanoutMode::Hash => "hash",
            FanoutMode::LoadBalance => "lb",
            FanoutMode::Cpu => "cpu",
            FanoutMode::Rollover => "rollover",
            FanoutMode::Random => "random",
            FanoutMode::QueueMapping => "queue",
        }
    }

    /// The mode named `name` (see [`FanoutMode::name`]).
    pub fn from_name(name: &str) -> Result<Self> {
        FanoutMode::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| {
            let known: Vec<String> = FanoutMode::ALL.iter().map(|m| format!("{:?}", m.name())).collect();
            option_error(OptionName::Fanout, Problem::Invalid, text![format!("unknown fanout mode {name:?}; known: {}", known.join(", "))])
        })
    }

    fn kernel_type(self) -> u32 {
        match self {
            FanoutMode::Hash => libc::PACKET_FANOUT_HASH,
            FanoutMode::LoadBalance => libc::PACKET_FANOUT_LB,
            FanoutMode::Cpu => libc::PACKET_FANOUT_CPU,
            FanoutMode::Rollover => libc::PACKET_FANOUT_ROLLOVER,
            FanoutMode::Random => libc::PACKET_FANOUT_RND,
            FanoutMode::QueueMapping => libc::PACKET_FANOUT_QM,
        }
    }
}

/// How a capture joins a fanout group (PACKET_FANOUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanoutOptions {
    /// Group id, 0 to [`MAX_FANOUT_GROUP`], shared by the members; ids are per network
    /// namespace. `None`: a new group whose id the kernel picks among the unused ones
    /// (PACKET_FANOUT_FLAG_UNIQUEID); [`crate::Capture::fanout_group`] tells which.
    pub group: Option<u32>,
    /// How the kernel picks a member for each packet.
    pub mode: FanoutMode,
    /// PACKET_FANOUT_FLAG_DEFRAG: reassemble IP fragments before choosing, so the
    /// fragments of a datagram go to the same member.
    pub defrag: bool,
    /// PACKET_FANOUT_FLAG_ROLLOVER: when the chosen member's ring is full, give the
    /// packet to another member instead of dropping it.
    pub rollover: bool,
}

impl FanoutOptions {
    /// Checks the group id and the flags; makes no system call.
    pub fn validate(&self) -> Result<()> {
        if let Some(group) = self.group {
            if group > MAX_FANOUT_GROUP {
                return Err(option_error(
                    OptionName::Fanout,
                    Problem::OutOfRange,
                    text![format!("fanout group {group} must be from 0 to {MAX_FANOUT_GROUP}")],
                ));
            }
        }
        if self.rollover && self.mode == FanoutMode::Rollover {
            return Err(option_error(
                OptionName::Fanout,
                Problem::NotApplicable,
                text!["fanout flag rollover does not apply to mode \"rollover\", which always rolls over"],
            ));
        }
        Ok(())
    }

    /// The flag names for messages: "defrag, rollover, ignoreOutgoing", or "none".
    pub fn flag_names(&self, ignore_outgoing: bool) -> String {
        let flags: Vec<&str> = [("defrag", self.defrag), ("rollover", self.rollover), ("ignoreOutgoing", ignore_outgoing)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect();
        if flags.is_empty() {
            "none".into()
        } else {
            flags.join(", ")
        }
    }

    /// The PACKET_FANOUT argument: id in the low 16 bits, type and flags in the high 16.
    /// `ignore_outgoing` (the capture's option) becomes PACKET_FANOUT_FLAG_IGNORE_OUTGOING:
    /// a member receives through the group's hook, not its own, so the socket's
    /// PACKET_IGNORE_OUTGOING alone would not apply.
    pub(crate) fn argument(&self, ignore_outgoing: bool) -> u32 {
        let mut type_flags = self.mode.kernel_type();
        if self.defrag {
            type_flags |= libc::PACKET_FANOUT_FLAG_DEFRAG;
        }
        if self.rollover {
            type_flags |= libc::PACKET_FANOUT_FLAG_ROLLOVER;
        }
        if ignore_outgoing {
            type_flags |= libc::PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
        }
        if self.group.is_none() {
            type_flags |= libc::PACKET_FANOUT_FLAG_UNIQUEID;
        }
        self.group.unwrap_or(0) | (type_flags << 16)
    }
}

/// setsockopt(PACKET_FANOUT) on a bound socket, then getsockopt(PACKET_FANOUT) for the
/// id of the group joined (the kernel's choice with PACKET_FANOUT_FLAG_UNIQUEID).
pub(crate) fn join(socket: &PacketSocket, options: &FanoutOptions, ignore_outgoing: bool) -> Result<u16> {
    let fanout_error = |source: io::Error| Error::Fanout {
        iface: socket.iface().to_owned(),
        group: options.group,
        mode: options.mode.name(),
        flags: options.flag_names(ignore_outgoing),
        source,
    };
    let argument = options.argument(ignore_outgoing) as libc::c_int;
    // SAFETY: PACKET_FANOUT reads an int.
    unsafe { setsockopt(socket.as_fd(), libc::SOL_PACKET, libc::PACKET_FANOUT, &argument) }.map_err(fanout_error)?;
    // Read back: id | type << 16 | flags << 24.
    // SAFETY: getsockopt(PACKET_FANOUT) writes an int, valid for any bytes.
    let joined: libc::c_int = unsafe { getsockopt(socket.as_fd(), libc::SOL_PACKET, libc::PACKET_FANOUT) }
        .map_err(socket.err("getsockopt(PACKET_FANOUT)"))?;
    Ok((joined as u32 & MAX_FANOUT_GROUP) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(group: Option<u32>, mode: FanoutMode) -> FanoutOptions {
        FanoutOptions { group, mode, defrag: false, rollover: false }
    }

    #[test]
    fn modes_by_name() {
        for mode in FanoutMode::ALL {
            assert_eq!(FanoutMode::from_name(mode.name()).unwrap(), mode);
        }
        let err = FanoutMode::from_name("roundrobin").unwrap_err();
        assert!(matches!(err, Error::Option { option: OptionName::Fanout, problem: Problem::Invalid, .. }));
        assert_eq!(
            err.to_string(),
            "unknown fanout mode \"roundrobin\"; known: \"hash\", \"lb\", \"cpu\", \"rollover\", \"random\", \"queue\""
        );
    }

    #[test]
    fn argument_layout() {
        // Kernel values: PACKET_FANOUT_LB 1, FLAG_DEFRAG 0x8000, FLAG_ROLLOVER 0x1000, FLAG_UNIQUEID 0x2000.
        let lb = FanoutOptions { group: Some(7), mode: FanoutMode::LoadBalance, defrag: true, rollover: true };
        assert_eq!(lb.argument(false), 7 | ((1 | 0x8000 | 0x1000) << 16));
        assert_eq!(options(None, FanoutMode::QueueMapping).argument(false), (5 | 0x2000) << 16);
        assert_eq!(options(Some(65535), FanoutMode::Hash).argument(false), 0xffff);
        // FLAG_IGNORE_OUTGOING 0x4000.
        assert_eq!(options(Some(1), FanoutMode::Hash).argument(true), 1 | (0x4000 << 16));
        assert_eq!(lb.flag_names(true), "defrag, rollover, ignoreOutgoing");
        assert_eq!(options(Some(1), FanoutMode::Hash).flag_names(false), "none");
    }

    #[test]
    fn bad_options() {
        let err = options(Some(65536), FanoutMode::Hash).validate().unwrap_err();
        assert!(matches!(err, Error::Option { problem: Problem::OutOfRange, .. }));
        assert_eq!(err.to_string(), "fanout group 65536 must be from 0 to 65535");
        let both = FanoutOptions { rollover: true, ..options(Some(1), FanoutMode::Rollover) };
        assert!(matches!(both.validate(), Err(Error::Option { problem: Problem::NotApplicable, .. })));
        options(Some(0), FanoutMode::Cpu).validate().unwrap();
    }
}
