//! The reader against tcpdump (libpcap): every fixture of `file_fixtures::cases()` is
//! written to a temporary directory and read by both; the packet counts must agree, and
//! where tcpdump refuses a file (exit status 1), netring must deliver the same number of
//! packets and then fail; and each packet's captured length must be what `tcpdump -xx`
//! prints. Without tcpdump the test is skipped, except under `CI=true`.

mod file_fixtures;

use std::process::Command;

use file_fixtures::*;
use netring_core::{Batch, FileReader, FILE_SNAPLEN};

/// What `tcpdump --count -r FILE` says: "N packets" on stdout (also after a read error,
/// then with exit status 1); nothing when the file does not open.
fn tcpdump(path: &str) -> Option<Libpcap> {
    let out = match Command::new("tcpdump").args(["--count", "-nn", "-r", path]).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("tcpdump could not be run: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let count = stdout.split_whitespace().next().and_then(|n| n.parse().ok());
    Some(match (out.status.success(), count) {
        (true, Some(n)) => Libpcap::Reads(n),
        (false, n) => Libpcap::Fails(n.unwrap_or(0)),
        (true, None) => panic!("tcpdump said {stdout:?} about {path}"),
    })
}

/// The captured length of each packet `tcpdump -nn -xx -r FILE` prints: a line per
/// packet, then its bytes in hex on indented "0x0000:" lines. `None` for a packet tcpdump
/// does not print ("[Invalid header: len(60) < caplen(100)]", though libpcap delivered it).
fn tcpdump_caplens(path: &str) -> Vec<Option<usize>> {
    let out = Command::new("tcpdump").args(["-nn", "-xx", "-r", path]).output().unwrap();
    let mut lens = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.trim_start().strip_prefix("0x").and_then(|l| l.split_once(':')) {
            Some((_, hex)) if line.starts_with(char::is_whitespace) => {
                if let Some(Some(n)) = lens.last_mut() {
                    *n += hex.chars().filter(char::is_ascii_hexdigit).count() / 2
                }
            }
            _ if line.starts_with("[Invalid header") => lens.push(None),
            _ => lens.push(Some(0)),
        }
    }
    lens
}

/// What netring makes of the file, in the same terms; the error; each packet's captured length.
fn read_file(path: &str) -> (Libpcap, String, Vec<usize>) {
    let mut reader = match FileReader::open(path) {
        Ok(reader) => reader,
        Err(e) => return (Libpcap::Fails(0), e.to_string(), Vec::new()),
    };
    let mut batch = Batch::default();
    loop {
        match reader.read(&mut batch, 1000, FILE_SNAPLEN) {
            Ok(0) => {
                let lens = batch.iter().map(|p| p.data.len()).collect();
                return (Libpcap::Reads(reader.packets() as usize), String::new(), lens);
            }
            Ok(_) => {}
            Err(e) => {
                let lens = batch.iter().map(|p| p.data.len()).collect();
                return (Libpcap::Fails(reader.packets() as usize), e.to_string(), lens);
            }
        }
    }
}

fn netring(path: &str) -> (Libpcap, String) {
    let (outcome, error, _) = read_file(path);
    (outcome, error)
}

