//! The checks a frame passes before it is queued: what the kernel would send on a link
//! with a given MTU, from a slot of a given size (`tpacket_parse_header()`,
//! `packet_extra_vlan_len_allowed()` in net/packet/af_packet.c).

use crate::abi::{LINK_HEADER_LEN, VLAN_TAG_LEN};
use crate::error::{Error, Result};

fn frame_error(len: usize, message: String) -> Error {
    Error::Frame { len, message }
}

/// The longest frame the kernel sends on a link with `mtu`: MTU + link header, plus a
/// VLAN tag when the frame is tagged, and never more than the slot holds.
pub(crate) fn frame_limit(slot_capacity: Option<usize>, mtu: u32, tagged: bool) -> usize {
    let link = mtu as usize + LINK_HEADER_LEN + if tagged { VLAN_TAG_LEN } else { 0 };
    slot_capacity.map_or(link, |cap| cap.min(link))
}

/// Whether the kernel grants a frame the 4 extra bytes of a VLAN tag: its EtherType is
/// 802.1Q (`packet_extra_vlan_len_allowed()` in net/packet/af_packet.c).
fn is_tagged(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&(libc::ETH_P_8021Q as u16).to_be_bytes()[..])
}

/// The checks of [`crate::Sender::check_frame`], without a socket.
pub(crate) fn check_frame_len(frame: &[u8], slot_capacity: Option<usize>, mtu: u32, iface: &str) -> Result<()> {
    let len = frame.len();
    if len == 0 {
        return Err(frame_error(len, format!("frame is empty: it needs at least the {LINK_HEADER_LEN}-byte link header")));
    }
    if len < LINK_HEADER_LEN {
        return Err(frame_error(len, format!(
            "frame of {len} bytes is shorter than the {LINK_HEADER_LEN}-byte link header \
             (destination, source, EtherType)"
        )));
    }
    let tagged = is_tagged(frame);
    let limit = frame_limit(slot_capacity, mtu, tagged);
    if len > limit {
        let vlan = if tagged { format!(" + {VLAN_TAG_LEN}-byte VLAN tag") } else { String::new() };
        let link = mtu as usize + LINK_HEADER_LEN + if tagged { VLAN_TAG_LEN } else { 0 };
        let slot = match slot_capacity {
            Some(cap) => format!("a TX slot holds {cap}; "),
            None => String::new(),
        };
        return Err(frame_error(len, format!(
            "frame of {len} bytes is too long for \"{iface}\": the most is {limit} \
             ({slot}MTU {mtu} + {LINK_HEADER_LEN}-byte link header{vlan} is {link})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ether(len: usize, ethertype: u16) -> Vec<u8> {
        let mut f = vec![0u8; len];
        if len >= 14 {
            f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        }
        f
    }

    #[test]
    fn frame_limit_math() {
        // min(slot capacity, MTU + 14), +4 for an 802.1Q frame.
        assert_eq!(frame_limit(Some(2016), 1500, false), 1514);
        assert_eq!(frame_limit(Some(2016), 1500, true), 1518);
        assert_eq!(frame_limit(Some(2016), 9000, false), 2016);
        assert_eq!(frame_limit(Some(1504 - 32), 1500, true), 1472);
        assert_eq!(frame_limit(None, 1500, false), 1514);
        assert_eq!(frame_limit(None, 65536, true), 65554);
        assert!(is_tagged(&ether(64, 0x8100)));
        assert!(!is_tagged(&ether(64, 0x88b5)));
        assert!(!is_tagged(&ether(13, 0)));
    }

    #[test]
    fn frame_checks_name_length_and_both_limits() {
        for len in [14, 60, 1514] {
            check_frame_len(&ether(len, 0x88b5), Some(2016), 1500, "nr1").unwrap();
        }
        check_frame_len(&ether(1518, 0x8100), Some(2016), 1500, "nr1").unwrap();
        check_frame_len(&ether(1518, 0x8100), None, 1500, "nr1").unwrap();
        let cases: Vec<(Vec<u8>, Option<usize>, u32, &str)> = vec![
            (vec![], Some(2016), 1500, "frame is empty: it needs at least the 14-byte link header"),
            (
                vec![0; 13],
                Some(2016),
                1500,
                "frame of 13 bytes is shorter than the 14-byte link header (destination, source, EtherType)",
            ),
            (
                ether(1515, 0x88b5),
                Some(2016),
                1500,
                "frame of 1515 bytes is too long for \"nr1\": the most is 1514 \
                 (a TX slot holds 2016; MTU 1500 + 14-byte link header is 1514)",
            ),
            (
                ether(1519, 0x8100),
                Some(2016),
                1500,
                "frame of 1519 bytes is too long for \"nr1\": the most is 1518 \
                 (a TX slot holds 2016; MTU 1500 + 14-byte link header + 4-byte VLAN tag is 1518)",
            ),
            (
                ether(2017, 0x88b5),
                Some(2016),
                9000,
                "frame of 2017 bytes is too long for \"nr1\": the most is 2016 \
                 (a TX slot holds 2016; MTU 9000 + 14-byte link header is 9014)",
            ),
            (
                ether(1515, 0x88b5),
                None,
                1500,
                "frame of 1515 bytes is too long for \"nr1\": the most is 1514 (MTU 1500 + 14-byte link header is 1514)",
            ),
        ];
        for (frame, cap, mtu, want) in cases {
            let err = check_frame_len(&frame, cap, mtu, "nr1").expect_err(want);
            assert!(matches!(err, Error::Frame { len, .. } if len == frame.len()), "{want}: {err:?}");
            assert_eq!(err.to_string(), want);
        }
    }
}