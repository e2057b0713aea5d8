//! Capture through the real kernel: a veth pair in a namespace made for each test,
//! frames sent from one end with send(), captured on the other.

mod common;

use common::{frame, netns, A, B};
use netring_core::{Batch, Capture, Method, PacketSocket, RxOptions};

fn sender(ns: &str) -> PacketSocket {
    let s = PacketSocket::open(B, Some(ns)).unwrap();
    s.bind(0).unwrap();
    s
}

fn capture_n(capture: &mut Capture, n: usize) -> Batch {
    let mut all = Batch::default();
    let mut batch = Batch::default();
    while all.len() < n {
        batch.clear();
        if capture.read(&mut batch).unwrap() == 0 {
            assert!(capture.wait(5000).unwrap(), "no packet within 5 s; have {} of {n}", all.len());
            continue;
        }
        for p in batch.iter() {
            let info = netring_core::PacketInfo {
                len: p.len,
                sec: p.sec,
                nsec: p.nsec,
                ifindex: p.ifindex,
                pkttype: p.pkttype,
                ..Default::default()
            };
            all.push(&info, p.data, u32::MAX);
        }
    }
    all
}

fn round_trip(name: &str, options: RxOptions) {
    let Some(ns) = netns(name) else { return };
    let options = RxOptions { netns: Some(ns.name.clone()), ..options };
    let mut capture = Capture::open(A, &options).unwrap();
    let tx = sender(&ns.name);
    let sent: Vec<Vec<u8>> = (0..1000u32).map(|i| frame(i, 60 + (i as usize % 1400))).collect();
    for f in &sent {
        assert_eq!(tx.send(f).unwrap(), f.len());
    }
    let got = capture_n(&mut capture, sent.len());
    assert_eq!(got.len(), sent.len());
    for (i, (p, f)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(p.data, &f[..], "{name}: packet {i}");
        assert_eq!(p.len as usize, f.len());
        assert_eq!(p.ifindex, capture.socket().ifindex());
        assert!(p.sec > 1_600_000_000, "timestamp {}", p.sec);
    }
    let stats = capture.stats().unwrap();
    assert_eq!((stats.received, stats.dropped, stats.delivered), (1000, 0, 1000), "{name}: {stats:?}");
}

#[test]
fn v3_ring_delivers_every_frame_in_order() {
    round_trip("v3", RxOptions::default());
}

#[test]
fn v2_ring_delivers_every_frame_in_order() {
    round_trip("v2", RxOptions { version: Some(2), ..Default::default() });
}

#[test]
fn recv_delivers_every_frame_in_order() {
    round_trip("recv", RxOptions { method: Method::Recv, buffer_size: Some(16 << 20), ..Default::default() });
}