#[test]
fn netring_reads_what_tcpdump_reads_and_refuses_what_it_refuses() {
    let dir = std::env::temp_dir().join(format!("netring-file-tcpdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let probe = dir.join("probe.pcap");
    std::fs::write(&probe, pcap_file(Little, MAGIC_USEC, 1)).unwrap();
    if tcpdump(probe.to_str().unwrap()).is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "tcpdump is not installed, and CI=true: install it");
        eprintln!("SKIPPED: tcpdump is not installed (apt-get install tcpdump); the comparison did not run");
        return;
    }
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in cases() {
        let path = dir.join(case.name);
        std::fs::write(&path, &case.bytes).unwrap();
        let path = path.to_str().unwrap();
        let theirs = tcpdump(path).unwrap();
        let (ours, error, caplens) = read_file(path);
        report.push(format!("{:<36} tcpdump {theirs:?}, netring {ours:?} {error}", case.name));
        let their_caplens = tcpdump_caplens(path);
        let printed = caplens.iter().zip(&their_caplens).all(|(ours, theirs)| theirs.map_or(true, |t| t == *ours));
        if caplens.len() != their_caplens.len() || !printed {
            failures.push(format!("{}: captured lengths: netring {caplens:?}, tcpdump {their_caplens:?}", case.name));
        }
        if theirs != case.libpcap {
            failures.push(format!("{}: tcpdump gives {theirs:?}, the fixture expects {:?}", case.name, case.libpcap));
        }
        if ours != theirs {
            failures.push(format!("{}: netring {ours:?} ({error}), tcpdump {theirs:?}", case.name));
        }
    }
    // Where netring reads more than libpcap, on purpose (as Wireshark does): a section
    // in the other byte order than the one before, and interfaces of different link types.
    for (name, bytes) in [
        ("byte-order-change.pcapng", multi_section_orders(Little, Big, 1)),
        ("link-type-change.pcapng", multi_section_orders(Little, Little, 113)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let path = path.to_str().unwrap();
        let theirs = tcpdump(path).unwrap();
        let (ours, error) = netring(path);
        report
            .push(format!("{name:<36} tcpdump {theirs:?}, netring {ours:?} {error} (netring reads more, on purpose)"));
        if theirs != Libpcap::Fails(2) || ours != Libpcap::Reads(4) {
            failures.push(format!("{name}: netring {ours:?} ({error}), tcpdump {theirs:?}"));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether a pcapng file has a section header in the other byte order than its first:
/// libpcap then reads that header's length in the wrong order and stops there, where
/// netring reads on.
fn changes_byte_order(bytes: &[u8]) -> bool {
    let first = bytes.get(8..12);
    bytes.windows(12).any(|w| {
        w[..4] == [0x0a, 0x0d, 0x0d, 0x0a] && Some(&w[8..12]) != first && {
            let bom = u32::from_le_bytes(w[8..12].try_into().unwrap());
            bom == 0x1a2b_3c4d || bom == 0x4d3c_2b1a
        }
    })
}

/// tcpdump's complaints about files that libpcap refuses and netring reads on purpose,
/// or about link types tcpdump cannot print (libpcap read them: no count to compare).
const ON_PURPOSE: [&str; 3] = [
    "different from the type of the first interface",
    "different from the snapshot length of the first interface",
    "different byte orders",
];
const UNPRINTABLE: &str = "unknown data link type";

#[test]
fn mutated_files_read_as_tcpdump_reads_them() {
    let dir = std::env::temp_dir().join(format!("netring-file-tcpdump-mutated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: usize = std::env::var("NETRING_TCPDUMP_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400);
    let seed: u64 = std::env::var("NETRING_TCPDUMP_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(7);
    let mut rng = Rng(seed);
    let seeds = seeds();
    let (mut same, mut more, mut unprintable, mut failures) = (0, 0, 0, Vec::new());
    for case in 0..cases {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut bytes);
        let path = dir.join(format!("mutated-{case}"));
        std::fs::write(&path, &bytes).unwrap();
        let path = path.to_str().unwrap();
        let Some(theirs) = tcpdump(path) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "tcpdump is not installed, and CI=true: install it");
            eprintln!("SKIPPED: tcpdump is not installed (apt-get install tcpdump); the comparison did not run");
            return;
        };
        let (ours, error) = netring(path);
        if ours == theirs {
            same += 1;
            continue;
        }
        let out = Command::new("tcpdump").args(["--count", "-r", path]).output().unwrap();
        let complaint = String::from_utf8_lossy(&out.stderr).into_owned();
        let count = |l: Libpcap| match l {
            Libpcap::Reads(n) | Libpcap::Fails(n) => n,
        };
        if complaint.contains(UNPRINTABLE) {
            unprintable += 1;
        } else if count(ours) >= count(theirs)
            && (ON_PURPOSE.iter().any(|m| complaint.contains(m)) || changes_byte_order(&bytes))
        {
            more += 1;
        } else {
            failures.push(format!(
                "case {case} of seed {seed}: netring {ours:?} ({error}), tcpdump {theirs:?}: {complaint}"
            ));
        }
    }
    eprintln!(
        "{cases} mutated files (seed {seed}): {same} read alike, {more} read further by netring on purpose, {unprintable} of link \
         types tcpdump cannot print, {} differ",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}
