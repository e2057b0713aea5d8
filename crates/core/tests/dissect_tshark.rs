//! Oracle: tshark must agree with the dissector field by field on every fixture.
//!
//! The fixtures are written to one classic pcap file per link type (24-byte header, 16-byte record
//! headers, written here), read back with `tshark -T fields`, and each field is compared with what the
//! dissector's record says. Needs the Debian package `tshark`; without it the test prints a skip line,
//! and fails under `CI=true`.

mod dissect_common;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

use dissect_common::*;
use netring_core::dissect::*;

/// The tshark fields compared. Each is rendered from the record by `expected`.
const FIELDS: &[&str] = &[
    "eth.src",
    "eth.dst",
    "eth.type",
    "eth.len",
    "vlan.id",
    "ieee8021ad.id",
    "sll.pkttype",
    "sll.hatype",
    "sll.ifindex",
    "sll.etype",
    "null.family",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.ttl",
    "ip.len",
    "ip.hdr_len",
    "ip.id",
    "ip.flags",
    "ip.frag_offset",
    "ip.checksum",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.plen",
    "ipv6.hlim",
    "ipv6.flow",
    "ipv6.tclass",
    "ipv6.nxt",
    "ipv6.hopopts.nxt",
    "ipv6.routing.nxt",
    "ipv6.fraghdr.nxt",
    "ipv6.dstopts.nxt",
    "ah.next_header",
    "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more",
    "ipv6.fraghdr.ident",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.hdr_len",
    "tcp.window_size_value",
    "tcp.len",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "icmp.code",
    "icmp.ident",
    "icmp.seq",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
    "dns.id",
];

/// Classic pcap (microsecond, little-endian magic 0xa1b2c3d4), one record per packet.
fn pcap(link: u32, packets: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    v.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    v.extend_from_slice(&262_144u32.to_le_bytes()); // snaplen
    v.extend_from_slice(&link.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        v.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&(p.len() as u32).to_le_bytes());
        v.extend_from_slice(&(p.len() as u32).to_le_bytes());
        v.extend_from_slice(p);
    }
    v
}

fn mac(d: &[u8], off: u32) -> String {
    let m = &d[off as usize..off as usize + 6];
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn v4(d: &[u8], off: u32) -> String {
    let o = off as usize;
    Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]).to_string()
}

fn v6(d: &[u8], off: u32) -> String {
    let o = off as usize;
    let b: [u8; 16] = d[o..o + 16].try_into().unwrap();
    Ipv6Addr::from(b).to_string()
}

fn be16(d: &[u8], off: u32) -> u32 {
    u16::from_be_bytes([d[off as usize], d[off as usize + 1]]) as u32
}

