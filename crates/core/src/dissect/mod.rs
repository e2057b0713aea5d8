//! Native dissector: walks the link, network and transport headers of one captured packet
//! into a reusable, fixed-size [`Layers`] record, without allocating.
//!
//! The dissector is a leaf: it takes the captured bytes and the libpcap `LINKTYPE_*` number and
//! knows nothing of rings or sockets. Every read is bounds-checked against `data.len()`; a length
//! field is never trusted beyond the captured bytes. When a header is cut short by the capture
//! ([`FLAG_TRUNCATED`]) or a length field lies ([`FLAG_MALFORMED`]), the walk stops at that layer,
//! [`Layers::error_layer`] names it (`LAYER_*`), and the layers decoded before it stay valid.
//!
//! ```
//! use netring_core::dissect::{dissect, Layers, FLAG_UDP, LINKTYPE_ETHERNET};
//! let mut layers = Layers::default();
//! let frame = [0u8; 14];
//! dissect(&frame, LINKTYPE_ETHERNET, &mut layers);
//! assert_eq!(layers.flags & FLAG_UDP, 0);
//! let mut words = [0u32; Layers::RECORD_WORDS];
//! layers.write_words(&mut words);
//! ```

mod ip;
mod link;
mod transport;

/// libpcap `LINKTYPE_NULL` (0): BSD loopback, a 4-byte address family in the writer's byte order.
pub const LINKTYPE_NULL: u32 = 0;
/// libpcap `LINKTYPE_ETHERNET` / DLT_EN10MB (1): Ethernet II or 802.3, with any 802.1Q/802.1ad tags in the data.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// libpcap `LINKTYPE_RAW` (101): raw IP, version taken from the first nibble.
pub const LINKTYPE_RAW: u32 = 101;
/// libpcap `LINKTYPE_LOOP` (108): OpenBSD loopback, a 4-byte address family in network byte order.
pub const LINKTYPE_LOOP: u32 = 108;
/// libpcap `LINKTYPE_LINUX_SLL` (113): Linux "cooked" capture v1, a 16-byte header.
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// libpcap `LINKTYPE_IPV4` (228): raw IPv4.
pub const LINKTYPE_IPV4: u32 = 228;
/// libpcap `LINKTYPE_IPV6` (229): raw IPv6.
pub const LINKTYPE_IPV6: u32 = 229;
/// libpcap `LINKTYPE_LINUX_SLL2` (276): Linux "cooked" capture v2, a 20-byte header with the interface index.
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

