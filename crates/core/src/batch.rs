//! A batch of captured packets copied out of the ring: their bytes back to back in one
//! buffer and a fixed-size record of numbers per packet. The binding hands both to
//! JavaScript as they are, so this layout is shared with `src/native.ts`.

use crate::abi::{MAC_ADDRS_LEN, VLAN_TAG_LEN};
use crate::dissect::{dissect, Layers, LINKTYPE_LINUX_SLL2};
use crate::frame::PacketInfo;

/// Numbers per packet in [`Batch::meta`].
pub const META_STRIDE: usize = 21;
/// Index in one packet's record: where its bytes start in [`Batch::data`].
pub const META_OFFSET: usize = 0;
/// Index: bytes captured (in [`Batch::data`]).
pub const META_CAPLEN: usize = 1;
/// Index: length on the wire, counting a reinserted VLAN tag.
pub const META_LEN: usize = 2;
/// Index: capture time, seconds (`tp_sec`).
pub const META_SEC: usize = 3;
/// Index: capture time, nanoseconds (`tp_nsec`).
pub const META_NSEC: usize = 4;
/// Index: `sll_ifindex`.
pub const META_IFINDEX: usize = 5;
/// Index: `sll_pkttype`.
pub const META_PKTTYPE: usize = 6;
/// Index: VLAN TCI in the low 16 bits, TPID in the high 16 bits.
pub const META_VLAN: usize = 7;
/// Index: `FLAG_*` bits.
pub const META_FLAGS: usize = 8;
/// [`META_FLAGS`] bit: the packet carried an 802.1Q/802.1ad tag (reinserted in the data).
pub const FLAG_VLAN: u32 = 1;

// What the dissector found in the packet's bytes (see `dissect`): the layers present and
// where each starts, so JavaScript reads any header field straight from the bytes. Offsets
// count from the packet's first byte.
/// Index: the dissector's `FLAG_*` bits (layers present, truncation, malformation).
pub const META_LAYERS: usize = 9;
/// Index: the libpcap `LINKTYPE_*` the bytes were read as.
pub const META_LINK_TYPE: usize = 10;
/// Index: the `LAYER_*` the walk stopped at (cut short or malformed), 0 if none.
pub const META_ERROR_LAYER: usize = 11;
/// Index: the EtherType of the network layer, after any VLAN tags.
pub const META_ETHERTYPE: usize = 12;
/// Index: offset of the network header (IP, ARP, or an unknown protocol's bytes).
pub const META_NETWORK: usize = 13;
/// Index: IPv4 protocol, or the IPv6 next header after the extension headers.
pub const META_PROTOCOL: usize = 14;
/// Index: offset of the transport header (TCP, UDP, ICMP, ICMPv6, or another protocol's data).
pub const META_TRANSPORT: usize = 15;
/// Index: offset of the bytes after the last header decoded.
pub const META_PAYLOAD: usize = 16;
/// Index: their length, ending where the IP or UDP length says (no Ethernet padding).
pub const META_PAYLOAD_LEN: usize = 17;
/// Index: the dissector's `IPV6_EXT_*` bits.
pub const META_IPV6_EXT: usize = 18;
/// Index: fragment fields as IPv4 lays them out (`DF << 14 | MF << 13 | offset`), also for
/// an IPv6 fragment header.
pub const META_FRAGMENT: usize = 19;
/// Index: the IPv4 identification, or the IPv6 fragment header's.
pub const META_FRAGMENT_ID: usize = 20;

/// Bytes of a Linux cooked v2 header (libpcap's `struct sll2_header`).
pub const SLL2_HEADER_LEN: usize = 20;

/// How a capture's packets begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// With a link-layer header of this libpcap `LINKTYPE_*`, as on the wire.
    Link(u32),
    /// At the network header (a cooked socket, as `any` is): a Linux cooked v2 header
    /// made from the packet's `sockaddr_ll` goes before it, as libpcap does.
    Cooked,
}

impl Framing {
    /// The libpcap `LINKTYPE_*` of the bytes a batch holds.
    pub fn link_type(self) -> u32 {
        match self {
            Framing::Link(link_type) => link_type,
            Framing::Cooked => LINKTYPE_LINUX_SLL2,
        }
    }
}

/// The Linux cooked v2 header of a packet of a cooked socket (libpcap's sll.h, fields in
/// network byte order).
fn sll2_header(info: &PacketInfo) -> [u8; SLL2_HEADER_LEN] {
    let mut h = [0u8; SLL2_HEADER_LEN];
    h[0..2].copy_from_slice(&info.link.protocol.to_be_bytes());
    h[4..8].copy_from_slice(&(info.ifindex as u32).to_be_bytes());
    h[8..10].copy_from_slice(&info.link.hatype.to_be_bytes());
    h[10] = info.pkttype;
    h[11] = info.link.halen;
    h[12..20].copy_from_slice(&info.link.addr);
    h
}

