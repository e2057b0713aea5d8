//! Capture through the real kernel: a veth pair in a namespace made for each test,
//! frames sent from one end with send(), captured on the other.

mod common;

use common::{frame, netns, A, B};
use netring_core::{Batch, Capture, Error, Filter, Method, PacketSocket, RxOptions, Sender, TxOptions, FLAG_VLAN};

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
            all.push(&info, p.data, u32::MAX, p.link_type);
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
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn v3_ring_delivers_every_frame_in_order() {
    round_trip("v3", RxOptions::default());
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn v2_ring_delivers_every_frame_in_order() {
    round_trip("v2", RxOptions { version: Some(2), ..Default::default() });
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn recv_delivers_every_frame_in_order() {
    round_trip("recv", RxOptions { method: Method::Recv, buffer_size: Some(16 << 20), ..Default::default() });
}

/// Every packet `lend` lends, as (bytes read from the ring's memory, wire length, VLAN
/// word, flags), until `n` have come; each batch is read before the next lend.
fn lend_n(capture: &mut Capture, n: usize) -> Vec<(Vec<u8>, u32, u32, u32)> {
    use netring_core::{META_CAPLEN, META_FLAGS, META_LEN, META_OFFSET, META_STRIDE, META_VLAN};
    let ring = capture.ring_memory().expect("a ring");
    let mut got = Vec::new();
    let mut meta = Vec::new();
    while got.len() < n {
        meta.clear();
        if capture.lend(&mut meta).unwrap() == 0 {
            assert!(capture.wait(5000).unwrap(), "no packet within 5 s; have {} of {n}", got.len());
            continue;
        }
        for m in meta.chunks(META_STRIDE) {
            let (at, caplen) = (m[META_OFFSET] as usize, m[META_CAPLEN] as usize);
            assert!(at + caplen <= ring.len());
            // SAFETY: the record is in bounds (above), and its slot is lent to us until the
            // next lend.
            let data = unsafe { std::slice::from_raw_parts(ring.as_ptr().add(at), caplen) };
            got.push((data.to_vec(), m[META_LEN], m[META_VLAN], m[META_FLAGS]));
        }
    }
    got
}

/// A ring lends the bytes `read` would copy, VLAN tags put back in place, with the same
/// numbers; once the capture is gone, the memory it lent reads as zeros.
fn lend_matches_read(name: &str, options: RxOptions) {
    let Some(ns) = netns(name) else { return };
    let options = RxOptions { netns: Some(ns.name.clone()), ..options };
    let mut copied = Capture::open(A, &options).unwrap();
    let mut lent = Capture::open(A, &options).unwrap();
    let tx = sender(&ns.name);
    let sent: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| {
            let mut f = frame(i, 60 + (i as usize * 13 % 1400));
            if i % 10 == 0 {
                // An 802.1Q tag (VLAN 100 + i % 7), which the veth receive path takes off.
                f.splice(12..12, [0x81, 0x00, 0x00, 100 + (i % 7) as u8]);
            }
            f
        })
        .collect();
    for f in &sent {
        assert_eq!(tx.send(f).unwrap(), f.len());
    }
    let copies = capture_n(&mut copied, sent.len());
    let got = lend_n(&mut lent, sent.len());
    assert_eq!(got.len(), sent.len());
    for (i, ((data, len, vlan, flags), copy)) in got.iter().zip(copies.iter()).enumerate() {
        assert_eq!((&data[..], *len), (&sent[i][..], sent[i].len() as u32), "{name}: packet {i}");
        assert_eq!((&data[..], *len), (copy.data, copy.len), "{name}: packet {i} lent and copied");
        let tag = if i % 10 == 0 { (FLAG_VLAN, 0x8100 << 16 | (100 + i as u32 % 7)) } else { (0, 0) };
        assert_eq!((*flags, *vlan), tag, "{name}: packet {i}");
    }
    assert_eq!(lent.stats().unwrap().delivered, 1000);
    let ring = lent.ring_memory().unwrap();
    drop(lent);
    // SAFETY: the Arc keeps the (now zero-filled) range mapped.
    let memory = unsafe { std::slice::from_raw_parts(ring.as_ptr(), ring.len()) };
    assert!(memory.iter().all(|&b| b == 0), "{name}: the ring's memory is zeros after the capture");
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn v3_ring_lends_what_it_would_copy() {
    lend_matches_read("v3-lend", RxOptions::default());
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn v2_ring_lends_what_it_would_copy() {
    lend_matches_read("v2-lend", RxOptions { version: Some(2), ..Default::default() });
}

/// The link type follows the interface's hardware type (SIOCGIFHWADDR): lo (ARPHRD_LOOPBACK)
/// and veth (ARPHRD_ETHER) are Ethernet, a tun (ARPHRD_NONE) raw IP, for captures and
/// senders alike; a tun needs no process attached to say its type.
#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn link_type_follows_the_hardware_type() {
    let Some(ns) = netns("link_type_follows_the_hardware_type") else { return };
    let status = std::process::Command::new("ip")
        .args(["-n", &ns.name, "tuntap", "add", "dev", "tun0", "mode", "tun"])
        .status()
        .unwrap();
    assert!(status.success(), "ip tuntap add");
    let netns = Some(ns.name.clone());
    for (iface, arphrd, link_type) in [("lo", 772, 1), (A, 1, 1), ("tun0", 0xfffe, 101)] {
        let socket = PacketSocket::open(iface, netns.as_deref()).unwrap();
        assert_eq!(socket.hardware_type().unwrap(), arphrd, "{iface}");
        for method in [Method::Ring, Method::Recv] {
            let filter = Some(Filter::Expression("icmp".into()));
            let options = RxOptions { netns: netns.clone(), method, filter, ..Default::default() };
            assert_eq!(Capture::open(iface, &options).unwrap().link_type(), link_type, "{iface} {method:?}");
        }
        let tx = Sender::open(iface, &TxOptions { netns: netns.clone(), ..Default::default() }).unwrap();
        assert_eq!(tx.link_type(), Some(link_type), "{iface}");
        tx.check_link_type(link_type).unwrap();
        assert!(matches!(tx.check_link_type(276), Err(Error::LinkType { .. })), "{iface}");
    }
    // An Ethernet-only expression does not compile for the tun's raw IP, after the socket said so.
    let filter = Some(Filter::Expression("ether broadcast".into()));
    let options = RxOptions { netns, filter, ..Default::default() };
    assert!(matches!(Capture::open("tun0", &options), Err(Error::Filter { .. })));
}