// ---- Flags: layers present (bits 0..=20) ----
/// An Ethernet header (14 bytes: dst, src, type/length) was decoded.
pub const FLAG_ETHERNET: u32 = 1 << 0;
/// At least one 802.1Q (0x8100) / 802.1ad (0x88a8) / 0x9100 VLAN tag was decoded.
pub const FLAG_VLAN: u32 = 1 << 1;
/// A Linux cooked v1 (SLL) header was decoded.
pub const FLAG_SLL: u32 = 1 << 2;
/// A Linux cooked v2 (SLL2) header was decoded.
pub const FLAG_SLL2: u32 = 1 << 3;
/// A NULL / LOOP 4-byte address family header was decoded.
pub const FLAG_LOOPBACK: u32 = 1 << 4;
/// The frame is an 802.3 length frame (type/length field <= 1500) or SLL 802.2/Novell: not IP;
/// the payload is the LLC data.
pub const FLAG_IEEE8023: u32 = 1 << 5;
/// An ARP header (8 bytes plus the four addresses) was decoded.
pub const FLAG_ARP: u32 = 1 << 6;
/// An IPv4 header was decoded.
pub const FLAG_IPV4: u32 = 1 << 7;
/// An IPv6 header (and the extension headers in [`Layers::ipv6_ext`]) was decoded.
pub const FLAG_IPV6: u32 = 1 << 8;
/// The IP datagram is a fragment (IPv4 MF or offset != 0; an IPv6 fragment header).
pub const FLAG_FRAGMENT: u32 = 1 << 9;
/// The IP datagram is a non-first fragment (offset != 0): no transport header; the payload is the fragment data.
pub const FLAG_LATER_FRAGMENT: u32 = 1 << 10;
/// A TCP header was decoded.
pub const FLAG_TCP: u32 = 1 << 11;
/// A UDP header was decoded.
pub const FLAG_UDP: u32 = 1 << 12;
/// An ICMP (IPv4) header was decoded.
pub const FLAG_ICMP: u32 = 1 << 13;
/// An ICMPv6 header was decoded.
pub const FLAG_ICMPV6: u32 = 1 << 14;
/// The ICMP/ICMPv6 message is an echo request/reply: [`Layers::icmp_id`] and [`Layers::icmp_seq`] are set.
pub const FLAG_ICMP_ECHO: u32 = 1 << 15;
/// The UDP or TCP source or destination port is 53 or 5353: DNS starts at [`Layers::payload_offset`]
/// (over TCP, behind its 2-byte length prefix).
pub const FLAG_DNS: u32 = 1 << 16;
/// The ARP packet is Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4).
pub const FLAG_ARP_ETH_IPV4: u32 = 1 << 17;
/// The link type number is not one the dissector knows: nothing was decoded, the payload is the whole packet.
pub const FLAG_UNKNOWN_LINK: u32 = 1 << 18;
/// The network protocol (ethertype, family, IP version) is not one the dissector knows; the payload starts at it.
pub const FLAG_UNKNOWN_NETWORK: u32 = 1 << 19;
/// The IP protocol / final IPv6 next header is not TCP/UDP/ICMP/ICMPv6; the payload starts after the IP headers.
pub const FLAG_UNKNOWN_TRANSPORT: u32 = 1 << 20;

// ---- Flags: errors (bits 28..=31) ----
/// A length field (IPv4 total length, IPv6 payload length, or UDP length) says the packet is longer than
/// the bytes captured (the snapshot length cut it). Not an error of the packet: the layers decoded are
/// whole, and the payload length counts only the bytes captured. Not set for a UDP length in a first
/// fragment, which counts the whole datagram.
pub const FLAG_SNAPLEN: u32 = 1 << 28;
/// The header named by [`Layers::error_layer`] is cut short by the captured length.
pub const FLAG_TRUNCATED: u32 = 1 << 29;
/// The header named by [`Layers::error_layer`] has a length field that lies (IHL < 5, total length
/// < IHL*4, TCP data offset < 5 or past the IP end, IPv6 extension header past the IP end, UDP length < 8
/// or past the IP end of an unfragmented datagram, a version nibble that is not the ethertype's).
/// "Past the IP end" is malformed when the IP length ends the datagram within the capture, truncated
/// ([`FLAG_TRUNCATED`]) when the capture ends first.
pub const FLAG_MALFORMED: u32 = 1 << 30;

// ---- Layer numbers for `error_layer` ----
/// `error_layer`: no error.
pub const LAYER_NONE: u32 = 0;
/// `error_layer`: the link header (Ethernet, SLL, SLL2, NULL/LOOP).
pub const LAYER_LINK: u32 = 1;
/// `error_layer`: a VLAN tag.
pub const LAYER_VLAN: u32 = 2;
/// `error_layer`: ARP.
pub const LAYER_ARP: u32 = 3;
/// `error_layer`: the IPv4 header.
pub const LAYER_IPV4: u32 = 4;
/// `error_layer`: the IPv6 fixed header.
pub const LAYER_IPV6: u32 = 5;
/// `error_layer`: an IPv6 extension header.
pub const LAYER_IPV6_EXT: u32 = 6;
/// `error_layer`: TCP.
pub const LAYER_TCP: u32 = 7;
/// `error_layer`: UDP.
pub const LAYER_UDP: u32 = 8;
/// `error_layer`: ICMP.
pub const LAYER_ICMP: u32 = 9;
/// `error_layer`: ICMPv6.
pub const LAYER_ICMPV6: u32 = 10;