/// Words of a packet's record from [`META_LAYERS`] on.
pub const DISSECTED_WORDS: usize = META_STRIDE - META_LAYERS;

/// What the dissector finds in `data`, read as `link_type`: the `META_LAYERS..` words of
/// its record. `layers` is scratch.
pub fn dissect_words(data: &[u8], link_type: u32, layers: &mut Layers) -> [u32; DISSECTED_WORDS] {
    dissect(data, link_type, layers);
    [
        layers.flags,
        link_type,
        layers.error_layer,
        layers.ethertype,
        layers.network_offset,
        layers.ip_protocol,
        layers.transport_offset,
        layers.payload_offset,
        layers.payload_len,
        layers.ipv6_ext,
        layers.ip_fragment,
        layers.ip_id,
    ]
}

/// Writes what the dissector finds in `data` into the `META_LAYERS..` words of `record`.
fn dissect_into(record: &mut [u32], data: &[u8], link_type: u32, layers: &mut Layers) {
    record[META_LAYERS..META_STRIDE].copy_from_slice(&dissect_words(data, link_type, layers));
}

/// Dissects every packet recorded in `meta`, read as `link_type`; `bytes` holds them, its
/// first byte at offset `origin` of the memory the records' offsets count in.
pub(crate) fn dissect_records(meta: &mut [u32], bytes: &[u8], origin: usize, link_type: u32) {
    let mut layers = Layers::default();
    for record in meta.chunks_exact_mut(META_STRIDE) {
        let start = (record[META_OFFSET] as usize).wrapping_sub(origin);
        let data = bytes.get(start..start + record[META_CAPLEN] as usize).unwrap_or_default();
        dissect_into(record, data, link_type, &mut layers);
    }
}


/// Packets copied out of the ring; reused between reads to keep allocations down.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// The packets' bytes, back to back.
    pub data: Vec<u8>,
    /// [`META_STRIDE`] numbers per packet (`META_*` say which is which).
    pub meta: Vec<u32>,
    /// Whether packets are dissected as they come in (for JavaScript, which reads the
    /// layers); when not, the `META_LAYERS..` words stay 0. Native counting and writing
    /// (`record`) do without: the walk costs about 11 ns a packet.
    pub dissect: bool,
}

/// One packet of a [`Batch`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    /// The bytes captured.
    pub data: &'a [u8],
    /// Length on the wire, counting a reinserted VLAN tag.
    pub len: u32,
    /// Capture time, seconds.
    pub sec: u32,
    /// Capture time, nanoseconds.
    pub nsec: u32,
    /// `sll_ifindex`: the interface the packet was seen on.
    pub ifindex: i32,
    /// `sll_pkttype`: PACKET_HOST, … PACKET_OUTGOING.
    pub pkttype: u8,
    /// `(tpid, tci)` of the tag the kernel had removed.
    pub vlan: Option<(u16, u16)>,
    /// The libpcap `LINKTYPE_*` of `data`.
    pub link_type: u32,
}

impl Batch {
    /// Packets in the batch.
    pub fn len(&self) -> usize {
        self.meta.len() / META_STRIDE
    }

    /// Whether the batch holds no packet.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// An empty batch whose packets are dissected as they come in.
    pub fn dissecting() -> Batch {
        Batch { dissect: true, ..Batch::default() }
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.meta.clear();
    }

    /// Appends a packet whose link layer is `link_type` (a libpcap `LINKTYPE_*`) and
    /// dissects it. If the kernel took a VLAN tag off the frame, the tag is put back after
    /// the two MAC addresses (as libpcap does), so `data` is the frame as it was on the
    /// wire; the result is cut to `snaplen` bytes.
    pub fn push(&mut self, info: &PacketInfo, bytes: &[u8], snaplen: u32, link_type: u32) {
        let offset = self.data.len();
        let vlan = info.vlan().filter(|_| bytes.len() >= MAC_ADDRS_LEN);
        match vlan {
            Some((tpid, tci)) => {
                self.data.extend_from_slice(&bytes[..MAC_ADDRS_LEN]);
                self.data.extend_from_slice(&tpid.to_be_bytes());
                self.data.extend_from_slice(&tci.to_be_bytes());
                self.data.extend_from_slice(&bytes[MAC_ADDRS_LEN..]);
            }
            None => self.data.extend_from_slice(bytes),
        }
        self.data.truncate(offset + (self.data.len() - offset).min(snaplen as usize));
        let caplen = self.data.len() - offset;
        push_record(&mut self.meta, offset, caplen, info, vlan.is_some());
        self.dissect_last(offset, link_type);
    }