/// What tshark should print for `field`, from the record (and the addresses it points at);
/// `None` if the field must be absent.
fn expected(field: &str, l: &Layers, d: &[u8]) -> Option<String> {
    let has = |f: u32| l.flags & f != 0;
    let n = |v: u32| Some(v.to_string());
    let ext = |bit: u32| l.ipv6_ext & bit != 0;
    let eth = has(FLAG_ETHERNET);
    let ip4 = has(FLAG_IPV4);
    let ip6 = has(FLAG_IPV6);
    let sll = has(FLAG_SLL | FLAG_SLL2);
    let echo4 = has(FLAG_ICMP) && has(FLAG_ICMP_ECHO);
    let echo6 = has(FLAG_ICMPV6) && has(FLAG_ICMP_ECHO);
    match field {
        "eth.src" if eth => Some(mac(d, l.link_src_offset)),
        "eth.dst" if eth => Some(mac(d, l.link_dst_offset)),
        "eth.type" if eth && !has(FLAG_IEEE8023) => n(l.link_protocol),
        "eth.len" if eth && has(FLAG_IEEE8023) => n(l.link_protocol),
        // tshark 4.0 gives 802.1ad (TPID 0x88a8) tags their own protocol; 0x8100 and 0x9100 are vlan.
        "vlan.id" | "ieee8021ad.id" if has(FLAG_VLAN) => {
            let tags = [l.vlan_outer, l.vlan_inner];
            let ids: Vec<String> = tags[..l.vlan_count.min(2) as usize]
                .iter()
                .filter(|t| (*t >> 16 == 0x88a8) == (field == "ieee8021ad.id"))
                .map(|t| (t & 0xfff).to_string())
                .collect();
            (!ids.is_empty()).then(|| ids.join("/"))
        }
        "sll.pkttype" if sll => n(l.sll_pkttype),
        "sll.hatype" if sll => n(l.sll_hatype),
        "sll.ifindex" if has(FLAG_SLL2) => n(l.sll_ifindex),
        "sll.etype" if sll && !has(FLAG_IEEE8023) => n(l.link_protocol),
        "null.family" if has(FLAG_LOOPBACK) => n(l.link_protocol),
        "arp.opcode" if has(FLAG_ARP) => n(l.arp_op),
        "arp.src.hw_mac" if has(FLAG_ARP_ETH_IPV4) => Some(mac(d, l.arp_sender_hw_offset)),
        "arp.src.proto_ipv4" if has(FLAG_ARP_ETH_IPV4) => Some(v4(d, l.arp_sender_proto_offset)),
        "arp.dst.hw_mac" if has(FLAG_ARP_ETH_IPV4) => Some(mac(d, l.arp_target_hw_offset)),
        "arp.dst.proto_ipv4" if has(FLAG_ARP_ETH_IPV4) => Some(v4(d, l.arp_target_proto_offset)),
        "ip.src" if ip4 => Some(v4(d, l.ip_src_offset)),
        "ip.dst" if ip4 => Some(v4(d, l.ip_dst_offset)),
        "ip.proto" if ip4 => n(l.ip_protocol),
        "ip.ttl" if ip4 => n(l.ip_ttl),
        "ip.len" if ip4 => n(l.ip_length),
        "ip.hdr_len" if ip4 => n(l.ip_header_len),
        "ip.id" if ip4 => n(l.ip_id),
        "ip.flags" if ip4 => n(l.ip_fragment >> 13),
        "ip.frag_offset" if ip4 => n(l.ip_fragment & 0x1fff), // tshark 4.0: in 8-byte units
        "ip.checksum" if ip4 => n(be16(d, l.ip_checksum_offset)),
        "ipv6.src" if ip6 => Some(v6(d, l.ip_src_offset)),
        "ipv6.dst" if ip6 => Some(v6(d, l.ip_dst_offset)),
        "ipv6.plen" if ip6 => n(l.ip_length),
        "ipv6.hlim" if ip6 => n(l.ip_ttl),
        "ipv6.flow" if ip6 => n(l.ip_flow_label),
        "ipv6.tclass" if ip6 => n(l.ip_tos),
        // The next-header chain is checked as a whole in `final_next_header`; here only presence.
        "ipv6.nxt" if ip6 => Some("*".into()),
        "ipv6.hopopts.nxt" if ext(IPV6_EXT_HOP_BY_HOP) => Some("*".into()),
        "ipv6.routing.nxt" if ext(IPV6_EXT_ROUTING) => Some("*".into()),
        "ipv6.fraghdr.nxt" if ext(IPV6_EXT_FRAGMENT) => Some("*".into()),
        "ipv6.dstopts.nxt" if ext(IPV6_EXT_DEST_OPTIONS) => Some("*".into()),
        "ah.next_header" if ext(IPV6_EXT_AUTH) => Some("*".into()),
        "ipv6.fraghdr.offset" if ext(IPV6_EXT_FRAGMENT) => n(l.ip_fragment & 0x1fff),
        "ipv6.fraghdr.more" if ext(IPV6_EXT_FRAGMENT) => n(l.ip_fragment >> 13 & 1),
        "ipv6.fraghdr.ident" if ext(IPV6_EXT_FRAGMENT) => n(l.ip_id),
        "tcp.srcport" if has(FLAG_TCP) => n(l.src_port),
        "tcp.dstport" if has(FLAG_TCP) => n(l.dst_port),
        "tcp.flags" if has(FLAG_TCP) => n(l.tcp_flags),
        "tcp.seq_raw" if has(FLAG_TCP) => n(l.tcp_seq),
        "tcp.ack_raw" if has(FLAG_TCP) => n(l.tcp_ack),
        "tcp.hdr_len" if has(FLAG_TCP) => n(l.tcp_header_len),
        "tcp.window_size_value" if has(FLAG_TCP) => n(l.tcp_window),
        // tshark leaves tcp.len out of a fragment it does not reassemble.
        "tcp.len" if has(FLAG_TCP) && !has(FLAG_FRAGMENT) => n(l.payload_len),
        "udp.srcport" if has(FLAG_UDP) => n(l.src_port),
        "udp.dstport" if has(FLAG_UDP) => n(l.dst_port),
        "udp.length" if has(FLAG_UDP) => n(l.udp_length),
        "icmp.type" if has(FLAG_ICMP) => n(l.icmp_type),
        "icmp.code" if has(FLAG_ICMP) => n(l.icmp_code),
        "icmp.ident" if echo4 => n(l.icmp_id),
        "icmp.seq" if echo4 => n(l.icmp_seq),
        "icmpv6.type" if has(FLAG_ICMPV6) => n(l.icmp_type),
        "icmpv6.code" if has(FLAG_ICMPV6) => n(l.icmp_code),
        "icmpv6.echo.identifier" if echo6 => n(l.icmp_id),
        "icmpv6.echo.sequence_number" if echo6 => n(l.icmp_seq),
        "dns.id" if has(FLAG_DNS) && l.payload_len >= 2 => n(be16(d, l.payload_offset)),
        _ => None,
    }
}

