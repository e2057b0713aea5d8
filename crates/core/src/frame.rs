//! Reading TPACKET_V2 frames and TPACKET_V3 blocks from byte slices.
//!
//! The ring code hands these functions a slice only once the kernel has given the
//! frame or block to user space (its status has `TP_STATUS_USER`), so the parsing here
//! is plain safe code over bytes. Every offset the kernel wrote is bounds-checked:
//! a damaged header ends the walk instead of reading outside the slice.

use std::mem::{offset_of, size_of};

use libc::{sockaddr_ll, tpacket2_hdr, tpacket3_hdr, tpacket_block_desc, tpacket_hdr_v1};

use crate::abi::{V2_SLL_OFFSET, V3_SLL_OFFSET};

/// Where the `sockaddr_ll` ends: `TPACKET2_HDRLEN`, `TPACKET3_HDRLEN`.
const V2_HDRLEN: usize = V2_SLL_OFFSET + size_of::<sockaddr_ll>();
const V3_HDRLEN: usize = V3_SLL_OFFSET + size_of::<sockaddr_ll>();
/// Offset of `hdr.bh1` in `tpacket_block_desc`.
const BH1: usize = offset_of!(tpacket_block_desc, hdr);

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// What the kernel reports about one captured packet, apart from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketInfo {
    /// `tp_len`: length on the wire (without a VLAN tag the kernel took off).
    pub len: u32,
    /// `tp_sec`, `tp_nsec`: capture time.
    pub sec: u32,
    /// Nanoseconds of the capture time.
    pub nsec: u32,
    /// `sll_ifindex`: the interface the packet was seen on.
    pub ifindex: i32,
    /// `sll_pkttype`: PACKET_HOST, PACKET_BROADCAST, … PACKET_OUTGOING.
    pub pkttype: u8,
    /// `tp_status` of the packet: TP_STATUS_VLAN_VALID, TP_STATUS_LOSING, …
    pub status: u32,
    /// `tp_vlan_tci`, `tp_vlan_tpid`: meaningful when `status` says so.
    pub vlan_tci: u16,
    /// The tag's TPID (0x8100 for 802.1Q, 0x88a8 for 802.1ad).
    pub vlan_tpid: u16,
    /// Free bytes of the ring slot just before the link-layer header (after the
    /// `sockaddr_ll`): where a packet read in place gets its VLAN tag back. 0 off a ring.
    pub headroom: u16,
    /// The rest of the `sockaddr_ll`, which a cooked capture (`any`) writes into the
    /// Linux cooked header it puts before the packet.
    pub link: LinkAddress,
}

/// The fields of a `sockaddr_ll` a Linux cooked (SLL2) header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkAddress {
    /// `sll_protocol`, the EtherType, in host byte order.
    pub protocol: u16,
    /// `sll_hatype`: the interface's ARPHRD_* type.
    pub hatype: u16,
    /// `sll_halen`: bytes of `addr` that are the source address.
    pub halen: u8,
    /// `sll_addr`: the link-layer source address.
    pub addr: [u8; 8],
}

impl LinkAddress {
    /// Reads the fields from a `sockaddr_ll`.
    pub(crate) fn from_sockaddr(addr: &sockaddr_ll) -> Self {
        LinkAddress { protocol: u16::from_be(addr.sll_protocol), hatype: addr.sll_hatype, halen: addr.sll_halen, addr: addr.sll_addr }
    }
}

impl PacketInfo {
    /// The 802.1Q tag the kernel removed from the frame, as `(tpid, tci)`.
    pub fn vlan(&self) -> Option<(u16, u16)> {
        if self.status & libc::TP_STATUS_VLAN_VALID == 0 {
            return None;
        }
        let tpid = if self.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 && self.vlan_tpid != 0 {
            self.vlan_tpid
        } else {
            libc::ETH_P_8021Q as u16
        };
        Some((tpid, self.vlan_tci))
    }
}

/// A frame or block header that points outside its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub at: usize,
    pub what: &'static str,
}

fn sll_fields(b: &[u8], at: usize) -> Option<(i32, u8, LinkAddress)> {
    let ifindex = u32_at(b, at + offset_of!(sockaddr_ll, sll_ifindex))? as i32;
    let pkttype = *b.get(at + offset_of!(sockaddr_ll, sll_pkttype))?;
    let addr = at + offset_of!(sockaddr_ll, sll_addr);
    let link = LinkAddress {
        protocol: u16::from_be(u16_at(b, at + offset_of!(sockaddr_ll, sll_protocol))?),
        hatype: u16_at(b, at + offset_of!(sockaddr_ll, sll_hatype))?,
        halen: *b.get(at + offset_of!(sockaddr_ll, sll_halen))?,
        addr: b.get(addr..addr + 8)?.try_into().ok()?,
    };
    Some((ifindex, pkttype, link))
}

