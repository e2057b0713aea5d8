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

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        pcap_file(Little, MAGIC_USEC, 6),
        pcap_file(Big, MAGIC_NSEC, 6),
        patched_magic(),
        version_2_2(),
        caplen_over_snaplen(),
        pcapng_file(Little, 5),
        pcapng_file(Big, 5),
        multi_section_orders(Little, Big, 113),
        tsresol_file(),
        obsolete_packet_blocks(),
        spb_padding(),
        unknown_blocks(),
        no_endofopt(),
    ]
}

/// Values a length or type field is set to: zero, small, just over libpcap's limits, huge.
const FIELD_VALUES: [u32; 12] =
    [0, 1, 4, 12, 0xffff_ffff, 0xffff_fff0, 0x7fff_ffff, 262_144, 262_145, 16 << 20, (16 << 20) + 4, 0x0a0d_0d0a];

fn mutate(rng: &mut Rng, v: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => v.truncate(at),
            3 if v.len() >= 4 => {
                // A 4-aligned field (every pcap and pcapng length is) set to a telling value.
                let i = rng.below(v.len() / 4) * 4;
                let value = if rng.below(4) == 0 { rng.next() as u32 } else { FIELD_VALUES[rng.below(FIELD_VALUES.len())] };
                let order = if rng.below(2) == 0 { Little } else { Big };
                v[i..i + 4].copy_from_slice(&u32b(order, value));
            }
            4 => {
                // A block of a known or random type, with a random body, at a 4-aligned place.
                let order = if rng.below(2) == 0 { Little } else { Big };
                let body: Vec<u8> = (0..rng.below(48)).map(|_| rng.next() as u8).collect();
                let kinds = [SHB, IDB, OPB, SPB, NRB, ISB, EPB, rng.next() as u32];
                let b = match rng.below(4) {
                    0 => shb(order, &body),
                    1 => idb(order, rng.below(300) as u16, rng.next() as u32 % 70_000, &body),
                    _ => block(order, kinds[rng.below(kinds.len())], &body),
                };
                let at = at / 4 * 4;
                v.splice(at..at, b);
            }
            5 => {
                let end = (at + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            6 => {
                let end = (at + rng.below(128)).min(v.len());
                let piece = v[at..end].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, piece);
            }
            _ => {}
        }
    }
}

/// Reads `bytes` to the end, checking the reader's bounds after every read; returns the
/// packets delivered.
fn run(bytes: &[u8], per_read: usize, snaplen: u32) -> u64 {
    let Ok(mut reader) = FileReader::from_read("fuzz", Cursor::new(bytes.to_vec())) else { return 0 };
    let bound = 64 * 1024 + 2 * bytes.len();
    let mut batch = Batch::default();
    loop {
        batch.clear();
        let result = reader.read(&mut batch, per_read, snaplen);
        assert!(reader.buffer_capacity() <= bound, "holds {} bytes for a {}-byte file", reader.buffer_capacity(), bytes.len());
        match result {
            Ok(0) => break,
            Ok(n) => {
                assert!(n <= per_read && batch.len() == n && reader.packet_interfaces().len() == n);
                for (p, &i) in batch.iter().zip(reader.packet_interfaces()) {
                    assert!(p.data.len() <= snaplen as usize && p.len as usize >= p.data.len() && p.nsec < 1_000_000_000);
                    assert!((i as usize) < reader.interfaces().len());
                }
            }
            Err(e) => {
                assert_eq!(e.code(), "ERR_NETRING_BAD_FILE", "{e}");
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
    let seed: u64 = std::env::var("NETRING_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x6e65_7472_696e_67);
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
            Err(_) => panic!("case {case} of seed {seed} failed (per_read {per_read}, snaplen {snaplen}); bytes: {bytes:02x?}"),
        }
    }
    eprintln!(
        "{cases} mutated files in {:?} (seed {seed}): {packets} packets, {whole} files with at least one",
        start.elapsed()
    );
}
