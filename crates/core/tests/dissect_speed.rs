//! One number: ns per packet for a 64-byte Ethernet/IPv4/UDP frame, this dissector vs etherparse's
//! `LaxSlicedPacket` (reading the same fields). Ignored by default; run with
//! `cargo test --release -p netring-core --test dissect_speed -- --ignored --nocapture`.

mod dissect_common;

use std::hint::black_box;
use std::time::Instant;

use dissect_common::*;
use netring_core::dissect::*;

fn own(frame: &[u8], l: &mut Layers) -> u32 {
    dissect(frame, LINKTYPE_ETHERNET, l);
    l.src_port ^ l.dst_port ^ l.ip_ttl ^ l.payload_offset ^ l.payload_len
}

fn etherparse(frame: &[u8]) -> u32 {
    use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
    let p = LaxSlicedPacket::from_ethernet(frame).unwrap();
    let ttl = match &p.net {
        Some(LaxNetSlice::Ipv4(ip)) => ip.header().ttl() as u32,
        _ => 0,
    };
    match &p.transport {
        Some(TransportSlice::Udp(u)) => {
            // The payload offset, as the record has it, from the slice's position in the frame.
            let off = u.payload().as_ptr() as usize - frame.as_ptr() as usize;
            u.source_port() as u32
                ^ u.destination_port() as u32
                ^ ttl
                ^ off as u32
                ^ u.payload().len() as u32
        }
        _ => 0,
    }
}

#[test]
#[ignore = "timing; run with --release --ignored"]
fn dissect_speed_vs_etherparse() {
    let frame = eth(0x0800, &ipv4(17, 0, &[], &udp(40000, 53, &[0; 22])));
    assert_eq!(frame.len(), 64);
    let mut l = Layers::default();
    assert_eq!(
        own(&frame, &mut l),
        etherparse(&frame),
        "both must read the same fields"
    );
    const N: u32 = 2_000_000;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let mut x = 0;
        for _ in 0..N {
            x ^= own(black_box(&frame), &mut l);
        }
        black_box(x);
        a.push(t.elapsed().as_nanos() as f64 / N as f64);
        let t = Instant::now();
        for _ in 0..N {
            x ^= etherparse(black_box(&frame));
        }
        black_box(x);
        b.push(t.elapsed().as_nanos() as f64 / N as f64);
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    println!(
        "64-byte Ethernet/IPv4/UDP, median of 5 x {N}: netring dissect {:.1} ns/packet, etherparse 0.21 LaxSlicedPacket {:.1} ns/packet (ratio {:.2})",
        a[2],
        b[2],
        b[2] / a[2]
    );
}
