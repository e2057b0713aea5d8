//! Byte fixtures for the dissector tests, built here field by field.
//!
//! Origin: hand-assembled from the header layouts of the RFCs named at each builder (791, 8200, 9293,
//! 768, 792, 4443, 826, 4302), IEEE 802.1Q/802.1ad, and libpcap's `sll.h` / `LINKTYPE_*` list
//! (tcpdump.org/linktypes.html). Addresses are documentation ranges (192.0.2.0/24, 198.51.100.0/24,
//! 2001:db8::/32). tshark checks them independently in `dissect_tshark.rs`.
#![allow(dead_code)]

use netring_core::dissect::*;

/// One packet, its link type, and the record words it must produce (word index, value).
pub struct Fixture {
    pub name: &'static str,
    pub link: u32,
    pub data: Vec<u8>,
    pub expect: Vec<(usize, u32)>,
}

pub const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
pub const IP_A: [u8; 4] = [192, 0, 2, 1];
pub const IP_B: [u8; 4] = [198, 51, 100, 2];
pub const IP6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub const IP6_B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// Ethernet II header: destination, source, ethertype (or 802.3 length).
pub fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&MAC_B);
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

/// A VLAN tag (IEEE 802.1Q): TCI, then the inner ethertype. The TPID is written by the layer before.
pub fn vlan(tci: u16, inner: u16, rest: &[u8]) -> Vec<u8> {
    let mut v = tci.to_be_bytes().to_vec();
    v.extend_from_slice(&inner.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

fn checksum(h: &[u8]) -> u16 {
    let mut s = 0u32;
    for c in h.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// IPv4 header (RFC 791) with `options` (a multiple of 4 bytes), id 0x1234, TTL 64, correct checksum.
pub fn ipv4(proto: u8, frag: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let hl = 20 + options.len();
    let total = (hl + payload.len()) as u16;
    let mut v = vec![0x40 | (hl / 4) as u8, 0x00];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&0x1234u16.to_be_bytes());
    v.extend_from_slice(&frag.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0]);
    v.extend_from_slice(&IP_A);
    v.extend_from_slice(&IP_B);
    v.extend_from_slice(options);
    let c = checksum(&v);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// IPv6 fixed header (RFC 8200): traffic class 0x2e, flow label 0x12345, hop limit 63.
pub fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x62, 0xe1, 0x23, 0x45];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 63]);
    v.extend_from_slice(&IP6_A);
    v.extend_from_slice(&IP6_B);
    v.extend_from_slice(payload);
    v
}

/// An IPv6 options header (hop-by-hop 0 / destination options 60, RFC 8200 4.3/4.6): 8 bytes, PadN.
pub fn ext_opts(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![next, 0, 1, 4, 0, 0, 0, 0];
    v.extend_from_slice(rest);
    v
}

/// An IPv6 routing header (RFC 8200 4.4), type 4 (segment routing) with one 16-byte segment: 24 bytes.
pub fn ext_routing(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![next, 2, 4, 0, 0, 0, 0, 0];
    v.extend_from_slice(&IP6_B);
    v.extend_from_slice(rest);
    v
}

/// An IPv6 fragment header (RFC 8200 4.5): offset in 8-byte units, M flag, identification 0xdeadbeef.
pub fn ext_fragment(next: u8, offset: u16, more: bool, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![next, 0];
    v.extend_from_slice(&(offset << 3 | more as u16).to_be_bytes());
    v.extend_from_slice(&0xdead_beefu32.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

/// An authentication header (RFC 4302): payload len 4 (= 24 bytes), SPI 0x100, seq 1, 12-byte ICV.
pub fn ext_ah(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![next, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    v.extend_from_slice(&[0xaa; 12]);
    v.extend_from_slice(rest);
    v
}

/// UDP header (RFC 768), checksum 0.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = sport.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// TCP header (RFC 9293) with `options` (a multiple of 4 bytes), window 0xfaf0.
pub fn tcp(
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let doff = ((20 + options.len()) / 4) as u16;
    let mut v = sport.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&(doff << 12 | flags).to_be_bytes());
    v.extend_from_slice(&0xfaf0u16.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(options);
    v.extend_from_slice(payload);
    v
}

/// ICMP / ICMPv6 header: type, code, checksum 0, then 4 bytes of body (echo: id, seq).
pub fn icmp(ty: u8, code: u8, body: [u8; 4], rest: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0];
    v.extend_from_slice(&body);
    v.extend_from_slice(rest);
    v
}

/// Ethernet/IPv4 ARP (RFC 826).
pub fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut v = vec![0, 1, 0x08, 0x00, 6, 4];
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa);
    v.extend_from_slice(&tha);
    v.extend_from_slice(&tpa);
    v
}