// ---- IPv6 extension header bits for `ipv6_ext` ----
/// `ipv6_ext`: a hop-by-hop options header (next header 0).
pub const IPV6_EXT_HOP_BY_HOP: u32 = 1 << 0;
/// `ipv6_ext`: a routing header (43).
pub const IPV6_EXT_ROUTING: u32 = 1 << 1;
/// `ipv6_ext`: a fragment header (44).
pub const IPV6_EXT_FRAGMENT: u32 = 1 << 2;
/// `ipv6_ext`: a destination options header (60).
pub const IPV6_EXT_DEST_OPTIONS: u32 = 1 << 3;
/// `ipv6_ext`: an authentication header (51).
pub const IPV6_EXT_AUTH: u32 = 1 << 4;
/// `ipv6_ext`: the walk stopped at ESP (50): the payload is the encrypted data.
pub const IPV6_EXT_ESP: u32 = 1 << 5;
/// `ipv6_ext`: the walk stopped at No Next Header (59).
pub const IPV6_EXT_NO_NEXT: u32 = 1 << 6;
/// `ipv6_ext`: a Shim6 header (140, RFC 5533), walked past as the options headers are.
pub const IPV6_EXT_SHIM6: u32 = 1 << 7;

// ---- Record layout: word indices of `Layers::write_words` ----
/// Word: `FLAG_*` bitmask of layers present and errors.
pub const DISSECT_FLAGS: usize = 0;
/// Word: `LAYER_*` of the layer truncated or malformed, `LAYER_NONE` if none.
pub const DISSECT_ERROR_LAYER: usize = 1;
/// Word: the libpcap LINKTYPE number the packet was dissected as.
pub const DISSECT_LINK_TYPE: usize = 2;
/// Word: the ethertype of the network layer after any VLAN tags (0x0800, 0x86DD, 0x0806, …); for NULL/LOOP
/// and raw IP the ethertype of the IP version found; 0 for 802.3 length frames.
pub const DISSECT_ETHERTYPE: usize = 3;
/// Word: the link header's own protocol field as written: Ethernet outer type/length, SLL/SLL2 protocol,
/// NULL/LOOP address family (after the byte order fix).
pub const DISSECT_LINK_PROTOCOL: usize = 4;
/// Word: offset of the link source address (Ethernet source MAC; SLL/SLL2 address).
pub const DISSECT_LINK_SRC_OFFSET: usize = 5;
/// Word: offset of the Ethernet destination MAC (0: Ethernet starts with it; unused for SLL).
pub const DISSECT_LINK_DST_OFFSET: usize = 6;
/// Word: length of the link addresses (6 for Ethernet; SLL/SLL2 halen capped at 8; 0 if none).
pub const DISSECT_LINK_ADDR_LEN: usize = 7;
/// Word: number of VLAN tags decoded.
pub const DISSECT_VLAN_COUNT: usize = 8;
/// Word: outer VLAN tag, `TPID << 16 | TCI` (VLAN id = `& 0xfff`, PCP = `>> 13 & 7`, DEI = `>> 12 & 1`).
pub const DISSECT_VLAN_OUTER: usize = 9;
/// Word: second VLAN tag (QinQ inner), same layout; 0 if fewer than two tags.
pub const DISSECT_VLAN_INNER: usize = 10;
/// Word: SLL/SLL2 packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing).
pub const DISSECT_SLL_PKTTYPE: usize = 11;
/// Word: SLL/SLL2 ARPHRD_ hardware type.
pub const DISSECT_SLL_HATYPE: usize = 12;
/// Word: SLL2 interface index (0 for other link types).
pub const DISSECT_SLL_IFINDEX: usize = 13;
/// Word: offset of the network header (IP, ARP, or the unknown/LLC payload).
pub const DISSECT_NETWORK_OFFSET: usize = 14;
/// Word: IP version (4 or 6), 0 if no IP header.
pub const DISSECT_IP_VERSION: usize = 15;
/// Word: IP header length in bytes: IPv4 IHL*4; IPv6 40 plus the extension headers walked.
pub const DISSECT_IP_HEADER_LEN: usize = 16;
/// Word: IP length field as written: IPv4 total length; IPv6 payload length.
pub const DISSECT_IP_LENGTH: usize = 17;
/// Word: IPv4 protocol; IPv6 final next header (after the extension headers; 50 ESP, 59 none).
pub const DISSECT_IP_PROTOCOL: usize = 18;
/// Word: IPv4 TTL; IPv6 hop limit.
pub const DISSECT_IP_TTL: usize = 19;
/// Word: IPv4 TOS byte; IPv6 traffic class.
pub const DISSECT_IP_TOS: usize = 20;
/// Word: IPv6 flow label (20 bits).
pub const DISSECT_IP_FLOW_LABEL: usize = 21;
/// Word: offset of the IP source address (4 or 16 bytes by version).
pub const DISSECT_IP_SRC_OFFSET: usize = 22;
/// Word: offset of the IP destination address.
pub const DISSECT_IP_DST_OFFSET: usize = 23;
/// Word: IPv4 identification; IPv6 fragment header identification.
pub const DISSECT_IP_ID: usize = 24;
/// Word: fragment fields in the IPv4 layout: `RF << 15 | DF << 14 | MF << 13 | offset` (offset in 8-byte units);
/// IPv6 fragment header: `M << 13 | offset`.
pub const DISSECT_IP_FRAGMENT: usize = 25;
/// Word: offset of the IPv4 header checksum field (2 bytes).
pub const DISSECT_IP_CHECKSUM_OFFSET: usize = 26;
/// Word: offset of the IPv4 options.
pub const DISSECT_IP_OPTIONS_OFFSET: usize = 27;
/// Word: length of the IPv4 options (IHL*4 - 20).
pub const DISSECT_IP_OPTIONS_LEN: usize = 28;
/// Word: `IPV6_EXT_*` bitmask of the IPv6 extension headers seen.
pub const DISSECT_IPV6_EXT: usize = 29;
/// Word: offset of the transport header (TCP, UDP, ICMP, ICMPv6, or the unknown protocol's data).
pub const DISSECT_TRANSPORT_OFFSET: usize = 30;
/// Word: TCP/UDP source port.
pub const DISSECT_SRC_PORT: usize = 31;
/// Word: TCP/UDP destination port.
pub const DISSECT_DST_PORT: usize = 32;
/// Word: TCP flags, 12 bits (reserved, AE/NS, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN), as tshark's `tcp.flags`.
pub const DISSECT_TCP_FLAGS: usize = 33;
/// Word: TCP sequence number as written.
pub const DISSECT_TCP_SEQ: usize = 34;
/// Word: TCP acknowledgment number as written.
pub const DISSECT_TCP_ACK: usize = 35;
/// Word: TCP window as written (unscaled).
pub const DISSECT_TCP_WINDOW: usize = 36;
/// Word: TCP header length in bytes (data offset * 4).
pub const DISSECT_TCP_HEADER_LEN: usize = 37;
/// Word: offset of the TCP options.
pub const DISSECT_TCP_OPTIONS_OFFSET: usize = 38;
/// Word: length of the TCP options (header length - 20).
pub const DISSECT_TCP_OPTIONS_LEN: usize = 39;
/// Word: UDP length field as written.
pub const DISSECT_UDP_LENGTH: usize = 40;
/// Word: ICMP/ICMPv6 type.
pub const DISSECT_ICMP_TYPE: usize = 41;
/// Word: ICMP/ICMPv6 code.
pub const DISSECT_ICMP_CODE: usize = 42;
/// Word: ICMP/ICMPv6 echo identifier (with `FLAG_ICMP_ECHO`).
pub const DISSECT_ICMP_ID: usize = 43;
/// Word: ICMP/ICMPv6 echo sequence number (with `FLAG_ICMP_ECHO`).
pub const DISSECT_ICMP_SEQ: usize = 44;
/// Word: ARP operation (1 request, 2 reply).
pub const DISSECT_ARP_OP: usize = 45;
/// Word: ARP address lengths, `hlen | plen << 8`.
pub const DISSECT_ARP_ADDR_LENS: usize = 46;
/// Word: offset of the ARP sender hardware address.
pub const DISSECT_ARP_SENDER_HW_OFFSET: usize = 47;
/// Word: offset of the ARP sender protocol address.
pub const DISSECT_ARP_SENDER_PROTO_OFFSET: usize = 48;
/// Word: offset of the ARP target hardware address.
pub const DISSECT_ARP_TARGET_HW_OFFSET: usize = 49;
/// Word: offset of the ARP target protocol address.
pub const DISSECT_ARP_TARGET_PROTO_OFFSET: usize = 50;
/// Word: offset of the bytes after the last header decoded (application data, fragment data, LLC data,
/// or, after an error, the bytes from the failed layer on).
pub const DISSECT_PAYLOAD_OFFSET: usize = 51;
/// Word: length of those captured bytes, ending at the IP/UDP end when that is shorter (no Ethernet padding).
pub const DISSECT_PAYLOAD_LEN: usize = 52;