/// Reads one TPACKET_V2 frame: its `tpacket2_hdr`, `sockaddr_ll` and captured bytes.
pub fn parse_v2_frame(frame: &[u8]) -> Result<(PacketInfo, &[u8]), Malformed> {
    let bad = |what| Malformed { at: 0, what };
    let field = |off| u32_at(frame, off).ok_or(bad("frame shorter than its header"));
    let status = field(offset_of!(tpacket2_hdr, tp_status))?;
    let len = field(offset_of!(tpacket2_hdr, tp_len))?;
    let snaplen = field(offset_of!(tpacket2_hdr, tp_snaplen))? as usize;
    let mac = u16_at(frame, offset_of!(tpacket2_hdr, tp_mac)).ok_or(bad("frame shorter than its header"))? as usize;
    let (ifindex, pkttype, link) = sll_fields(frame, V2_SLL_OFFSET).ok_or(bad("frame shorter than its header"))?;
    let data = frame.get(mac..mac + snaplen).ok_or(bad("tp_mac + tp_snaplen past the end of the frame"))?;
    let info = PacketInfo {
        len,
        sec: field(offset_of!(tpacket2_hdr, tp_sec))?,
        nsec: field(offset_of!(tpacket2_hdr, tp_nsec))?,
        ifindex,
        pkttype,
        status,
        vlan_tci: u16_at(frame, offset_of!(tpacket2_hdr, tp_vlan_tci)).unwrap_or(0),
        vlan_tpid: u16_at(frame, offset_of!(tpacket2_hdr, tp_vlan_tpid)).unwrap_or(0),
        headroom: mac.saturating_sub(V2_HDRLEN) as u16,
        link,
    };
    Ok((info, data))
}

/// The fields of a TPACKET_V3 block descriptor (`tpacket_hdr_v1`) the walk needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub status: u32,
    pub num_pkts: u32,
    pub offset_to_first_pkt: u32,
    /// Bytes of the block in use, from its start.
    pub blk_len: u32,
    pub seq_num: u64,
}

pub fn parse_block_header(block: &[u8]) -> Option<BlockHeader> {
    let f = |off| u32_at(block, BH1 + off);
    let seq = block.get(BH1 + offset_of!(tpacket_hdr_v1, seq_num)..)?.get(..8)?;
    Some(BlockHeader {
        status: f(offset_of!(tpacket_hdr_v1, block_status))?,
        num_pkts: f(offset_of!(tpacket_hdr_v1, num_pkts))?,
        offset_to_first_pkt: f(offset_of!(tpacket_hdr_v1, offset_to_first_pkt))?,
        blk_len: f(offset_of!(tpacket_hdr_v1, blk_len))?,
        seq_num: u64::from_ne_bytes(seq.try_into().ok()?),
    })
}

/// Iterates over the packets of a TPACKET_V3 block, following `tp_next_offset`.
pub struct BlockPackets<'a> {
    block: &'a [u8],
    remaining: u32,
    offset: usize,
}

impl<'a> BlockPackets<'a> {
    pub fn new(block: &'a [u8], header: &BlockHeader) -> Self {
        BlockPackets { block, remaining: header.num_pkts, offset: header.offset_to_first_pkt as usize }
    }

    fn parse_at(&self, at: usize) -> Result<(PacketInfo, &'a [u8], u32), Malformed> {
        let b = self.block;
        let bad = |what| Malformed { at, what };
        let field = |off| u32_at(b, at + off).ok_or(bad("packet header past the end of the block"));
        let snaplen = field(offset_of!(tpacket3_hdr, tp_snaplen))? as usize;
        let mac = u16_at(b, at + offset_of!(tpacket3_hdr, tp_mac)).ok_or(bad("packet header past the end of the block"))?
            as usize;
        let (ifindex, pkttype, link) =
            sll_fields(b, at + V3_SLL_OFFSET).ok_or(bad("packet header past the end of the block"))?;
        let data = b.get(at + mac..at + mac + snaplen).ok_or(bad("tp_mac + tp_snaplen past the end of the block"))?;
        let hv1 = at + offset_of!(tpacket3_hdr, hv1);
        let info = PacketInfo {
            len: field(offset_of!(tpacket3_hdr, tp_len))?,
            sec: field(offset_of!(tpacket3_hdr, tp_sec))?,
            nsec: field(offset_of!(tpacket3_hdr, tp_nsec))?,
            ifindex,
            pkttype,
            status: field(offset_of!(tpacket3_hdr, tp_status))?,
            vlan_tci: u32_at(b, hv1 + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tci)).unwrap_or(0) as u16,
            vlan_tpid: u16_at(b, hv1 + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tpid)).unwrap_or(0),
            headroom: mac.saturating_sub(V3_HDRLEN) as u16,
            link,
        };
        Ok((info, data, field(offset_of!(tpacket3_hdr, tp_next_offset))?))
    }
}