/// Linux cooked v1 header (libpcap sll.h): packet type, ARPHRD_ETHER, halen 6, address, protocol.
pub fn sll(pkttype: u16, protocol: u16, rest: &[u8]) -> Vec<u8> {
    let mut v = pkttype.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 1, 0, 6]);
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&protocol.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

/// Linux cooked v2 header (libpcap sll.h): protocol, reserved, ifindex, ARPHRD_ETHER, packet type, halen 6, address.
pub fn sll2(protocol: u16, ifindex: u32, pkttype: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = protocol.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&ifindex.to_be_bytes());
    v.extend_from_slice(&[0, 1, pkttype, 6]);
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(rest);
    v
}

/// A minimal DNS query header (RFC 1035 4.1.1), id 0xabcd, one question "a." type A class IN.
pub fn dns_query() -> Vec<u8> {
    vec![
        0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
    ]
}

const E: usize = 14; // Ethernet header length
const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;

fn f(name: &'static str, link: u32, data: Vec<u8>, expect: &[(usize, u32)]) -> Fixture {
    Fixture {
        name,
        link,
        data,
        expect: expect.to_vec(),
    }
}

/// Every fixture. `expect` lists the words that matter; `dissect_fixtures.rs` checks them all.
pub fn fixtures() -> Vec<Fixture> {
    let payload = b"hello, dissector";
    let mss_sack_ts_ws: &[u8] = &[
        2, 4, 0x05, 0xb4, // MSS 1460
        4, 2, // SACK permitted
        8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // timestamps
        1, // NOP
        3, 3, 7, // window scale 7
    ];
    let echo = icmp(8, 0, [0x12, 0x34, 0x00, 0x07], b"ping-data");
    let ip_opt_rr: &[u8] = &[7, 7, 4, 0, 0, 0, 0, 0]; // record route, one slot, then EOL padding
    let udp_v6 = udp(40000, 9, payload);
    let ns = {
        // ICMPv6 neighbour solicitation (RFC 4861 4.3): reserved, target, source link-layer option.
        let mut r = IP6_B.to_vec();
        r.extend_from_slice(&[1, 1]);
        r.extend_from_slice(&MAC_A);
        icmp(135, 0, [0; 4], &r)
    };
    vec![
        f(
            "eth ipv4 udp",
            LINKTYPE_ETHERNET,
            eth(IPV4, &ipv4(17, 0, &[], &udp(40000, 9, payload))),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV4 | FLAG_UDP),
                (DISSECT_ETHERTYPE, 0x0800),
                (DISSECT_NETWORK_OFFSET, 14),
                (DISSECT_IP_VERSION, 4),
                (DISSECT_IP_HEADER_LEN, 20),
                (DISSECT_IP_LENGTH, 44),
                (DISSECT_IP_PROTOCOL, 17),
                (DISSECT_IP_TTL, 64),
                (DISSECT_IP_ID, 0x1234),
                (DISSECT_IP_SRC_OFFSET, 26),
                (DISSECT_IP_DST_OFFSET, 30),
                (DISSECT_IP_CHECKSUM_OFFSET, 24),
                (DISSECT_TRANSPORT_OFFSET, 34),
                (DISSECT_SRC_PORT, 40000),
                (DISSECT_DST_PORT, 9),
                (DISSECT_UDP_LENGTH, 24),
                (DISSECT_PAYLOAD_OFFSET, 42),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv4 udp dns (padded to 60 bytes)",
            LINKTYPE_ETHERNET,
            {
                let mut v = eth(IPV4, &ipv4(17, 0x4000, &[], &udp(53000, 53, &dns_query())));
                v.resize(v.len().max(60), 0);
                v
            },
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV4 | FLAG_UDP | FLAG_DNS,
                ),
                (DISSECT_IP_FRAGMENT, 0x4000),
                (DISSECT_PAYLOAD_OFFSET, 42),
                (DISSECT_PAYLOAD_LEN, 19),
            ],
        ),
        f(
            "eth ipv4 tcp syn with options",
            LINKTYPE_ETHERNET,
            eth(
                IPV4,
                &ipv4(
                    6,
                    0x4000,
                    &[],
                    &tcp(443, 51000, 0x1122_3344, 0, 0x002, mss_sack_ts_ws, &[]),
                ),
            ),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV4 | FLAG_TCP),
                (DISSECT_SRC_PORT, 443),
                (DISSECT_DST_PORT, 51000),
                (DISSECT_TCP_SEQ, 0x1122_3344),
                (DISSECT_TCP_FLAGS, 0x002),
                (DISSECT_TCP_HEADER_LEN, 40),
                (DISSECT_TCP_OPTIONS_OFFSET, 54),
                (DISSECT_TCP_OPTIONS_LEN, 20),
                (DISSECT_TCP_WINDOW, 0xfaf0),
                (DISSECT_PAYLOAD_OFFSET, 74),
                (DISSECT_PAYLOAD_LEN, 0),
            ],
        ),
        f(
            "eth ipv4 tcp psh-ack with data",
            LINKTYPE_ETHERNET,
            eth(
                IPV4,
                &ipv4(
                    6,
                    0x4000,
                    &[],
                    &tcp(51000, 80, 1000, 2000, 0x018, &[1, 1, 1, 0], payload),
                ),
            ),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV4 | FLAG_TCP),
                (DISSECT_TCP_ACK, 2000),
                (DISSECT_TCP_FLAGS, 0x018),
                (DISSECT_TCP_HEADER_LEN, 24),
                (DISSECT_PAYLOAD_OFFSET, 58),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv4 icmp echo request",
            LINKTYPE_ETHERNET,
            eth(IPV4, &ipv4(1, 0, &[], &echo)),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV4 | FLAG_ICMP | FLAG_ICMP_ECHO,
                ),
                (DISSECT_ICMP_TYPE, 8),
                (DISSECT_ICMP_CODE, 0),
                (DISSECT_ICMP_ID, 0x1234),
                (DISSECT_ICMP_SEQ, 7),
                (DISSECT_PAYLOAD_OFFSET, 42),
                (DISSECT_PAYLOAD_LEN, 9),
            ],
        ),
        f(
            "eth ipv4 icmp port unreachable",
            LINKTYPE_ETHERNET,
            eth(IPV4, &ipv4(1, 0, &[], &icmp(3, 3, [0; 4], &[]))),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV4 | FLAG_ICMP),
                (DISSECT_ICMP_TYPE, 3),
                (DISSECT_ICMP_CODE, 3),
            ],
        ),
        f(
            "eth arp request (padded)",
            LINKTYPE_ETHERNET,
            {
                let mut v = eth(0x0806, &arp(1, MAC_A, IP_A, [0; 6], IP_B));
                v.resize(60, 0);
                v
            },
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_ARP | FLAG_ARP_ETH_IPV4),
                (DISSECT_ETHERTYPE, 0x0806),
                (DISSECT_ARP_OP, 1),
                (DISSECT_ARP_ADDR_LENS, 6 | 4 << 8),
                (DISSECT_ARP_SENDER_HW_OFFSET, 22),
                (DISSECT_ARP_SENDER_PROTO_OFFSET, 28),
                (DISSECT_ARP_TARGET_HW_OFFSET, 32),
                (DISSECT_ARP_TARGET_PROTO_OFFSET, 38),
                (DISSECT_PAYLOAD_OFFSET, 42),
                (DISSECT_PAYLOAD_LEN, 18),
            ],
        ),
        f(
            "eth arp reply",
            LINKTYPE_ETHERNET,
            eth(0x0806, &arp(2, MAC_B, IP_B, MAC_A, IP_A)),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_ARP | FLAG_ARP_ETH_IPV4),
                (DISSECT_ARP_OP, 2),
            ],
        ),
        f(
            "eth vlan 100 ipv4 udp",
            LINKTYPE_ETHERNET,
            eth(
                0x8100,
                &vlan(0x2064, IPV4, &ipv4(17, 0, &[], &udp(40000, 9, payload))),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_VLAN | FLAG_IPV4 | FLAG_UDP,
                ),
                (DISSECT_LINK_PROTOCOL, 0x8100),
                (DISSECT_VLAN_COUNT, 1),
                (DISSECT_VLAN_OUTER, 0x8100_2064),
                (DISSECT_VLAN_INNER, 0),
                (DISSECT_NETWORK_OFFSET, 18),
                (DISSECT_TRANSPORT_OFFSET, 38),
            ],
        ),
        f(
            "eth qinq 802.1ad 200 / 802.1q 100 ipv6 udp",
            LINKTYPE_ETHERNET,
            eth(
                0x88a8,
                &vlan(200, 0x8100, &vlan(100, IPV6, &ipv6(17, &udp_v6))),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_VLAN | FLAG_IPV6 | FLAG_UDP,
                ),
                (DISSECT_VLAN_COUNT, 2),
                (DISSECT_VLAN_OUTER, 0x88a8_00c8),
                (DISSECT_VLAN_INNER, 0x8100_0064),
                (DISSECT_NETWORK_OFFSET, 22),
                (DISSECT_ETHERTYPE, 0x86dd),
            ],
        ),
        f(
            "eth 0x9100 tag ipv4 tcp",
            LINKTYPE_ETHERNET,
            eth(
                0x9100,
                &vlan(7, IPV4, &ipv4(6, 0, &[], &tcp(1, 2, 3, 4, 0x010, &[], &[]))),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_VLAN | FLAG_IPV4 | FLAG_TCP,
                ),
                (DISSECT_VLAN_OUTER, 0x9100_0007),
                (DISSECT_NETWORK_OFFSET, 18),
            ],
        ),
        f(
            "eth ipv4 with record-route option, udp",
            LINKTYPE_ETHERNET,
            eth(IPV4, &ipv4(17, 0, ip_opt_rr, &udp(40000, 9, payload))),
            &[
                (DISSECT_IP_HEADER_LEN, 28),
                (DISSECT_IP_OPTIONS_OFFSET, E as u32 + 20),
                (DISSECT_IP_OPTIONS_LEN, 8),
                (DISSECT_TRANSPORT_OFFSET, 42),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv4 first fragment (MF) udp",
            LINKTYPE_ETHERNET,
            eth(IPV4, &ipv4(17, 0x2000, &[], &udp(40000, 9, payload)[..16])),
            &[
                // The UDP length (24) counts the whole datagram; this fragment holds 8 of its 16 payload bytes.
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV4 | FLAG_FRAGMENT | FLAG_UDP,
                ),
                (DISSECT_UDP_LENGTH, 24),
                (DISSECT_PAYLOAD_LEN, 8),
            ],
        ),
        f(
            "eth ipv4 non-first fragment",
            LINKTYPE_ETHERNET,
            eth(IPV4, &ipv4(17, 0x0003, &[], payload)),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV4 | FLAG_FRAGMENT | FLAG_LATER_FRAGMENT,
                ),
                (DISSECT_IP_FRAGMENT, 3),
                (DISSECT_PAYLOAD_OFFSET, 34),
                (DISSECT_PAYLOAD_LEN, 16),
                (DISSECT_TRANSPORT_OFFSET, 0),
            ],
        ),
        f(
            "eth ipv4 first fragment (MF) tcp",
            LINKTYPE_ETHERNET,
            eth(
                IPV4,
                &ipv4(6, 0x2000, &[], &tcp(51000, 80, 1, 2, 0x018, &[], payload)),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV4 | FLAG_FRAGMENT | FLAG_TCP,
                ),
                (DISSECT_IP_FRAGMENT, 0x2000),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv6 udp",
            LINKTYPE_ETHERNET,
            eth(IPV6, &ipv6(17, &udp_v6)),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV6 | FLAG_UDP),
                (DISSECT_IP_VERSION, 6),
                (DISSECT_IP_LENGTH, 24),
                (DISSECT_IP_TTL, 63),
                (DISSECT_IP_TOS, 0x2e),
                (DISSECT_IP_FLOW_LABEL, 0x12345),
                (DISSECT_IP_SRC_OFFSET, 22),
                (DISSECT_IP_DST_OFFSET, 38),
                (DISSECT_IP_HEADER_LEN, 40),
                (DISSECT_TRANSPORT_OFFSET, 54),
                (DISSECT_PAYLOAD_OFFSET, 62),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv6 hop-by-hop udp",
            LINKTYPE_ETHERNET,
            eth(IPV6, &ipv6(0, &ext_opts(17, &udp_v6))),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV6 | FLAG_UDP),
                (DISSECT_IPV6_EXT, IPV6_EXT_HOP_BY_HOP),
                (DISSECT_IP_PROTOCOL, 17),
                (DISSECT_IP_HEADER_LEN, 48),
                (DISSECT_TRANSPORT_OFFSET, 62),
            ],
        ),
        f(
            "eth ipv6 routing tcp",
            LINKTYPE_ETHERNET,
            eth(
                IPV6,
                &ipv6(43, &ext_routing(6, &tcp(51000, 443, 5, 6, 0x011, &[], &[]))),
            ),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV6 | FLAG_TCP),
                (DISSECT_IPV6_EXT, IPV6_EXT_ROUTING),
                (DISSECT_IP_HEADER_LEN, 64),
                (DISSECT_TCP_FLAGS, 0x011),
            ],
        ),
        f(
            "eth ipv6 fragment first udp",
            LINKTYPE_ETHERNET,
            eth(
                IPV6,
                &ipv6(44, &ext_fragment(17, 0, true, &udp(40000, 9, &[0; 8]))),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV6 | FLAG_FRAGMENT | FLAG_UDP,
                ),
                (DISSECT_IPV6_EXT, IPV6_EXT_FRAGMENT),
                (DISSECT_IP_ID, 0xdead_beef),
                (DISSECT_IP_FRAGMENT, 0x2000),
                (DISSECT_TRANSPORT_OFFSET, 62),
            ],
        ),
        f(
            "eth ipv6 fragment non-first",
            LINKTYPE_ETHERNET,
            eth(IPV6, &ipv6(44, &ext_fragment(17, 2, false, payload))),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV6 | FLAG_FRAGMENT | FLAG_LATER_FRAGMENT,
                ),
                (DISSECT_IP_FRAGMENT, 2),
                (DISSECT_IP_PROTOCOL, 17),
                (DISSECT_PAYLOAD_OFFSET, 62),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv6 destination options icmpv6 echo",
            LINKTYPE_ETHERNET,
            eth(
                IPV6,
                &ipv6(60, &ext_opts(58, &icmp(128, 0, [0, 9, 0, 1], b"abc"))),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV6 | FLAG_ICMPV6 | FLAG_ICMP_ECHO,
                ),
                (DISSECT_IPV6_EXT, IPV6_EXT_DEST_OPTIONS),
                (DISSECT_ICMP_TYPE, 128),
                (DISSECT_ICMP_ID, 9),
                (DISSECT_ICMP_SEQ, 1),
                (DISSECT_PAYLOAD_LEN, 3),
            ],
        ),
        f(
            "eth ipv6 hop-by-hop routing fragment dstopts ah udp",
            LINKTYPE_ETHERNET,
            eth(
                IPV6,
                &ipv6(
                    0,
                    &ext_opts(
                        43,
                        &ext_routing(
                            44,
                            &ext_fragment(60, 0, true, &ext_opts(51, &ext_ah(17, &udp_v6))),
                        ),
                    ),
                ),
            ),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV6 | FLAG_FRAGMENT | FLAG_UDP,
                ),
                (
                    DISSECT_IPV6_EXT,
                    IPV6_EXT_HOP_BY_HOP
                        | IPV6_EXT_ROUTING
                        | IPV6_EXT_FRAGMENT
                        | IPV6_EXT_DEST_OPTIONS
                        | IPV6_EXT_AUTH,
                ),
                (DISSECT_IP_HEADER_LEN, 40 + 8 + 24 + 8 + 8 + 24),
                (DISSECT_IP_PROTOCOL, 17),
            ],
        ),
        f(
            "eth ipv6 ah tcp",
            LINKTYPE_ETHERNET,
            eth(
                IPV6,
                &ipv6(51, &ext_ah(6, &tcp(22, 50000, 7, 8, 0x010, &[], payload))),
            ),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV6 | FLAG_TCP),
                (DISSECT_IPV6_EXT, IPV6_EXT_AUTH),
                (DISSECT_IP_HEADER_LEN, 64),
                (DISSECT_PAYLOAD_LEN, 16),
            ],
        ),
        f(
            "eth ipv6 esp stop",
            LINKTYPE_ETHERNET,
            eth(
                IPV6,
                &ipv6(50, &[0, 0, 1, 0, 0, 0, 0, 1, 0xee, 0xee, 0xee, 0xee]),
            ),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV6),
                (DISSECT_IPV6_EXT, IPV6_EXT_ESP),
                (DISSECT_IP_PROTOCOL, 50),
                (DISSECT_PAYLOAD_OFFSET, 54),
                (DISSECT_PAYLOAD_LEN, 12),
            ],
        ),
        f(
            "eth ipv6 no next header",
            LINKTYPE_ETHERNET,
            eth(IPV6, &ipv6(59, &[])),
            &[
                (DISSECT_IPV6_EXT, IPV6_EXT_NO_NEXT),
                (DISSECT_IP_PROTOCOL, 59),
                (DISSECT_PAYLOAD_LEN, 0),
            ],
        ),
        f(
            "eth ipv6 icmpv6 neighbour solicitation",
            LINKTYPE_ETHERNET,
            eth(IPV6, &ipv6(58, &ns)),
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IPV6 | FLAG_ICMPV6),
                (DISSECT_ICMP_TYPE, 135),
                (DISSECT_PAYLOAD_LEN, 24),
            ],
        ),
        f(
            "eth ipv6 icmpv6 echo reply",
            LINKTYPE_ETHERNET,
            eth(IPV6, &ipv6(58, &icmp(129, 0, [0xbe, 0xef, 0, 2], &[]))),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_ETHERNET | FLAG_IPV6 | FLAG_ICMPV6 | FLAG_ICMP_ECHO,
                ),
                (DISSECT_ICMP_ID, 0xbeef),
            ],
        ),
        f(
            "eth 802.3 length frame (LLC STP, padded)",
            LINKTYPE_ETHERNET,
            {
                // 802.3 length 38: LLC DSAP 0x42 SSAP 0x42 UI, then a 35-byte config BPDU of zeros.
                let mut llc = vec![0x42, 0x42, 0x03];
                llc.extend_from_slice(&[0; 35]);
                let mut v = eth(38, &llc);
                v.resize(60, 0);
                v
            },
            &[
                (DISSECT_FLAGS, FLAG_ETHERNET | FLAG_IEEE8023),
                (DISSECT_LINK_PROTOCOL, 38),
                (DISSECT_ETHERTYPE, 0),
                (DISSECT_PAYLOAD_OFFSET, 14),
                (DISSECT_PAYLOAD_LEN, 38),
            ],
        ),
        f(
            "sll ipv4 udp, outgoing",
            LINKTYPE_LINUX_SLL,
            sll(4, IPV4, &ipv4(17, 0, &[], &udp(40000, 9, payload))),
            &[
                (DISSECT_FLAGS, FLAG_SLL | FLAG_IPV4 | FLAG_UDP),
                (DISSECT_SLL_PKTTYPE, 4),
                (DISSECT_SLL_HATYPE, 1),
                (DISSECT_LINK_SRC_OFFSET, 6),
                (DISSECT_LINK_ADDR_LEN, 6),
                (DISSECT_NETWORK_OFFSET, 16),
            ],
        ),
        f(
            "sll arp, broadcast",
            LINKTYPE_LINUX_SLL,
            sll(1, 0x0806, &arp(1, MAC_A, IP_A, [0; 6], IP_B)),
            &[
                (DISSECT_FLAGS, FLAG_SLL | FLAG_ARP | FLAG_ARP_ETH_IPV4),
                (DISSECT_SLL_PKTTYPE, 1),
            ],
        ),
        f(
            "sll2 ipv6 tcp, ifindex 7, host",
            LINKTYPE_LINUX_SLL2,
            sll2(
                IPV6,
                7,
                0,
                &ipv6(6, &tcp(51000, 443, 9, 10, 0x018, &[], payload)),
            ),
            &[
                (DISSECT_FLAGS, FLAG_SLL2 | FLAG_IPV6 | FLAG_TCP),
                (DISSECT_SLL_IFINDEX, 7),
                (DISSECT_SLL_PKTTYPE, 0),
                (DISSECT_SLL_HATYPE, 1),
                (DISSECT_LINK_SRC_OFFSET, 12),
                (DISSECT_NETWORK_OFFSET, 20),
            ],
        ),
        f(
            "sll2 ipv4 icmp echo, ifindex 3, outgoing",
            LINKTYPE_LINUX_SLL2,
            sll2(IPV4, 3, 4, &ipv4(1, 0, &[], &echo)),
            &[
                (
                    DISSECT_FLAGS,
                    FLAG_SLL2 | FLAG_IPV4 | FLAG_ICMP | FLAG_ICMP_ECHO,
                ),
                (DISSECT_SLL_IFINDEX, 3),
                (DISSECT_SLL_PKTTYPE, 4),
            ],
        ),
        f(
            "raw ipv4 udp",
            LINKTYPE_RAW,
            ipv4(17, 0, &[], &udp(40000, 5353, &dns_query())),
            &[
                (DISSECT_FLAGS, FLAG_IPV4 | FLAG_UDP | FLAG_DNS),
                (DISSECT_ETHERTYPE, 0x0800),
                (DISSECT_NETWORK_OFFSET, 0),
                (DISSECT_PAYLOAD_OFFSET, 28),
            ],
        ),
        f(
            "raw ipv6 tcp",
            LINKTYPE_RAW,
            ipv6(6, &tcp(53, 40000, 1, 1, 0x012, &[], &[])),
            &[
                (DISSECT_FLAGS, FLAG_IPV6 | FLAG_TCP | FLAG_DNS),
                (DISSECT_ETHERTYPE, 0x86dd),
                (DISSECT_TRANSPORT_OFFSET, 40),
            ],
        ),
        f(
            "linktype ipv4 icmp",
            LINKTYPE_IPV4,
            ipv4(1, 0, &[], &echo),
            &[(DISSECT_FLAGS, FLAG_IPV4 | FLAG_ICMP | FLAG_ICMP_ECHO)],
        ),
        f(
            "linktype ipv6 udp",
            LINKTYPE_IPV6,
            ipv6(17, &udp_v6),
            &[
                (DISSECT_FLAGS, FLAG_IPV6 | FLAG_UDP),
                (DISSECT_PAYLOAD_OFFSET, 48),
            ],
        ),
        f(
            "null little-endian AF_INET udp",
            LINKTYPE_NULL,
            [
                &2u32.to_le_bytes()[..],
                &ipv4(17, 0, &[], &udp(40000, 9, payload)),
            ]
            .concat(),
            &[
                (DISSECT_FLAGS, FLAG_LOOPBACK | FLAG_IPV4 | FLAG_UDP),
                (DISSECT_LINK_PROTOCOL, 2),
                (DISSECT_NETWORK_OFFSET, 4),
            ],
        ),
        f(
            "null big-endian AF_INET6 (darwin 30) tcp",
            LINKTYPE_NULL,
            [
                &30u32.to_be_bytes()[..],
                &ipv6(6, &tcp(1, 2, 3, 4, 0x004, &[], &[])),
            ]
            .concat(),
            &[
                (DISSECT_FLAGS, FLAG_LOOPBACK | FLAG_IPV6 | FLAG_TCP),
                (DISSECT_LINK_PROTOCOL, 30),
            ],
        ),
        f(
            "null little-endian AF_INET6 (freebsd 28) icmpv6",
            LINKTYPE_NULL,
            [
                &28u32.to_le_bytes()[..],
                &ipv6(58, &icmp(128, 0, [0, 1, 0, 1], &[])),
            ]
            .concat(),
            &[(
                DISSECT_FLAGS,
                FLAG_LOOPBACK | FLAG_IPV6 | FLAG_ICMPV6 | FLAG_ICMP_ECHO,
            )],
        ),
        f(
            "loop AF_INET6 (openbsd 24) udp",
            LINKTYPE_LOOP,
            [&24u32.to_be_bytes()[..], &ipv6(17, &udp_v6)].concat(),
            &[
                (DISSECT_FLAGS, FLAG_LOOPBACK | FLAG_IPV6 | FLAG_UDP),
                (DISSECT_LINK_PROTOCOL, 24),
            ],
        ),
        f(
            "loop AF_INET tcp",
            LINKTYPE_LOOP,
            [
                &2u32.to_be_bytes()[..],
                &ipv4(6, 0, &[], &tcp(1, 2, 3, 4, 0x002, &[], &[])),
            ]
            .concat(),
            &[
                (DISSECT_FLAGS, FLAG_LOOPBACK | FLAG_IPV4 | FLAG_TCP),
                (DISSECT_NETWORK_OFFSET, 4),
            ],
        ),
    ]
}

