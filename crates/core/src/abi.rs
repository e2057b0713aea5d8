//! Facts of the kernel's packet socket ABI (`include/uapi/linux/if_packet.h`,
//! net/packet/af_packet.c) and of Ethernet framing that the RX ring, the TX ring, the
//! frame parser and the options all need: alignment, header offsets, tag lengths.
//!
//! A leaf: imports nothing from the crate, so any module may use it without a cycle.
//! Values only; no system call, no policy (defaults live with the options they fill).

use std::mem::{offset_of, size_of};

/// `TPACKET_ALIGNMENT`: frame sizes and in-frame offsets are multiples of 16.
pub const TPACKET_ALIGNMENT: u32 = 16;

/// `TPACKET_ALIGN(x)`: `x` rounded up to [`TPACKET_ALIGNMENT`].
pub const fn tpacket_align(x: u32) -> u32 {
    (x + TPACKET_ALIGNMENT - 1) & !(TPACKET_ALIGNMENT - 1)
}

/// [`tpacket_align`] for byte offsets.
pub(crate) const fn tpacket_align_usize(x: usize) -> usize {
    tpacket_align(x as u32) as usize
}

/// `ALIGN(x, 8)`, the kernel's alignment of `offset_to_first_pkt` in a V3 block.
const fn align8(x: u32) -> u32 {
    (x + 7) & !7
}

/// The largest snapshot length, as in libpcap (`MAXIMUM_SNAPLEN`); also the default.
pub const MAX_SNAPLEN: u32 = 262_144;

/// Bytes before the link-layer header of a TPACKET_V2 frame, as the kernel lays it out
/// for a 14-byte Ethernet header: `TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14`.
pub const V2_MAC_OFFSET: u32 = tpacket_align(libc::TPACKET2_HDRLEN as u32 + 16) - 14;
/// Bytes before the link-layer header of a TPACKET_V3 packet (same rule, V3 header).
pub const V3_MAC_OFFSET: u32 = tpacket_align(libc::TPACKET3_HDRLEN as u32 + 16) - 14;
/// Bytes of the block descriptor before the first V3 packet (`offset_to_first_pkt`).
pub const V3_BLOCK_HEADER: u32 = align8(size_of::<libc::tpacket_block_desc>() as u32);

/// Where the kernel puts the `sockaddr_ll` after a V2 frame header: `TPACKET_ALIGN(sizeof(struct tpacket2_hdr))`.
pub(crate) const V2_SLL_OFFSET: usize = tpacket_align_usize(size_of::<libc::tpacket2_hdr>());
/// Where the kernel puts the `sockaddr_ll` after a V3 packet header.
pub(crate) const V3_SLL_OFFSET: usize = tpacket_align_usize(size_of::<libc::tpacket3_hdr>());

/// Offset of `tp_status` in a TPACKET_V2 frame (RX and TX).
pub(crate) const V2_STATUS: usize = offset_of!(libc::tpacket2_hdr, tp_status);
/// Offset of `tp_status` in a TPACKET_V3 TX slot.
pub(crate) const V3_TX_STATUS: usize = offset_of!(libc::tpacket3_hdr, tp_status);
/// Offset of `hdr.bh1.block_status` in a TPACKET_V3 RX block descriptor.
pub(crate) const V3_BLOCK_STATUS: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status);

/// Where a TPACKET_V2 TX slot's frame starts: `TPACKET2_HDRLEN - sizeof(struct sockaddr_ll)`,
/// as the kernel's `tpacket_parse_header()` reads it (32).
pub const V2_TX_DATA_OFFSET: u32 = (libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>()) as u32;
/// Where a TPACKET_V3 TX slot's frame starts: `TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)` (48).
pub const V3_TX_DATA_OFFSET: u32 = (libc::TPACKET3_HDRLEN - size_of::<libc::sockaddr_ll>()) as u32;

/// The largest ring (block size × block count) accepted, RX or TX: 4 GiB.
pub const MAX_RING_BYTES: u64 = 1 << 32;

/// The link-layer header the kernel allows on top of the MTU (`dev->hard_header_len` of
/// an Ethernet device): destination, source, EtherType.
pub const LINK_HEADER_LEN: usize = 14;
/// The destination and source MAC addresses that come before an 802.1Q tag.
pub(crate) const MAC_ADDRS_LEN: usize = 12;
/// The bytes of an 802.1Q tag (`VLAN_HLEN`): the TPID and the TCI.
pub const VLAN_TAG_LEN: usize = 4;

/// Offset of frame `index` in a ring of fixed frames, as the kernel's
/// `packet_lookup_frame()` finds it: frames never straddle blocks, so each block holds
/// `block_size / frame_size` of them and the rest of the block is unused.
pub(crate) fn frame_offset(index: usize, block_size: usize, frame_size: usize) -> usize {
    let per_block = block_size / frame_size;
    (index / per_block) * block_size + (index % per_block) * frame_size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_layout_constants() {
        // Checked against the kernel's tpacket_rcv(): netoff = TPACKET_ALIGN(hdrlen + 16), macoff = netoff - 14.
        assert_eq!(libc::TPACKET2_HDRLEN, 52);
        assert_eq!(V2_MAC_OFFSET, 66);
        assert_eq!(libc::TPACKET3_HDRLEN, 68);
        assert_eq!(V3_MAC_OFFSET, 82);
        assert_eq!(V3_BLOCK_HEADER, 48);
        assert_eq!((V2_SLL_OFFSET, V3_SLL_OFFSET), (32, 48));
        // tpacket_parse_header(): TX data at tp_hdrlen - sizeof(struct sockaddr_ll).
        assert_eq!(size_of::<libc::sockaddr_ll>(), 20);
        assert_eq!((V2_TX_DATA_OFFSET, V3_TX_DATA_OFFSET), (32, 48));
        assert_eq!((V2_STATUS, V3_TX_STATUS, V3_BLOCK_STATUS), (0, 20, 8));
    }

    #[test]
    fn frames_never_straddle_blocks() {
        let offsets: Vec<usize> = (0..6).map(|i| frame_offset(i, 4096, 1504)).collect();
        assert_eq!(offsets, [0, 1504, 4096, 5600, 8192, 9696]);
    }
}