/// The decoded headers of one packet: offsets into the packet's bytes and numbers copied out of them.
///
/// Fields of a layer are only meaningful when its `FLAG_*` is set in [`Layers::flags`]; others stay 0.
/// Every offset plus the length it implies (address lengths, option lengths, payload length) is within
/// the `data.len()` given to [`dissect`]. Reuse one `Layers` for many packets: [`dissect`] resets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layers {
    /// `FLAG_*` bitmask of layers present and errors. Word [`DISSECT_FLAGS`] (0).
    pub flags: u32,
    /// `LAYER_*` of the layer truncated or malformed, `LAYER_NONE` if none. Word [`DISSECT_ERROR_LAYER`] (1).
    pub error_layer: u32,
    /// The libpcap LINKTYPE number the packet was dissected as. Word [`DISSECT_LINK_TYPE`] (2).
    pub link_type: u32,
    /// The ethertype of the network layer after any VLAN tags (0x0800, 0x86DD, 0x0806, …); for NULL/LOOP
    /// And raw IP the ethertype of the IP version found; 0 for 802.3 length frames. Word [`DISSECT_ETHERTYPE`] (3).
    pub ethertype: u32,
    /// The link header's own protocol field as written: Ethernet outer type/length, SLL/SLL2 protocol,
    /// NULL/LOOP address family (after the byte order fix). Word [`DISSECT_LINK_PROTOCOL`] (4).
    pub link_protocol: u32,
    /// Offset of the link source address (Ethernet source MAC; SLL/SLL2 address). Word [`DISSECT_LINK_SRC_OFFSET`] (5).
    pub link_src_offset: u32,
    /// Offset of the Ethernet destination MAC (0: Ethernet starts with it; unused for SLL). Word [`DISSECT_LINK_DST_OFFSET`] (6).
    pub link_dst_offset: u32,
    /// Length of the link addresses (6 for Ethernet; SLL/SLL2 halen capped at 8; 0 if none). Word [`DISSECT_LINK_ADDR_LEN`] (7).
    pub link_addr_len: u32,
    /// Number of VLAN tags decoded. Word [`DISSECT_VLAN_COUNT`] (8).
    pub vlan_count: u32,
    /// Outer VLAN tag, `TPID << 16 | TCI` (VLAN id = `& 0xfff`, PCP = `>> 13 & 7`, DEI = `>> 12 & 1`). Word [`DISSECT_VLAN_OUTER`] (9).
    pub vlan_outer: u32,
    /// Second VLAN tag (QinQ inner), same layout; 0 if fewer than two tags. Word [`DISSECT_VLAN_INNER`] (10).
    pub vlan_inner: u32,
    /// SLL/SLL2 packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing). Word [`DISSECT_SLL_PKTTYPE`] (11).
    pub sll_pkttype: u32,
    /// SLL/SLL2 ARPHRD_ hardware type. Word [`DISSECT_SLL_HATYPE`] (12).
    pub sll_hatype: u32,
    /// SLL2 interface index (0 for other link types). Word [`DISSECT_SLL_IFINDEX`] (13).
    pub sll_ifindex: u32,
    /// Offset of the network header (IP, ARP, or the unknown/LLC payload). Word [`DISSECT_NETWORK_OFFSET`] (14).
    pub network_offset: u32,
    /// IP version (4 or 6), 0 if no IP header. Word [`DISSECT_IP_VERSION`] (15).
    pub ip_version: u32,
    /// IP header length in bytes: IPv4 IHL*4; IPv6 40 plus the extension headers walked. Word [`DISSECT_IP_HEADER_LEN`] (16).
    pub ip_header_len: u32,
    /// IP length field as written: IPv4 total length; IPv6 payload length. Word [`DISSECT_IP_LENGTH`] (17).
    pub ip_length: u32,
    /// IPv4 protocol; IPv6 final next header (after the extension headers; 50 ESP, 59 none). Word [`DISSECT_IP_PROTOCOL`] (18).
    pub ip_protocol: u32,
    /// IPv4 TTL; IPv6 hop limit. Word [`DISSECT_IP_TTL`] (19).
    pub ip_ttl: u32,
    /// IPv4 TOS byte; IPv6 traffic class. Word [`DISSECT_IP_TOS`] (20).
    pub ip_tos: u32,
    /// IPv6 flow label (20 bits). Word [`DISSECT_IP_FLOW_LABEL`] (21).
    pub ip_flow_label: u32,
    /// Offset of the IP source address (4 or 16 bytes by version). Word [`DISSECT_IP_SRC_OFFSET`] (22).
    pub ip_src_offset: u32,
    /// Offset of the IP destination address. Word [`DISSECT_IP_DST_OFFSET`] (23).
    pub ip_dst_offset: u32,
    /// IPv4 identification; IPv6 fragment header identification. Word [`DISSECT_IP_ID`] (24).
    pub ip_id: u32,
    /// Fragment fields in the IPv4 layout: `RF << 15 | DF << 14 | MF << 13 | offset` (offset in 8-byte units);
    /// IPv6 fragment header: `M << 13 | offset`. Word [`DISSECT_IP_FRAGMENT`] (25).
    pub ip_fragment: u32,
    /// Offset of the IPv4 header checksum field (2 bytes). Word [`DISSECT_IP_CHECKSUM_OFFSET`] (26).
    pub ip_checksum_offset: u32,
    /// Offset of the IPv4 options. Word [`DISSECT_IP_OPTIONS_OFFSET`] (27).
    pub ip_options_offset: u32,
    /// Length of the IPv4 options (IHL*4 - 20). Word [`DISSECT_IP_OPTIONS_LEN`] (28).
    pub ip_options_len: u32,
    /// `IPV6_EXT_*` bitmask of the IPv6 extension headers seen. Word [`DISSECT_IPV6_EXT`] (29).
    pub ipv6_ext: u32,
    /// Offset of the transport header (TCP, UDP, ICMP, ICMPv6, or the unknown protocol's data). Word [`DISSECT_TRANSPORT_OFFSET`] (30).
    pub transport_offset: u32,
    /// TCP/UDP source port. Word [`DISSECT_SRC_PORT`] (31).
    pub src_port: u32,
    /// TCP/UDP destination port. Word [`DISSECT_DST_PORT`] (32).
    pub dst_port: u32,
    /// TCP flags, 12 bits (reserved, AE/NS, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN), as tshark's `tcp.flags`. Word [`DISSECT_TCP_FLAGS`] (33).
    pub tcp_flags: u32,
    /// TCP sequence number as written. Word [`DISSECT_TCP_SEQ`] (34).
    pub tcp_seq: u32,
    /// TCP acknowledgment number as written. Word [`DISSECT_TCP_ACK`] (35).
    pub tcp_ack: u32,
    /// TCP window as written (unscaled). Word [`DISSECT_TCP_WINDOW`] (36).
    pub tcp_window: u32,
    /// TCP header length in bytes (data offset * 4). Word [`DISSECT_TCP_HEADER_LEN`] (37).
    pub tcp_header_len: u32,
    /// Offset of the TCP options. Word [`DISSECT_TCP_OPTIONS_OFFSET`] (38).
    pub tcp_options_offset: u32,
    /// Length of the TCP options (header length - 20). Word [`DISSECT_TCP_OPTIONS_LEN`] (39).
    pub tcp_options_len: u32,
    /// UDP length field as written. Word [`DISSECT_UDP_LENGTH`] (40).
    pub udp_length: u32,
    /// ICMP/ICMPv6 type. Word [`DISSECT_ICMP_TYPE`] (41).
    pub icmp_type: u32,
    /// ICMP/ICMPv6 code. Word [`DISSECT_ICMP_CODE`] (42).
    pub icmp_code: u32,
    /// ICMP/ICMPv6 echo identifier (with `FLAG_ICMP_ECHO`). Word [`DISSECT_ICMP_ID`] (43).
    pub icmp_id: u32,
    /// ICMP/ICMPv6 echo sequence number (with `FLAG_ICMP_ECHO`). Word [`DISSECT_ICMP_SEQ`] (44).
    pub icmp_seq: u32,
    /// ARP operation (1 request, 2 reply). Word [`DISSECT_ARP_OP`] (45).
    pub arp_op: u32,
    /// ARP address lengths, `hlen | plen << 8`. Word [`DISSECT_ARP_ADDR_LENS`] (46).
    pub arp_addr_lens: u32,
    /// Offset of the ARP sender hardware address. Word [`DISSECT_ARP_SENDER_HW_OFFSET`] (47).
    pub arp_sender_hw_offset: u32,
    /// Offset of the ARP sender protocol address. Word [`DISSECT_ARP_SENDER_PROTO_OFFSET`] (48).
    pub arp_sender_proto_offset: u32,
    /// Offset of the ARP target hardware address. Word [`DISSECT_ARP_TARGET_HW_OFFSET`] (49).
    pub arp_target_hw_offset: u32,
    /// Offset of the ARP target protocol address. Word [`DISSECT_ARP_TARGET_PROTO_OFFSET`] (50).
    pub arp_target_proto_offset: u32,
    /// Offset of the bytes after the last header decoded (application data, fragment data, LLC data,
    /// Or, after an error, the bytes from the failed layer on). Word [`DISSECT_PAYLOAD_OFFSET`] (51).
    pub payload_offset: u32,
    /// Length of those captured bytes, ending at the IP/UDP end when that is shorter (no Ethernet padding). Word [`DISSECT_PAYLOAD_LEN`] (52).
    pub payload_len: u32,
}