    /// Fills in what the dissector finds in the packet pushed last (at `offset`), if the
    /// batch dissects; the link type is recorded either way.
    fn dissect_last(&mut self, offset: usize, link_type: u32) {
        let record = self.meta.len() - META_STRIDE;
        if self.dissect {
            dissect_into(&mut self.meta[record..], &self.data[offset..], link_type, &mut Layers::default());
        } else {
            self.meta[record + META_LINK_TYPE] = link_type;
        }
    }

    /// Appends a packet as `framing` says its bytes begin: as [`Batch::push`] does, or for
    /// a cooked socket behind a Linux cooked v2 header (the packet's lengths count it;
    /// a VLAN tag the kernel took off stays out of the bytes, in the record).
    pub fn push_framed(&mut self, info: &PacketInfo, bytes: &[u8], snaplen: u32, framing: Framing) {
        let link_type = match framing {
            Framing::Link(link_type) => return self.push(info, bytes, snaplen, link_type),
            Framing::Cooked => LINKTYPE_LINUX_SLL2,
        };
        let offset = self.data.len();
        self.data.extend_from_slice(&sll2_header(info));
        self.data.extend_from_slice(bytes);
        self.data.truncate(offset + (self.data.len() - offset).min(snaplen as usize));
        let caplen = self.data.len() - offset;
        let info = PacketInfo { len: info.len + SLL2_HEADER_LEN as u32, ..*info };
        push_record(&mut self.meta, offset, caplen, &info, false);
        self.dissect_last(offset, link_type);
    }

    /// Packet `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<PacketView<'_>> {
        let m = self.meta.get(index * META_STRIDE..(index + 1) * META_STRIDE)?;
        let start = m[META_OFFSET] as usize;
        Some(PacketView {
            data: &self.data[start..start + m[META_CAPLEN] as usize],
            len: m[META_LEN],
            sec: m[META_SEC],
            nsec: m[META_NSEC],
            ifindex: m[META_IFINDEX] as i32,
            pkttype: m[META_PKTTYPE] as u8,
            vlan: (m[META_FLAGS] & FLAG_VLAN != 0).then(|| ((m[META_VLAN] >> 16) as u16, m[META_VLAN] as u16)),
            link_type: m[META_LINK_TYPE],
        })
    }

    /// The packets in order.
    pub fn iter(&self) -> impl Iterator<Item = PacketView<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Appends the record of a packet whose `caplen` bytes start at `offset`; `tag_in_data`:
/// a VLAN tag the kernel took off was put back into those bytes. The dissector's words
/// are left 0 for the caller to fill.
fn push_record(meta: &mut Vec<u32>, offset: usize, caplen: usize, info: &PacketInfo, tag_in_data: bool) {
    let vlan = info.vlan();
    let len = info.len + if tag_in_data { VLAN_TAG_LEN as u32 } else { 0 };
    let (tpid, tci) = vlan.unwrap_or((0, 0));
    meta.extend_from_slice(&[
        offset as u32,
        caplen as u32,
        len.max(caplen as u32),
        info.sec,
        info.nsec,
        info.ifindex as u32,
        info.pkttype as u32,
        (tci as u32) | ((tpid as u32) << 16),
        if vlan.is_some() { FLAG_VLAN } else { 0 },
    ]);
    meta.resize(meta.len() + META_STRIDE - META_LAYERS, 0);
}

/// Appends the record of a packet read in place: its `captured` bytes are at `offset` of
/// the ring's memory, in a slot the user owns. Returns the tag to put back with
/// [`put_tag_back`], after which the record's bytes start 4 bytes earlier, as `push`'s
/// copy would; [`dissect_records`] then fills in what the dissector finds. A tag stays out of the bytes (the record still has it) only where the slot
/// has no 4 bytes free before them, which the kernel's layout gives every link layer
/// that carries tags (14 free for Ethernet's 14-byte header).
pub(crate) fn push_lent(
    meta: &mut Vec<u32>,
    offset: usize,
    captured: usize,
    info: &PacketInfo,
    snaplen: u32,
) -> Option<(u16, u16)> {
    let tag = info.vlan().filter(|_| captured >= MAC_ADDRS_LEN && usize::from(info.headroom) >= VLAN_TAG_LEN);
    let (offset, captured) = match tag {
        Some(_) => (offset - VLAN_TAG_LEN, captured + VLAN_TAG_LEN),
        None => (offset, captured),
    };
    push_record(meta, offset, captured.min(snaplen as usize), info, tag.is_some());
    tag
}