impl<'a> Iterator for BlockPackets<'a> {
    type Item = Result<(PacketInfo, &'a [u8]), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match self.parse_at(self.offset) {
            Ok((info, data, next)) => {
                if self.remaining > 0 && next == 0 {
                    self.remaining = 0;
                    return Some(Err(Malformed { at: self.offset, what: "tp_next_offset 0 before the last packet" }));
                }
                self.offset += next as usize;
                Some(Ok((info, data)))
            }
            Err(e) => {
                self.remaining = 0;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Byte images of frames and blocks, laid out field by field from the kernel's
    //! `include/uapi/linux/if_packet.h` and filled the way `tpacket_rcv()` fills them
    //! (net/packet/af_packet.c): header, `sockaddr_ll` at TPACKET_ALIGN(sizeof header),
    //! link-layer header at `tp_mac`.
    use super::*;
    use crate::abi::tpacket_align_usize;

    pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_ne_bytes());
    }
    pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    pub fn put_sll(b: &mut [u8], at: usize, ifindex: i32, pkttype: u8) {
        put_u16(b, at + offset_of!(sockaddr_ll, sll_family), libc::AF_PACKET as u16);
        put_u32(b, at + offset_of!(sockaddr_ll, sll_ifindex), ifindex as u32);
        b[at + offset_of!(sockaddr_ll, sll_pkttype)] = pkttype;
    }

    /// A V2 frame of `frame_size` bytes holding `data` (snapped to `snap`) at tp_mac 66.
    pub fn v2_frame(frame_size: usize, data: &[u8], snap: usize, info: &PacketInfo) -> Vec<u8> {
        let mut f = vec![0u8; frame_size];
        let mac = 66;
        put_u32(&mut f, offset_of!(tpacket2_hdr, tp_status), info.status | libc::TP_STATUS_USER);
        put_u32(&mut f, offset_of!(tpacket2_hdr, tp_len), data.len() as u32);
        put_u32(&mut f, offset_of!(tpacket2_hdr, tp_snaplen), snap as u32);
        put_u16(&mut f, offset_of!(tpacket2_hdr, tp_mac), mac as u16);
        put_u16(&mut f, offset_of!(tpacket2_hdr, tp_net), (mac + 14) as u16);
        put_u32(&mut f, offset_of!(tpacket2_hdr, tp_sec), info.sec);
        put_u32(&mut f, offset_of!(tpacket2_hdr, tp_nsec), info.nsec);
        put_u16(&mut f, offset_of!(tpacket2_hdr, tp_vlan_tci), info.vlan_tci);
        put_u16(&mut f, offset_of!(tpacket2_hdr, tp_vlan_tpid), info.vlan_tpid);
        put_sll(&mut f, V2_SLL_OFFSET, info.ifindex, info.pkttype);
        f[mac..mac + snap].copy_from_slice(&data[..snap]);
        f
    }

    /// A V3 block of `block_size` bytes holding `packets`, each at the kernel's layout.
    pub fn v3_block(block_size: usize, packets: &[(PacketInfo, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0u8; block_size];
        let first = 48usize;
        let mut at = first;
        for (i, (info, data)) in packets.iter().enumerate() {
            let mac = 82usize;
            let next = tpacket_align_usize(mac + data.len());
            put_u32(&mut b, at + offset_of!(tpacket3_hdr, tp_next_offset), if i + 1 < packets.len() { next as u32 } else { 0 });
            put_u32(&mut b, at + offset_of!(tpacket3_hdr, tp_sec), info.sec);
            put_u32(&mut b, at + offset_of!(tpacket3_hdr, tp_nsec), info.nsec);
            put_u32(&mut b, at + offset_of!(tpacket3_hdr, tp_snaplen), data.len() as u32);
            put_u32(&mut b, at + offset_of!(tpacket3_hdr, tp_len), info.len);
            put_u32(&mut b, at + offset_of!(tpacket3_hdr, tp_status), info.status);
            put_u16(&mut b, at + offset_of!(tpacket3_hdr, tp_mac), mac as u16);
            let hv1 = at + offset_of!(tpacket3_hdr, hv1);
            put_u32(&mut b, hv1 + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tci), info.vlan_tci as u32);
            put_u16(&mut b, hv1 + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tpid), info.vlan_tpid);
            put_sll(&mut b, at + V3_SLL_OFFSET, info.ifindex, info.pkttype);
            b[at + mac..at + mac + data.len()].copy_from_slice(data);
            at += next;
        }
        put_u32(&mut b, offset_of!(tpacket_block_desc, version), libc::tpacket_versions::TPACKET_V3 as u32);
        put_u32(&mut b, BH1 + offset_of!(tpacket_hdr_v1, block_status), libc::TP_STATUS_USER);
        put_u32(&mut b, BH1 + offset_of!(tpacket_hdr_v1, num_pkts), packets.len() as u32);
        put_u32(&mut b, BH1 + offset_of!(tpacket_hdr_v1, offset_to_first_pkt), first as u32);
        put_u32(&mut b, BH1 + offset_of!(tpacket_hdr_v1, blk_len), at as u32);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn info(len: u32, sec: u32, pkttype: u8) -> PacketInfo {
        PacketInfo { len, sec, nsec: 123_456_789, ifindex: 7, pkttype, ..Default::default() }
    }