impl Layers {
    /// Number of `u32` words [`Layers::write_words`] writes (the `DISSECT_*` indices are below it).
    pub const RECORD_WORDS: usize = 53;

    /// Packs the record into `out[..RECORD_WORDS]` at the `DISSECT_*` indices.
    ///
    /// # Panics
    /// If `out` is shorter than [`Layers::RECORD_WORDS`].
    pub fn write_words(&self, out: &mut [u32]) {
        let w: [u32; Self::RECORD_WORDS] = [
            self.flags,
            self.error_layer,
            self.link_type,
            self.ethertype,
            self.link_protocol,
            self.link_src_offset,
            self.link_dst_offset,
            self.link_addr_len,
            self.vlan_count,
            self.vlan_outer,
            self.vlan_inner,
            self.sll_pkttype,
            self.sll_hatype,
            self.sll_ifindex,
            self.network_offset,
            self.ip_version,
            self.ip_header_len,
            self.ip_length,
            self.ip_protocol,
            self.ip_ttl,
            self.ip_tos,
            self.ip_flow_label,
            self.ip_src_offset,
            self.ip_dst_offset,
            self.ip_id,
            self.ip_fragment,
            self.ip_checksum_offset,
            self.ip_options_offset,
            self.ip_options_len,
            self.ipv6_ext,
            self.transport_offset,
            self.src_port,
            self.dst_port,
            self.tcp_flags,
            self.tcp_seq,
            self.tcp_ack,
            self.tcp_window,
            self.tcp_header_len,
            self.tcp_options_offset,
            self.tcp_options_len,
            self.udp_length,
            self.icmp_type,
            self.icmp_code,
            self.icmp_id,
            self.icmp_seq,
            self.arp_op,
            self.arp_addr_lens,
            self.arp_sender_hw_offset,
            self.arp_sender_proto_offset,
            self.arp_target_hw_offset,
            self.arp_target_proto_offset,
            self.payload_offset,
            self.payload_len,
        ];
        out[..Self::RECORD_WORDS].copy_from_slice(&w);
    }

