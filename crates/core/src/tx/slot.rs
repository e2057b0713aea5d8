//! Where the fields of one TX slot are, for TPACKET_V2 (`tpacket2_hdr`) and V3
//! (`tpacket3_hdr`), and where each slot is in the ring.

use std::mem::offset_of;

use super::options::{data_offset, TxRingConfig};
use crate::abi::{frame_offset, V2_STATUS, V3_TX_STATUS};

/// Where the fields of one TX slot are, for TPACKET_V2 (`tpacket2_hdr`) or V3 (`tpacket3_hdr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotLayout {
    /// TPACKET_V3 (else V2) slot headers.
    pub(crate) v3: bool,
    block_size: usize,
    frame_size: usize,
    /// Slots in the ring.
    pub(crate) frame_count: usize,
}

impl SlotLayout {
    pub(crate) fn new(config: &TxRingConfig) -> Self {
        SlotLayout {
            v3: config.version == 3,
            block_size: config.block_size as usize,
            frame_size: config.frame_size as usize,
            frame_count: config.frame_count as usize,
        }
    }

    /// Offset of slot `index` in the mapping: the kernel's `packet_lookup_frame()`.
    pub(crate) fn slot(&self, index: usize) -> usize {
        frame_offset(index, self.block_size, self.frame_size)
    }

    pub(crate) fn status(&self) -> usize {
        if self.v3 {
            V3_TX_STATUS
        } else {
            V2_STATUS
        }
    }

    pub(crate) fn len(&self) -> usize {
        if self.v3 {
            offset_of!(libc::tpacket3_hdr, tp_len)
        } else {
            offset_of!(libc::tpacket2_hdr, tp_len)
        }
    }

    /// `tp_snaplen` (V2) or `tp_next_offset` (V3, which must be 0 for TX): the second word written.
    pub(crate) fn second(&self) -> usize {
        if self.v3 {
            offset_of!(libc::tpacket3_hdr, tp_next_offset)
        } else {
            offset_of!(libc::tpacket2_hdr, tp_snaplen)
        }
    }

    pub(crate) fn data(&self) -> usize {
        data_offset(if self.v3 { 3 } else { 2 }) as usize
    }

    pub(crate) fn capacity(&self) -> usize {
        self.frame_size - self.data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{V2_TX_DATA_OFFSET, V3_TX_DATA_OFFSET};
    use crate::tx::options::fixtures::{opts, ring};
    use crate::tx::options::TxOptions;

    #[test]
    fn slot_layout_matches_the_kernel() {
        // tpacket_parse_header(): data at tp_hdrlen - sizeof(struct sockaddr_ll).
        assert_eq!(size_of::<libc::sockaddr_ll>(), 20);
        assert_eq!(V2_TX_DATA_OFFSET, 32);
        assert_eq!(V3_TX_DATA_OFFSET, 48);
        assert_eq!(size_of::<libc::tpacket2_hdr>(), 32);
        assert_eq!(size_of::<libc::tpacket3_hdr>(), 48);
        let v2 = SlotLayout::new(&ring(TxOptions::default()));
        assert_eq!((v2.status(), v2.len(), v2.second(), v2.data(), v2.capacity()), (0, 4, 8, 32, 2016));
        let v3 = SlotLayout::new(&ring(opts(|o| o.version = Some(3))));
        assert_eq!((v3.status(), v3.len(), v3.second(), v3.data(), v3.capacity()), (20, 16, 0, 48, 2000));
    }

    #[test]
    fn slot_offsets_follow_blocks() {
        // Two 2048-byte slots per 4096-byte block.
        let l = SlotLayout::new(&ring(opts(|o| o.frame_count = Some(8))));
        let offsets: Vec<usize> = (0..8).map(|i| l.slot(i)).collect();
        assert_eq!(offsets, [0, 2048, 4096, 6144, 8192, 10240, 12288, 14336]);
        // 1504-byte slots: two per block, 1088 bytes left at the end of each block.
        let l = SlotLayout::new(&ring(opts(|o| {
            o.frame_size = Some(1504);
            o.frame_count = Some(6);
        })));
        let offsets: Vec<usize> = (0..6).map(|i| l.slot(i)).collect();
        assert_eq!(offsets, [0, 1504, 4096, 5600, 8192, 9696]);
        // 9216-byte (jumbo) slots: one per 12288-byte block.
        let c = ring(opts(|o| {
            o.frame_size = Some(9216);
            o.frame_count = Some(4);
        }));
        assert_eq!((c.block_size, c.block_count, c.slot_capacity()), (12288, 4, 9184));
        let l = SlotLayout::new(&c);
        assert_eq!((l.slot(1), l.slot(3)), (12288, 36864));
    }
}
