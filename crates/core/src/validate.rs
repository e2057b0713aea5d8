//! The checks that capture options ([`crate::RxOptions`]) and sender options
//! ([`crate::TxOptions`]) share, written once: the network namespace, options that do not
//! apply, counts, frame alignment, the TPACKET version, and the widening of a derived
//! frame size so that a block holds a number of frames dividing the count asked for.
//!
//! Knows the option rules, not the option structs; makes no system call.

use crate::abi::TPACKET_ALIGNMENT;
use crate::error::{text, Error, OptionName, Problem, Result, Text};

/// An option error of `option` for `problem`, whose message is `text`.
pub(crate) fn option_error(option: OptionName, problem: Problem, text: Text) -> Error {
    Error::Option { option, problem, text }
}

/// An option error of `option` for a value out of its range.
pub(crate) fn out_of_range(option: OptionName, text: Text) -> Error {
    option_error(option, Problem::OutOfRange, text)
}

/// `netns` must name a namespace (under /run/netns) or be a path: not empty, no NUL.
pub(crate) fn check_netns(netns: Option<&str>) -> Result<()> {
    match netns {
        Some(ns) if ns.is_empty() || ns.contains('\0') => Err(option_error(
            OptionName::Netns,
            Problem::Invalid,
            text![OptionName::Netns, format!(" {ns:?} must be a namespace name or a path")],
        )),
        _ => Ok(()),
    }
}

/// The first of `options` that is set, as an error saying it applies to `applies_to` only
/// ("option X applies to …").
pub(crate) fn reject_set(options: &[(OptionName, bool)], applies_to: Text) -> Result<()> {
    match options.iter().find(|(_, set)| *set) {
        Some(&(option, _)) => {
            let mut text = text!["option ", option, " applies to "];
            text.0.extend(applies_to.0);
            Err(option_error(option, Problem::NotApplicable, text))
        }
        None => Ok(()),
    }
}

/// A count of blocks or frames: at least 1.
pub(crate) fn check_count(option: OptionName, value: u32) -> Result<()> {
    if value == 0 {
        return Err(out_of_range(option, text![option, format!(" {value} must be at least 1")]));
    }
    Ok(())
}

/// A frame size: a multiple of `TPACKET_ALIGNMENT`.
pub(crate) fn check_aligned(value: u32) -> Result<()> {
    if value % TPACKET_ALIGNMENT != 0 {
        return Err(option_error(
            OptionName::FrameSize,
            Problem::OutOfRange,
            text![OptionName::FrameSize, format!(" {value} must be a multiple of {TPACKET_ALIGNMENT}")],
        ));
    }
    Ok(())
}

/// A TPACKET version: 2 or 3.
pub(crate) fn check_version(version: u32) -> Result<()> {
    if version != 2 && version != 3 {
        return Err(option_error(
            OptionName::Version,
            Problem::OutOfRange,
            text![OptionName::Version, format!(" {version} must be 2 (TPACKET_V2) or 3 (TPACKET_V3)")],
        ));
    }
    Ok(())
}

/// For a frame size the user did not give: the largest number of frames per block, at
/// most `per_block`, that divides `count` and is what a block of `block_size` bytes holds
/// of frames `(block_size / d)` rounded down to 16 bytes; with that frame size. `None` when
/// no such number exists (1 always does when a frame fits a block).
pub(crate) fn widen_to_divide(block_size: u32, per_block: u32, count: u32) -> Option<(u32, u32)> {
    let frame = |d: u32| (block_size / d) & !(TPACKET_ALIGNMENT - 1);
    (1..=per_block).rev().find(|&d| count % d == 0 && block_size / frame(d) == d).map(|d| (d, frame(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_finds_the_largest_divisor_a_block_holds() {
        assert_eq!(widen_to_divide(4096, 2, 7), Some((1, 4096)));
        assert_eq!(widen_to_divide(4096, 2, 256), Some((2, 2048)));
        assert_eq!(widen_to_divide(65536, 32, 100), Some((25, 2608)));
        assert_eq!(widen_to_divide(4096, 16, 128), Some((16, 256)));
    }

    #[test]
    fn shared_checks_name_value_and_rule() {
        assert_eq!(check_netns(Some("")).unwrap_err().to_string(), "netns \"\" must be a namespace name or a path");
        check_netns(Some("ns1")).unwrap();
        check_netns(None).unwrap();
        let e = reject_set(&[(OptionName::Version, false), (OptionName::FrameSize, true)], text!["X only"]).unwrap_err();
        assert_eq!(e.to_string(), "option frame_size applies to X only");
        assert_eq!(check_count(OptionName::BlockCount, 0).unwrap_err().to_string(), "block_count 0 must be at least 1");
        assert_eq!(check_aligned(100).unwrap_err().to_string(), "frame_size 100 must be a multiple of 16");
        assert_eq!(check_version(1).unwrap_err().to_string(), "version 1 must be 2 (TPACKET_V2) or 3 (TPACKET_V3)");
    }
}