    /// True if every flag in `flag` is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag == flag
    }
}

/// Dissects one packet of link type `link_type` (a `LINKTYPE_*` number) into `out`, which is reset first.
///
/// Never reads past `data.len()` and never allocates; unknown link types set [`FLAG_UNKNOWN_LINK`].
pub fn dissect(data: &[u8], link_type: u32, out: &mut Layers) {
    *out = Layers {
        link_type,
        ..Layers::default()
    };
    let mut w = Walk { d: data, out };
    link::link(&mut w, link_type);
}

/// `end` for [`Walk::fits`] when no length field bounds the header (link headers, fixed IP headers).
pub(crate) const NO_LENGTH: usize = usize::MAX;

/// One walk over one packet.
pub(crate) struct Walk<'a> {
    pub(crate) d: &'a [u8],
    pub(crate) out: &'a mut Layers,
}

impl Walk<'_> {
    /// The payload is `off..end` (clamped to the captured bytes).
    pub(crate) fn payload(&mut self, off: usize, end: usize) {
        let len = self.d.len();
        let end = end.min(len);
        let off = off.min(end);
        self.out.payload_offset = off as u32;
        self.out.payload_len = (end - off) as u32;
    }

    /// Ends the walk at `layer` (starting at `off`) with `kind` (`FLAG_TRUNCATED` / `FLAG_MALFORMED`).
    pub(crate) fn fail(&mut self, layer: u32, kind: u32, off: usize) {
        self.out.flags |= kind;
        self.out.error_layer = layer;
        self.payload(off, self.d.len());
    }

    /// Checks that `n` header bytes at `off` end by `end`, the end a length field declares (IP total/payload
    /// Length), or [`NO_LENGTH`] where none bounds the header. If not, fails `layer` and returns false:
    /// Truncated when the capture ends first and no length field said the packet ended there,
    /// Malformed when a length field says the datagram ends before the header does.
    pub(crate) fn fits(&mut self, layer: u32, off: usize, n: usize, end: usize) -> bool {
        let len = self.d.len();
        if off + n <= end.min(len) {
            return true;
        }
        let kind = if off + n > end {
            FLAG_MALFORMED
        } else {
            FLAG_TRUNCATED
        };
        self.fail(layer, kind, off);
        false
    }
}