/// Puts a VLAN tag back into the frame at `at` of `slot`, as [`push_lent`] recorded it:
/// the MAC addresses move 4 bytes into the headroom and the tag goes after them.
pub(crate) fn put_tag_back(slot: &mut [u8], at: usize, (tpid, tci): (u16, u16)) {
    let start = at - VLAN_TAG_LEN;
    slot.copy_within(at..at + MAC_ADDRS_LEN, start);
    slot[start + MAC_ADDRS_LEN..][..2].copy_from_slice(&tpid.to_be_bytes());
    slot[start + MAC_ADDRS_LEN + 2..][..2].copy_from_slice(&tci.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_tag_is_reinserted_and_lengths_grow() {
        let frame: Vec<u8> = (0..60u8).collect();
        let info = PacketInfo {
            len: 60,
            status: libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID,
            vlan_tci: 0x2064,
            vlan_tpid: 0x88a8,
            ..Default::default()
        };
        let mut b = Batch::default();
        b.push(&info, &frame, 262_144, 1);
        let p = b.get(0).unwrap();
        assert_eq!(p.len, 64);
        assert_eq!(p.data.len(), 64);
        assert_eq!(&p.data[..12], &frame[..12]);
        assert_eq!(&p.data[12..16], &[0x88, 0xa8, 0x20, 0x64]);
        assert_eq!(&p.data[16..], &frame[12..]);
        assert_eq!(p.vlan, Some((0x88a8, 0x2064)));
    }

    #[test]
    fn tag_without_tpid_is_8021q_and_snaplen_cuts() {
        let info = PacketInfo { len: 100, status: libc::TP_STATUS_VLAN_VALID, vlan_tci: 5, ..Default::default() };
        let mut b = Batch::default();
        b.push(&info, &[9u8; 100], 20, 1);
        b.push(&PacketInfo { len: 50, ..Default::default() }, &[7u8; 30], 262_144, 1);
        let p = b.get(0).unwrap();
        assert_eq!((p.len, p.data.len()), (104, 20));
        assert_eq!(&p.data[12..16], &[0x81, 0x00, 0x00, 0x05]);
        let q = b.get(1).unwrap();
        assert_eq!((q.len, q.data, q.vlan), (50, &[7u8; 30][..], None));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn only_a_dissecting_batch_walks_the_headers() {
        // Ethernet, IPv4, UDP from 1234 to 53.
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        frame.extend_from_slice(&[0x04, 0xd2, 0, 53, 0, 8, 0, 0]);
        let info = PacketInfo { len: frame.len() as u32, ..Default::default() };
        let (mut plain, mut walked) = (Batch::default(), Batch::dissecting());
        plain.push(&info, &frame, 262_144, 1);
        walked.push(&info, &frame, 262_144, 1);
        assert_eq!(plain.meta[META_LAYERS..], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "the link type only");
        assert_eq!(walked.meta[META_NETWORK], 14);
        assert_eq!(walked.meta[META_TRANSPORT], 34);
        assert_eq!(walked.meta[META_PROTOCOL], 17);
        assert_eq!(walked.meta[..META_LAYERS], plain.meta[..META_LAYERS]);
    }

    #[test]
    fn a_lent_tag_goes_back_in_place_as_push_copies_it() {
        let frame: Vec<u8> = (0..60u8).collect();
        let info = PacketInfo { len: 60, status: libc::TP_STATUS_VLAN_VALID, vlan_tci: 7, headroom: 14, ..Default::default() };
        let mut slot = vec![0xee; 20];
        slot.extend_from_slice(&frame);
        let mut meta = Vec::new();
        let tag = push_lent(&mut meta, 20, frame.len(), &info, 262_144);
        put_tag_back(&mut slot, 20, tag.unwrap());
        dissect_records(&mut meta, &slot, 0, 1);
        let mut copied = Batch::dissecting();
        copied.push(&info, &frame, 262_144, 1);
        let lent = &slot[meta[META_OFFSET] as usize..][..meta[META_CAPLEN] as usize];
        assert_eq!(lent, copied.get(0).unwrap().data);
        assert_eq!(meta[1..], copied.meta[1..], "the same numbers but the offset");

        // No room before the bytes: they stay as they are, the record still has the tag.
        let mut meta = Vec::new();
        assert_eq!(push_lent(&mut meta, 20, frame.len(), &PacketInfo { headroom: 2, ..info }, 30), None);
        assert_eq!(meta[..4], [20, 30, 60, 0]);
        assert_eq!((meta[META_VLAN], meta[META_FLAGS]), (0x8100 << 16 | 7, FLAG_VLAN));
    }
}