/// tshark's value normalised: numbers (decimal or 0x hex) and booleans as decimal; others as printed.
/// For fields tshark repeats in two byte orders (icmp.ident/seq: "BE/LE"), the first.
fn normalise(field: &str, v: &str) -> String {
    let v = if field.starts_with("icmp.") {
        v.split('/').next().unwrap_or("")
    } else {
        v
    };
    let parts: Vec<String> = v
        .split('/')
        .map(|p| {
            if let Some(h) = p.strip_prefix("0x") {
                u64::from_str_radix(h, 16)
                    .map(|x| x.to_string())
                    .unwrap_or(p.to_string())
            } else if p == "True" {
                "1".into()
            } else if p == "False" {
                "0".into()
            } else {
                p.to_string()
            }
        })
        .collect();
    parts.join("/")
}

/// The last next-header value tshark shows, following the chain from the fixed header.
fn final_next_header(got: &BTreeMap<&str, String>) -> Option<u32> {
    let mut nh: u32 = got.get("ipv6.nxt")?.parse().ok()?;
    loop {
        let field = match nh {
            0 => "ipv6.hopopts.nxt",
            43 => "ipv6.routing.nxt",
            44 => "ipv6.fraghdr.nxt",
            60 => "ipv6.dstopts.nxt",
            51 => "ah.next_header",
            _ => return Some(nh),
        };
        match got.get(field) {
            Some(v) if !v.is_empty() => nh = v.parse().ok()?,
            _ => return Some(nh),
        }
    }
}

#[test]
fn dissect_agrees_with_tshark() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(
            !ci,
            "tshark is missing and CI=true: install the Debian package tshark"
        );
        println!("SKIP dissect_agrees_with_tshark: tshark not found (Debian package `tshark`)");
        return;
    }
    let fx = fixtures();
    let mut by_link: BTreeMap<u32, Vec<&Fixture>> = BTreeMap::new();
    for f in &fx {
        by_link.entry(f.link).or_default().push(f);
    }
    let dir = std::env::temp_dir().join(format!("netring-dissect-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut packets = 0;
    let mut compared = 0;
    for (link, group) in &by_link {
        let file = dir.join(format!("link{link}.pcap"));
        let datas: Vec<&[u8]> = group.iter().map(|f| f.data.as_slice()).collect();
        std::fs::write(&file, pcap(*link, &datas)).unwrap();
        let mut cmd = Command::new("tshark");
        cmd.args(["-n", "-r"]).arg(&file);
        cmd.args([
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
            "-T",
            "fields",
        ]);
        cmd.args([
            "-E",
            "separator=,",
            "-E",
            "aggregator=/",
            "-E",
            "occurrence=a",
        ]);
        for f in FIELDS {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("run tshark");
        assert!(
            out.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            group.len(),
            "link {link}: tshark printed {} lines",
            lines.len()
        );
        for (f, line) in group.iter().zip(lines) {
            packets += 1;
            let mut l = Layers::default();
            dissect(&f.data, f.link, &mut l);
            let values: Vec<&str> = line.split(',').collect();
            assert_eq!(values.len(), FIELDS.len(), "{}: {line}", f.name);
            let got: BTreeMap<&str, String> = FIELDS
                .iter()
                .zip(&values)
                .map(|(k, v)| (*k, normalise(k, v)))
                .collect();
            for field in FIELDS {
                let g = &got[field];
                let want = expected(field, &l, &f.data);
                compared += 1;
                let ok = match &want {
                    None => g.is_empty(),
                    Some(w) if w == "*" => !g.is_empty(),
                    Some(w) => w == g,
                };
                if !ok {
                    failures.push(format!(
                        "{}: {field}: tshark {g:?}, dissector {want:?}",
                        f.name
                    ));
                }
            }
            if l.flags & FLAG_IPV6 != 0 {
                compared += 1;
                let t = final_next_header(&got);
                if t != Some(l.ip_protocol) {
                    failures.push(format!(
                        "{}: final next header: tshark {t:?}, dissector {}",
                        f.name, l.ip_protocol
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "tshark: {compared} field comparisons over {packets} packets, {} disagreements",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