/// Big-endian u16 at `h[i..i + 2]` (the caller checked the length).
#[inline]
pub(crate) fn be16(h: &[u8], i: usize) -> u32 {
    u16::from_be_bytes([h[i], h[i + 1]]) as u32
}

/// Big-endian u32 at `h[i..i + 4]` (the caller checked the length).
#[inline]
pub(crate) fn be32(h: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout_covers_every_field_once() {
        // One u32 per field, in word order: the struct and the DISSECT_* indices agree in size.
        assert_eq!(std::mem::size_of::<Layers>(), Layers::RECORD_WORDS * 4);
        assert_eq!(DISSECT_PAYLOAD_LEN + 1, Layers::RECORD_WORDS);
        let l = Layers {
            flags: 1,
            error_layer: 2,
            icmp_seq: 3,
            payload_offset: 4,
            payload_len: 5,
            ..Layers::default()
        };
        let mut w = [0u32; Layers::RECORD_WORDS + 1];
        l.write_words(&mut w);
        assert_eq!(
            [
                w[DISSECT_FLAGS],
                w[DISSECT_ERROR_LAYER],
                w[DISSECT_ICMP_SEQ]
            ],
            [1, 2, 3]
        );
        assert_eq!(
            [
                w[DISSECT_PAYLOAD_OFFSET],
                w[DISSECT_PAYLOAD_LEN],
                w[Layers::RECORD_WORDS]
            ],
            [4, 5, 0]
        );
    }
}