/// Checks the invariant: every offset plus the length it implies lies within `len`.
pub fn check_bounds(l: &Layers, len: usize) -> Result<(), String> {
    let len = len as u64;
    let within = |name: &str, off: u32, n: u64, present: bool| -> Result<(), String> {
        if present && off as u64 + n > len {
            Err(format!("{name}: {off}+{n} > {len}"))
        } else {
            Ok(())
        }
    };
    within("payload", l.payload_offset, l.payload_len as u64, true)?;
    within("network", l.network_offset, 0, true)?;
    within("transport", l.transport_offset, 0, true)?;
    let eth = l.flags & FLAG_ETHERNET != 0;
    let sll = l.flags & (FLAG_SLL | FLAG_SLL2) != 0;
    within(
        "link src",
        l.link_src_offset,
        l.link_addr_len as u64,
        eth || sll,
    )?;
    within("link dst", l.link_dst_offset, l.link_addr_len as u64, eth)?;
    let alen = if l.ip_version == 6 { 16 } else { 4 };
    let ip = l.flags & (FLAG_IPV4 | FLAG_IPV6) != 0;
    within("ip src", l.ip_src_offset, alen, ip)?;
    within("ip dst", l.ip_dst_offset, alen, ip)?;
    within("ip header", l.network_offset, l.ip_header_len as u64, ip)?;
    within(
        "ip checksum",
        l.ip_checksum_offset,
        2,
        l.flags & FLAG_IPV4 != 0,
    )?;
    within(
        "ip options",
        l.ip_options_offset,
        l.ip_options_len as u64,
        true,
    )?;
    let tcp = l.flags & FLAG_TCP != 0;
    within(
        "tcp header",
        l.transport_offset,
        l.tcp_header_len as u64,
        tcp,
    )?;
    within(
        "tcp options",
        l.tcp_options_offset,
        l.tcp_options_len as u64,
        true,
    )?;
    within("udp header", l.transport_offset, 8, l.flags & FLAG_UDP != 0)?;
    within(
        "icmp header",
        l.transport_offset,
        8,
        l.flags & (FLAG_ICMP | FLAG_ICMPV6) != 0,
    )?;
    let arp = l.flags & FLAG_ARP != 0;
    let (h, p) = (
        (l.arp_addr_lens & 0xff) as u64,
        (l.arp_addr_lens >> 8) as u64,
    );
    within("arp sha", l.arp_sender_hw_offset, h, arp)?;
    within("arp spa", l.arp_sender_proto_offset, p, arp)?;
    within("arp tha", l.arp_target_hw_offset, h, arp)?;
    within("arp tpa", l.arp_target_proto_offset, p, arp)?;
    Ok(())
}
