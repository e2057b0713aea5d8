//! Sending through the real kernel: a veth pair in a namespace made for each test, frames
//! sent with a [`Sender`] on one end and captured on the other.

mod common;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{frame, netns, Netns, A, B};
use netring_core::{Batch, Capture, Error, RxOptions, Sender, Stats, TxMethod, TxOptions};

/// How long a capture waits for the next packet before the test gives up on it.
const IDLE: Duration = Duration::from_secs(5);

fn rx(ns: &Netns, options: RxOptions) -> Capture {
    Capture::open(A, &RxOptions { netns: Some(ns.name.clone()), ..options }).unwrap()
}

fn tx(ns: &Netns, options: TxOptions) -> Sender {
    Sender::open(B, &TxOptions { netns: Some(ns.name.clone()), ..options }).unwrap()
}

/// Calls `each` with every packet captured until `n` have been seen or none came for
/// [`IDLE`]; returns the capture's statistics.
fn capture_each(capture: &mut Capture, n: usize, mut each: impl FnMut(&[u8], u32)) -> Stats {
    let mut batch = Batch::default();
    let mut seen = 0;
    let mut last = Instant::now();
    while seen < n && last.elapsed() < IDLE {
        batch.clear();
        if capture.read(&mut batch).unwrap() == 0 {
            capture.wait(100).unwrap();
            continue;
        }
        last = Instant::now();
        for p in batch.iter() {
            each(p.data, p.len);
            seen += 1;
        }
    }
    capture.stats().unwrap()
}

fn capture_frames(c: &mut Capture, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    capture_each(c, n, |data, _| got.push(data.to_vec()));
    got
}

fn seq(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[14..18].try_into().unwrap())
}

/// 60..=1514 bytes, spread over the range.
fn size(i: u32) -> usize {
    60 + (i as usize * 7919) % 1455
}

/// Queues `frames`, waiting on a full ring (or send buffer) with the kicker.
fn send_all(tx: &mut Sender, frames: impl IntoIterator<Item = Vec<u8>>) -> usize {
    let kicker = tx.kicker();
    let mut waits = 0;
    for f in frames {
        while !tx.try_queue(&f).unwrap() {
            kicker.flush_blocking().unwrap();
            waits += 1;
        }
    }
    waits
}

