//! Filters and PACKET_FANOUT through the real kernel, in a namespace made for each test:
//! a raw program keeps only what it matches, an `lb` group deals frames round robin, and
//! a member with other settings is refused with EINVAL.

mod common;

use common::{frame, netns, A, B};
use netring_core::{Batch, Capture, Error, FanoutMode, FanoutOptions, Filter, Instruction, PacketSocket, RxOptions};

fn sender(ns: &str) -> PacketSocket {
    let s = PacketSocket::open(B, Some(ns)).unwrap();
    s.bind(0).unwrap();
    s
}

/// Reads `capture` until it has `n` packets; returns their sequence numbers.
fn seqs(capture: &mut Capture, n: usize) -> Vec<u32> {
    let mut got = Vec::new();
    let mut batch = Batch::default();
    while got.len() < n {
        batch.clear();
        if capture.read(&mut batch).unwrap() == 0 {
            assert!(capture.wait(5000).unwrap(), "no packet within 5 s; have {} of {n}", got.len());
            continue;
        }
        got.extend(batch.iter().map(|p| u32::from_be_bytes(p.data[14..18].try_into().unwrap())));
    }
    got
}

fn lb(group: Option<u32>) -> FanoutOptions {
    FanoutOptions { group, mode: FanoutMode::LoadBalance, defrag: false, rollover: false }
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn raw_program_keeps_only_matching_frames() {
    let Some(ns) = netns("raw_program_keeps_only_matching_frames") else { return };
    // ld [14]; jset #1 → ret #96 else ret #0: odd sequence numbers only, 96 bytes of each.
    let odd = vec![
        Instruction::new(0x20, 0, 0, 14),
        Instruction::new(0x45, 0, 1, 1),
        Instruction::new(0x06, 0, 0, 96),
        Instruction::new(0x06, 0, 0, 0),
    ];
    let options = RxOptions {
        netns: Some(ns.name.clone()),
        snaplen: Some(64),
        filter: Some(Filter::Program(odd)),
        ..Default::default()
    };
    let mut capture = Capture::open(A, &options).unwrap();
    let tx = sender(&ns.name);
    for i in 0..200 {
        tx.send(&frame(i, 200)).unwrap();
    }
    let got = seqs(&mut capture, 100);
    assert_eq!(got, (0..200).filter(|i| i % 2 == 1).collect::<Vec<_>>());
    let stats = capture.stats().unwrap();
    assert_eq!((stats.received, stats.dropped), (100, 0), "{stats:?}");
}

#[test]
#[cfg_attr(netring_unprivileged, ignore = "needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW)")]
fn lb_group_deals_round_robin_and_refuses_other_settings() {
    let Some(ns) = netns("lb_group_deals_round_robin_and_refuses_other_settings") else { return };
    let open = |fanout: FanoutOptions| {
        Capture::open(A, &RxOptions { netns: Some(ns.name.clone()), fanout: Some(fanout), ..Default::default() })
    };
    let mut first = open(lb(None)).unwrap();
    let group = first.fanout_group().expect("a group id");
    let mut members = vec![open(lb(Some(group.into()))).unwrap(), open(lb(Some(group.into()))).unwrap()];
    members.insert(0, std::mem::replace(&mut first, open(lb(None)).unwrap()));
    assert_ne!(first.fanout_group(), Some(group), "a second UNIQUEID group gets its own id");

    let hash = FanoutOptions { mode: FanoutMode::Hash, ..lb(Some(group.into())) };
    let err = open(hash).unwrap_err();
    assert!(matches!(err, Error::Fanout { .. }), "{err:?}");
    assert_eq!(err.errno(), Some(libc::EINVAL));
    assert_eq!(
        err.to_string(),
        format!(
            "PACKET_FANOUT on \"nr0\" could not join group {group} (mode hash, flags none): the group exists in this \
             network namespace with another mode or flags, or on another interface (EINVAL)"
        )
    );

    let tx = sender(&ns.name);
    for i in 0..300 {
        tx.send(&frame(i, 64)).unwrap();
    }
    let mut all: Vec<u32> = members.iter_mut().flat_map(|m| seqs(m, 100)).collect();
    all.sort_unstable();
    assert_eq!(all, (0..300).collect::<Vec<_>>(), "every frame once across the group");
    for member in &mut members {
        assert_eq!(member.stats().unwrap().received, 100);
    }
    // Each group shares out its own copy of the traffic: the one-member group got it all.
    assert_eq!(first.stats().unwrap().received, 300);
}