    #[test]
    fn layout_matches_the_kernel_uapi() {
        assert_eq!(size_of::<tpacket2_hdr>(), 32);
        assert_eq!(size_of::<tpacket3_hdr>(), 48);
        assert_eq!(V2_SLL_OFFSET, 32);
        assert_eq!(V3_SLL_OFFSET, 48);
        assert_eq!((V2_HDRLEN, V3_HDRLEN), (libc::TPACKET2_HDRLEN, libc::TPACKET3_HDRLEN));
        assert_eq!(BH1, 8);
        assert_eq!(size_of::<tpacket_block_desc>(), 48);
    }

    #[test]
    fn v2_frame_fields_and_snap() {
        let data: Vec<u8> = (0..100u8).collect();
        let i = PacketInfo { status: libc::TP_STATUS_VLAN_VALID, vlan_tci: 10, ..info(100, 5, libc::PACKET_BROADCAST) };
        let frame = v2_frame(256, &data, 60, &i);
        let (got, bytes) = parse_v2_frame(&frame).unwrap();
        assert_eq!(bytes, &data[..60]);
        assert_eq!(got.len, 100);
        assert_eq!((got.sec, got.nsec, got.ifindex, got.pkttype), (5, 123_456_789, 7, libc::PACKET_BROADCAST));
        assert_eq!(got.vlan(), Some((0x8100, 10)));
        assert_eq!(got.headroom, 66 - 52, "tp_mac less the header and sockaddr_ll");
    }

    #[test]
    fn v2_frame_with_snaplen_past_the_slot_is_rejected() {
        let mut frame = v2_frame(256, &[1u8; 100], 100, &info(100, 1, 0));
        put_u32(&mut frame, offset_of!(tpacket2_hdr, tp_snaplen), 1000);
        assert_eq!(parse_v2_frame(&frame).unwrap_err().what, "tp_mac + tp_snaplen past the end of the frame");
        assert!(parse_v2_frame(&frame[..20]).is_err());
    }

    #[test]
    fn v3_block_walk_in_order() {
        let packets: Vec<(PacketInfo, Vec<u8>)> =
            (0..5u32).map(|n| (info(60 + n, n, libc::PACKET_HOST), vec![n as u8; 60 + n as usize])).collect();
        let block = v3_block(4096, &packets);
        let header = parse_block_header(&block).unwrap();
        assert_eq!(header.num_pkts, 5);
        assert_eq!(header.status & libc::TP_STATUS_USER, libc::TP_STATUS_USER);
        let got: Vec<_> = BlockPackets::new(&block, &header).map(Result::unwrap).collect();
        assert_eq!(got.len(), 5);
        for (n, (i, data)) in got.iter().enumerate() {
            assert_eq!(i.sec, n as u32);
            assert_eq!(i.len, 60 + n as u32);
            assert_eq!(*data, &packets[n].1[..]);
            assert_eq!(i.headroom, 82 - 68);
        }
    }

    #[test]
    fn v3_block_with_bad_offsets_stops_without_reading_outside() {
        let packets = vec![(info(60, 0, 0), vec![1u8; 60]), (info(60, 1, 0), vec![2u8; 60])];
        let mut block = v3_block(4096, &packets);
        put_u32(&mut block, 48 + offset_of!(tpacket3_hdr, tp_next_offset), 1 << 20);
        let header = parse_block_header(&block).unwrap();
        let got: Vec<_> = BlockPackets::new(&block, &header).collect();
        assert!(got[0].is_ok());
        assert_eq!(got[1].unwrap_err().what, "packet header past the end of the block");
        assert_eq!(got.len(), 2);

        let mut block = v3_block(4096, &packets);
        put_u32(&mut block, 48 + offset_of!(tpacket3_hdr, tp_next_offset), 0);
        let header = parse_block_header(&block).unwrap();
        let got: Vec<_> = BlockPackets::new(&block, &header).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].unwrap_err().what, "tp_next_offset 0 before the last packet");
    }
}