fn round_trip(name: &str, options: TxOptions) {
    let Some(ns) = netns(name) else { return };
    let mut capture = rx(&ns, RxOptions::default());
    let mut sender = tx(&ns, options.clone());
    assert_eq!(sender.is_ring(), options.method == TxMethod::Ring);
    assert_eq!(sender.mtu(), 1500);
    assert_eq!(sender.max_frame_len(), 1514);
    let sent: Vec<Vec<u8>> = (0..1000u32).map(|i| frame(i, size(i))).collect();
    assert_eq!(sent.iter().map(Vec::len).min(), Some(60));
    assert_eq!(sent.iter().map(Vec::len).max(), Some(1514));
    send_all(&mut sender, sent.iter().cloned());
    sender.flush().unwrap();
    assert_eq!(sender.in_flight(), 0);
    assert_eq!(sender.stats(), netring_core::TxStats { sent: 1000, errors: 0, queued: 1000 }, "{name}");
    let got = capture_frames(&mut capture, sent.len());
    assert_eq!(got.len(), sent.len(), "{name}");
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(g, s, "{name}: frame {i}");
    }
    let stats = capture.stats().unwrap();
    assert_eq!((stats.received, stats.dropped), (1000, 0), "{name}: {stats:?}");
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn tx_ring_v2_sends_every_frame_in_order() {
    round_trip("tx v2", TxOptions::default());
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn tx_ring_v3_sends_every_frame_in_order() {
    // Linux 4.11+ has TPACKET_V3 TX rings; an error here fails the test.
    round_trip("tx v3", TxOptions { version: Some(3), ..Default::default() });
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn send_sends_every_frame_in_order() {
    round_trip("tx send", TxOptions { method: TxMethod::Send, ..Default::default() });
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn tx_ring_with_qdisc_bypass_sends_every_frame() {
    round_trip("tx bypass", TxOptions { qdisc_bypass: true, frames_per_kick: Some(1), ..Default::default() });
}

/// Checks that `seqs` is exactly 0..n.
fn assert_in_order(seqs: &[u32], n: u32, what: &str) {
    assert_eq!(seqs.len(), n as usize, "{what}");
    if let Some(i) = seqs.iter().enumerate().position(|(i, &s)| s != i as u32) {
        let around = &seqs[i.saturating_sub(3)..(i + 3).min(seqs.len())];
        panic!("{what}: frame {i} has sequence number {} (around it: {around:?})", seqs[i]);
    }
}

/// Puts a token bucket of `rate` on B's egress: frames wait in the qdisc, so the kernel
/// completes TX slots later than the kick that sent them (veth alone completes them
/// before `sendto()` returns).
fn rate_limit(ns: &Netns, rate: &str) {
    let tc = Command::new("tc")
        .args(["-n", &ns.name, "qdisc", "add", "dev", B, "root", "tbf", "rate", rate, "burst", "10kb"])
        .args(["latency", "5s"])
        .output()
        .expect("tc (Debian package iproute2)");
    assert!(tc.status.success(), "tc: {}", String::from_utf8_lossy(&tc.stderr));
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn burst_of_200k_through_a_256_slot_ring_arrives_complete_and_in_order() {
    burst("tx burst", 200_000, None);
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn burst_on_a_rate_limited_link_waits_for_room_and_arrives_complete() {
    // veth completes a slot before the kick's sendto() returns, so without a qdisc that
    // holds frames the ring never fills. 50k frames of 64 bytes at 20 Mbit/s take 1.3 s,
    // and the 256-slot ring fills again and again.
    burst("tx burst limited", 50_000, Some("20mbit"));
}

fn burst(name: &str, n: u32, rate: Option<&str>) {
    let Some(ns) = netns(name) else { return };
    if let Some(rate) = rate {
        rate_limit(&ns, rate);
    }
    // 256 MiB of V3 blocks hold the whole burst even if the reader falls behind.
    let mut capture = rx(&ns, RxOptions { block_size: Some(4 << 20), block_count: Some(64), ..Default::default() });
    let reader = thread::spawn(move || {
        let mut seqs = Vec::with_capacity(n as usize);
        let mut lens_ok = true;
        let stats = capture_each(&mut capture, n as usize, |data, len| {
            lens_ok &= data.len() == 64 && len == 64;
            seqs.push(seq(data));
        });
        (seqs, lens_ok, stats)
    });
    // Also on B: outgoing frames are tapped as the qdisc hands them to the driver.
    let mut out = Capture::open(
        B,
        &RxOptions {
            netns: Some(ns.name.clone()),
            block_size: Some(4 << 20),
            block_count: Some(64),
            ..Default::default()
        },
    )
    .unwrap();
    let out_reader = thread::spawn(move || {
        let mut seqs = Vec::with_capacity(n as usize);
        capture_each(&mut out, n as usize, |data, _| seqs.push(seq(data)));
        seqs
    });
    let mut sender = tx(&ns, TxOptions { frame_count: Some(256), ..Default::default() });
    let started = Instant::now();
    let waits = send_all(&mut sender, (0..n).map(|i| frame(i, 64)));
    sender.flush().unwrap();
    let elapsed = started.elapsed();
    let stats = sender.stats();
    let (seqs, lens_ok, rx_stats) = reader.join().unwrap();
    let out_seqs = out_reader.join().unwrap();
    let out_of_order = |v: &[u32]| v.iter().enumerate().filter(|&(i, &s)| s != i as u32).count();
    eprintln!("{name}: out of order on B (outgoing) {}, on A {}", out_of_order(&out_seqs), out_of_order(&seqs));
    assert_in_order(&out_seqs, n, "leaving B");
    eprintln!("{name}: {n} frames of 64 bytes in {elapsed:?} ({waits} waits for room): tx {stats:?}, rx {rx_stats:?}");
    // How often the ring filled (`waits`) depends on how fast this machine queues, so it
    // is printed, not asserted.
    assert_eq!((stats.sent, stats.errors, stats.queued), (n as u64, 0, n as u64));
    assert!(lens_ok, "every frame is 64 bytes");
    if rate.is_none() {
        assert_in_order(&seqs, n, "arriving at A");
    } else {
        // Frames leave B in order (above), but a qdisc is run from more than one CPU (the
        // sender's and the one its watchdog timer fires on), and veth queues each frame
        // on the receive backlog of the CPU that sent it, so A may see a few swapped.
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_in_order(&sorted, n, "arriving at A (sorted)");
    }
    assert_eq!((rx_stats.received, rx_stats.dropped), (n as u64, 0));
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn dropping_the_sender_sends_what_is_queued() {
    let Some(ns) = netns("tx drop") else { return };
    let mut capture = rx(&ns, RxOptions::default());
    // No automatic kick: the 500 frames are only queued when the sender is dropped.
    let mut sender = tx(&ns, TxOptions { frames_per_kick: Some(1024), ..Default::default() });
    for i in 0..500 {
        assert!(sender.try_queue(&frame(i, size(i))).unwrap());
    }
    assert_eq!(sender.in_flight(), 500);
    drop(sender);
    let got = capture_frames(&mut capture, 500);
    assert_eq!(got.len(), 500);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g, &frame(i as u32, size(i as u32)), "frame {i}");
    }
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn oversize_and_empty_frames_are_range_errors_and_send_nothing() {
    let Some(ns) = netns("tx oversize") else { return };
    for options in [
        TxOptions::default(),
        TxOptions { version: Some(3), ..Default::default() },
        TxOptions { method: TxMethod::Send, ..Default::default() },
    ] {
        let mut capture = rx(&ns, RxOptions::default());
        let mut sender = tx(&ns, options.clone());
        let err = sender.try_queue(&frame(1, 1500 + 15)).unwrap_err();
        assert!(matches!(err, Error::Frame { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("frame of 1515 bytes") && msg.contains("the most is 1514"), "{msg}");
        assert!(msg.contains("MTU 1500 + 14-byte link header"), "{msg}");
        if let Some(cap) = sender.slot_capacity() {
            assert!(msg.contains(&format!("a TX slot holds {cap}")), "{msg}");
        }
        let err = sender.try_queue(&[]).unwrap_err();
        assert!(matches!(err, Error::Frame { .. }) && err.to_string().starts_with("frame is empty"), "{err}");
        let err = sender.try_queue(&frame(2, 13)).unwrap_err();
        assert!(matches!(err, Error::Frame { .. }) && err.to_string().contains("13 bytes"), "{err}");
        // A VLAN-tagged frame may be 4 bytes longer.
        let mut tagged = frame(3, 1518);
        tagged[12..14].copy_from_slice(&[0x81, 0x00]);
        sender.check_frame(&tagged).unwrap();
        tagged.push(0);
        assert!(matches!(sender.check_frame(&tagged), Err(Error::Frame { .. })));
        // Nothing went out: the first frame captured is the marker sent now.
        assert_eq!(sender.stats().queued, 0);
        assert!(sender.try_queue(&frame(7, 60)).unwrap());
        sender.flush().unwrap();
        let got = capture_frames(&mut capture, 1);
        assert_eq!(got, [frame(7, 60)], "{options:?}");
        assert_eq!(sender.stats(), netring_core::TxStats { sent: 1, errors: 0, queued: 1 });
        thread::sleep(Duration::from_millis(50));
        assert_eq!(capture.stats().unwrap().received, 1, "{options:?}");
    }
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn tagged_frame_of_mtu_plus_18_is_sent() {
    let Some(ns) = netns("tx vlan") else { return };
    let mut capture = rx(&ns, RxOptions::default());
    let mut sender = tx(&ns, TxOptions::default());
    let mut tagged = frame(0, 1518);
    tagged[12..18].copy_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x88, 0xb5]);
    assert!(sender.try_queue(&tagged).unwrap());
    sender.flush().unwrap();
    assert_eq!(sender.stats(), netring_core::TxStats { sent: 1, errors: 0, queued: 1 });
    let mut got = 0;
    capture_each(&mut capture, 1, |_, len| {
        assert_eq!(len, 1518);
        got += 1;
    });
    assert_eq!(got, 1);
}

fn ip(ns: &Netns, args: &[&str]) {
    let out = Command::new("ip").arg("-n").arg(&ns.name).args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Frames 0..10 of 100 bytes, but frame 3 is 1514 bytes: too long once the MTU is 1000.
fn with_one_long(i: u32) -> Vec<u8> {
    frame(i, if i == 3 { 1514 } else { 100 })
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn a_frame_the_kernel_refuses_is_counted_and_the_ring_goes_on() {
    for version in [2, 3] {
        // A namespace each: raising the MTU back to 1500 would turn IPv6 on again (it is
        // off below 1280) and put an MLD report on the pair.
        let Some(ns) = netns("tx wrong format") else { return };
        let mut capture = rx(&ns, RxOptions::default());
        let mut sender = tx(&ns, TxOptions { version: Some(version), frame_count: Some(16), ..Default::default() });
        // Queued while the MTU allowed it; the MTU drops before the kernel sees it.
        for i in 0..10 {
            assert!(sender.try_queue(&with_one_long(i)).unwrap());
        }
        ip(&ns, &["link", "set", B, "mtu", "1000"]);
        sender.flush().unwrap();
        assert_eq!(sender.stats(), netring_core::TxStats { sent: 9, errors: 1, queued: 10 }, "V{version}");
        let got = capture_frames(&mut capture, 9);
        let want: Vec<Vec<u8>> = (0..10).filter(|&i| i != 3).map(with_one_long).collect();
        assert_eq!(got, want, "V{version}");
        // The ring is usable afterwards, across its wrap-around.
        let more: Vec<Vec<u8>> = (100..140).map(|i| frame(i, 100)).collect();
        send_all(&mut sender, more.iter().cloned());
        sender.flush().unwrap();
        assert_eq!(sender.stats(), netring_core::TxStats { sent: 49, errors: 1, queued: 50 }, "V{version}");
        assert_eq!(capture_frames(&mut capture, 40), more, "V{version}");
    }
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn with_packet_loss_the_kernel_skips_a_refused_frame() {
    let Some(ns) = netns("tx loss") else { return };
    let mut capture = rx(&ns, RxOptions::default());
    let mut sender = tx(&ns, TxOptions { loss: true, frame_count: Some(16), ..Default::default() });
    for i in 0..10 {
        assert!(sender.try_queue(&with_one_long(i)).unwrap());
    }
    ip(&ns, &["link", "set", B, "mtu", "1000"]);
    sender.flush().unwrap();
    // PACKET_LOSS marks the refused slot available like a sent one: it cannot be counted.
    assert_eq!(sender.stats(), netring_core::TxStats { sent: 10, errors: 0, queued: 10 });
    let want: Vec<Vec<u8>> = (0..10).filter(|&i| i != 3).map(with_one_long).collect();
    assert_eq!(capture_frames(&mut capture, 9), want);
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn flush_blocking_waits_for_a_slow_link_to_drain() {
    let Some(ns) = netns("tx slow link") else { return };
    // 10 Mbit/s: 300 frames of 1500 bytes take about 360 ms.
    rate_limit(&ns, "10mbit");
    let mut capture = rx(&ns, RxOptions::default());
    let reader = thread::spawn(move || {
        let mut seqs = Vec::new();
        let stats = capture_each(&mut capture, 600, |data, _| seqs.push(seq(data)));
        (seqs, stats)
    });
    for options in [
        TxOptions { frame_count: Some(64), ..Default::default() },
        TxOptions { method: TxMethod::Send, ..Default::default() },
    ] {
        let mut sender = tx(&ns, options);
        let kicker = sender.kicker();
        let base = if sender.is_ring() { 0 } else { 300 };
        let started = Instant::now();
        let waits = send_all(&mut sender, (base..base + 300).map(|i| frame(i, 1500)));
        kicker.flush_blocking().unwrap();
        let elapsed = started.elapsed();
        let stats = sender.stats();
        eprintln!("300 × 1500 bytes at 10 Mbit/s: {elapsed:?}, {waits} waits, {stats:?}");
        assert!(waits > 0, "the ring or send buffer filled up");
        if sender.is_ring() {
            assert_eq!(sender.in_flight(), 0, "flush_blocking returned with frames in flight");
            assert_eq!((stats.sent, stats.errors), (300, 0));
        }
    }
    let (seqs, stats) = reader.join().unwrap();
    assert_eq!(seqs, (0..600).collect::<Vec<u32>>(), "{stats:?}");
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn open_errors_name_the_problem() {
    let Some(ns) = netns("tx open errors") else { return };
    let err = Sender::open("nope0", &TxOptions { netns: Some(ns.name.clone()), ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::NoDevice { ref iface } if iface == "nope0"), "{err:?}");
    let err = Sender::open(B, &TxOptions { frame_size: Some(100), netns: Some(ns.name.clone()), ..Default::default() })
        .unwrap_err();
    assert_eq!(err.to_string(), "frame_size 100 must be a multiple of 16");
    let kicker = tx(&ns, TxOptions::default()).kicker();
    // The kicker outlives its sender: flushing an empty, unmapped ring is harmless.
    kicker.flush_blocking().unwrap();
}
