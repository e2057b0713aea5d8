//! Dissector: table-driven fixtures, every truncation of every fixture, length fields that lie,
//! and a seeded random/mutation run over every link type. Unprivileged; no network.

mod dissect_common;

use dissect_common::*;
use netring_core::dissect::*;

fn run(data: &[u8], link: u32) -> (Layers, [u32; Layers::RECORD_WORDS]) {
    let mut l = Layers::default();
    dissect(data, link, &mut l);
    let mut w = [0u32; Layers::RECORD_WORDS];
    l.write_words(&mut w);
    (l, w)
}

#[test]
fn dissect_fixtures_table() {
    let mut failures = Vec::new();
    for fx in fixtures() {
        let (l, w) = run(&fx.data, fx.link);
        assert_eq!(w[DISSECT_LINK_TYPE], fx.link);
        if let Err(e) = check_bounds(&l, fx.data.len()) {
            failures.push(format!("{}: bounds: {e}", fx.name));
        }
        // A fixture without an error word expected must decode cleanly.
        if !fx.expect.iter().any(|&(i, _)| i == DISSECT_ERROR_LAYER) && l.error_layer != LAYER_NONE
        {
            failures.push(format!(
                "{}: unexpected error at layer {} (flags {:#x})",
                fx.name, l.error_layer, l.flags
            ));
        }
        for &(i, want) in &fx.expect {
            if w[i] != want {
                failures.push(format!(
                    "{}: word {i} is {:#x}, want {want:#x}",
                    fx.name, w[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every prefix of every fixture: no panic, offsets in bounds, and a cut header reports truncation.
#[test]
fn dissect_every_truncation() {
    for fx in fixtures() {
        let (full, _) = run(&fx.data, fx.link);
        for n in 0..fx.data.len() {
            let (l, _) = run(&fx.data[..n], fx.link);
            if let Err(e) = check_bounds(&l, n) {
                panic!("{} cut to {n}: {e}", fx.name);
            }
            // Either a header was cut (truncated) or only payload/length-covered bytes were lost.
            let cut = l.flags & FLAG_TRUNCATED != 0;
            let short = l.flags & FLAG_SNAPLEN != 0
                || l.payload_len < full.payload_len
                || l.flags == full.flags;
            assert!(
                cut || short,
                "{} cut to {n}: flags {:#x} vs full {:#x}",
                fx.name,
                l.flags,
                full.flags
            );
            assert_eq!(
                l.flags & FLAG_MALFORMED,
                0,
                "{} cut to {n}: a cut is not malformed",
                fx.name
            );
        }
    }
}

#[test]
fn dissect_snaplen_vs_truncated() {
    // 60 bytes of a 1,000-byte IPv4/UDP datagram: the headers are whole, the lengths say more.
    let full = eth(0x0800, &ipv4(17, 0, &[], &udp(1, 2, &[7; 972])));
    let (l, _) = run(&full[..60], LINKTYPE_ETHERNET);
    assert_eq!(
        l.flags & (FLAG_SNAPLEN | FLAG_TRUNCATED | FLAG_MALFORMED | FLAG_UDP),
        FLAG_SNAPLEN | FLAG_UDP
    );
    assert_eq!((l.payload_offset, l.payload_len), (42, 18));
    // Cut inside the UDP header: truncated at UDP, IPv4 stays valid.
    let (l, _) = run(&full[..38], LINKTYPE_ETHERNET);
    assert_eq!(l.error_layer, LAYER_UDP);
    assert!(l.has(FLAG_TRUNCATED | FLAG_IPV4 | FLAG_SNAPLEN));
    assert_eq!(l.ip_src_offset, 26);
}

/// Length fields that lie: the walk ends at that layer with FLAG_MALFORMED; the layers before stay.
#[test]
fn dissect_malformed_lengths() {
    let udp_pkt = eth(0x0800, &ipv4(17, 0, &[], &udp(1, 2, &[0; 8])));
    let tcp_pkt = eth(
        0x0800,
        &ipv4(6, 0, &[], &tcp(1, 2, 3, 4, 0x10, &[], &[0; 8])),
    );
    type Edit = fn(&mut Vec<u8>);
    let cases: &[(&str, &Vec<u8>, Edit, u32, u32)] = &[
        (
            "ihl 4",
            &udp_pkt,
            |v| v[14] = 0x44,
            LAYER_IPV4,
            FLAG_ETHERNET,
        ),
        (
            "version 5",
            &udp_pkt,
            |v| v[14] = 0x55,
            LAYER_IPV4,
            FLAG_ETHERNET,
        ),
        (
            "total length 19",
            &udp_pkt,
            |v| v[16..18].copy_from_slice(&19u16.to_be_bytes()),
            LAYER_IPV4,
            FLAG_ETHERNET,
        ),
        (
            "udp length 7",
            &udp_pkt,
            |v| v[38..40].copy_from_slice(&7u16.to_be_bytes()),
            LAYER_UDP,
            FLAG_IPV4,
        ),
        (
            "udp length past ip",
            &udp_pkt,
            |v| v[38..40].copy_from_slice(&17u16.to_be_bytes()),
            LAYER_UDP,
            FLAG_IPV4,
        ),
        (
            "tcp doff 4",
            &tcp_pkt,
            |v| v[46] = 0x40,
            LAYER_TCP,
            FLAG_IPV4,
        ),
        (
            "tcp doff past ip end",
            &tcp_pkt,
            |v| v[46] = 0x80,
            LAYER_TCP,
            FLAG_IPV4,
        ),
        // IP says 20 + 20 bytes; the 8 bytes after are trailer, so a 28-byte TCP header lies.
        (
            "tcp doff past ip total length",
            &tcp_pkt,
            |v| {
                v[16..18].copy_from_slice(&40u16.to_be_bytes());
                v[46] = 0x70
            },
            LAYER_TCP,
            FLAG_IPV4,
        ),
    ];
    for (name, base, edit, layer, kept) in cases {
        let mut v = (*base).clone();
        edit(&mut v);
        let (l, _) = run(&v, LINKTYPE_ETHERNET);
        assert_eq!(l.error_layer, *layer, "{name}");
        assert!(l.has(FLAG_MALFORMED | kept), "{name}: flags {:#x}", l.flags);
        assert_eq!(l.flags & (FLAG_TCP | FLAG_UDP), 0, "{name}");
        check_bounds(&l, v.len()).unwrap();
    }
    // IPv6 extension header whose length runs past the payload length.
    let mut v = eth(0x86dd, &ipv6(0, &ext_opts(17, &udp(1, 2, &[]))));
    v[14 + 41] = 3; // hop-by-hop length 3 → 32 bytes, only 16 in the payload
    let (l, _) = run(&v, LINKTYPE_ETHERNET);
    assert_eq!(
        (l.error_layer, l.flags & FLAG_MALFORMED),
        (LAYER_IPV6_EXT, FLAG_MALFORMED)
    );
    assert!(l.has(FLAG_IPV6));
    // …and past the capture: truncated.
    v[14 + 41] = 30;
    v[18..20].copy_from_slice(&1000u16.to_be_bytes());
    let (l, _) = run(&v, LINKTYPE_ETHERNET);
    assert_eq!(
        (l.error_layer, l.flags & FLAG_TRUNCATED),
        (LAYER_IPV6_EXT, FLAG_TRUNCATED)
    );
}

#[test]
fn dissect_reuse_and_unknown() {
    let mut l = Layers::default();
    dissect(&fixtures()[0].data, LINKTYPE_ETHERNET, &mut l);
    dissect(&[1, 2, 3], 147, &mut l);
    assert_eq!(l.flags, FLAG_UNKNOWN_LINK);
    assert_eq!((l.payload_offset, l.payload_len, l.src_port), (0, 3, 0));
    dissect(&[], LINKTYPE_ETHERNET, &mut l);
    assert_eq!((l.flags, l.error_layer), (FLAG_TRUNCATED, LAYER_LINK));
    dissect(&eth(0x88cc, &[0; 20]), LINKTYPE_ETHERNET, &mut l);
    assert!(l.has(FLAG_ETHERNET | FLAG_UNKNOWN_NETWORK));
    assert_eq!(
        (l.ethertype, l.payload_offset, l.payload_len),
        (0x88cc, 14, 20)
    );
}

/// xorshift64*: a fixed seed, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 200,000 buffers: mutated fixtures (byte flips, length-field edits, cuts) and pure noise,
/// each dissected as every link type.
#[test]
fn dissect_random_and_mutated() {
    const LINKS: [u32; 9] = [
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        LINKTYPE_LOOP,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_LINUX_SLL2,
        12345,
    ];
    let fx = fixtures();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::with_capacity(2048);
    let mut l = Layers::default();
    let mut decoded = 0u32;
    for i in 0..200_000u32 {
        buf.clear();
        if i % 4 == 0 {
            let n = rng.below(160);
            buf.extend((0..n).map(|_| rng.next() as u8));
        } else {
            buf.extend_from_slice(&fx[rng.below(fx.len())].data);
            for _ in 0..1 + rng.below(4) {
                if buf.is_empty() {
                    break;
                }
                let at = rng.below(buf.len());
                match rng.below(4) {
                    0 => buf[at] = rng.next() as u8,
                    1 => buf[at] ^= 1 << rng.below(8),
                    2 => buf[at] = [0, 1, 4, 5, 0x0f, 0x3f, 0xff][rng.below(7)],
                    _ => buf.truncate(at),
                }
            }
        }
        let link = LINKS[rng.below(LINKS.len())];
        dissect(&buf, link, &mut l);
        if let Err(e) = check_bounds(&l, buf.len()) {
            panic!("buffer {i} link {link} {buf:02x?}: {e}");
        }
        if l.flags & (FLAG_TCP | FLAG_UDP | FLAG_ICMP | FLAG_ICMPV6) != 0 {
            decoded += 1;
        }
    }
    assert!(
        decoded > 5_000,
        "mutations should still reach the transport often: {decoded}"
    );
}
