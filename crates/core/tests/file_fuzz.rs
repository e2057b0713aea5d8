//! A seeded random ("fuzz") run of the pcap/pcapng reader: valid fixtures mutated by bit
//! flips, byte sets, truncations, length fields set to huge or zero values, inserted,
//! deleted and repeated blocks, each read to the end. No case may panic, hold more
//! memory than its bytes justify, or deliver more packets than its bytes can hold.
//! cargo-fuzz is not used: it needs a nightly toolchain and a download CI does not have.
//!
//! `NETRING_FUZZ_CASES` (default 20000) and `NETRING_FUZZ_SEED` change the run; a failing
//! case prints its seed, index and bytes.

mod file_fixtures;

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use file_fixtures::*;
use netring_core::{Batch, FileReader, FILE_SNAPLEN};

/// Reads `bytes` to the end, checking the reader's bounds after every read; returns the
/// packets delivered.
fn run(bytes: &[u8], per_read: usize, snaplen: u32) -> u64 {
    let Ok(mut reader) = FileReader::from_read("fuzz", Cursor::new(bytes.to_vec())) else { return 0 };
    let bound = 64 * 1024 + 2 * bytes.len();
    let mut batch = Batch::default();
    loop {
        batch.clear();
        let result = reader.read(&mut batch, per_read, snaplen);
        assert!(
            reader.buffer_capacity() <= bound,
            "holds {} bytes for a {}-byte file",
            reader.buffer_capacity(),
            bytes.len()
        );
        match result {
            Ok(0) => break,
            Ok(n) => {
                assert!(n <= per_read && batch.len() == n && reader.packet_interfaces().len() == n);
                for (p, &i) in batch.iter().zip(reader.packet_interfaces()) {
                    assert!(
                        p.data.len() <= snaplen as usize && p.len as usize >= p.data.len() && p.nsec < 1_000_000_000
                    );
                    assert!((i as usize) < reader.interfaces().len());
                }
            }
            Err(e) => {
                assert!(matches!(e, netring_core::Error::BadFile { .. }), "{e}");
                assert_eq!(reader.read(&mut batch, per_read, snaplen).unwrap(), 0, "reading stops after damage");
                break;
            }
        }
    }
    // Every packet record takes 12 bytes or more (pcap 16, pcapng block 12 at least 16 with a packet).
    assert!(reader.packets() <= bytes.len() as u64 / 12, "{} packets from {} bytes", reader.packets(), bytes.len());
    reader.packets()
}

#[test]
fn mutated_files_never_panic_and_stay_bounded() {
    let cases: usize = std::env::var("NETRING_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let seed: u64 = std::env::var("NETRING_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x006e_6574_7269_6e67);
    let seeds = seeds();
    let mut rng = Rng(seed);
    let start = Instant::now();
    let (mut packets, mut whole) = (0u64, 0usize);
    for case in 0..cases {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut bytes);
        let per_read = 1 + rng.below(5);
        let snaplen = if rng.below(4) == 0 { 64 } else { FILE_SNAPLEN };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&bytes, per_read, snaplen)));
        match outcome {
            Ok(n) => {
                packets += n;
                whole += usize::from(n > 0);
            }
            Err(_) => panic!(
                "case {case} of seed {seed} failed (per_read {per_read}, snaplen {snaplen}); bytes: {bytes:02x?}"
            ),
        }
    }
    eprintln!(
        "{cases} mutated files in {:?} (seed {seed}): {packets} packets, {whole} files with at least one",
        start.elapsed()
    );
}
