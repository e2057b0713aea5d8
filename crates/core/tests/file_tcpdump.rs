//! The reader against tcpdump (libpcap): every fixture of `file_fixtures::cases()` is
//! written to a temporary directory and read by both; the packet counts must agree, and
//! where tcpdump refuses a file (exit status 1), netring must deliver the same number of
//! packets and then fail. Without tcpdump the test is skipped, except under `CI=true`.

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

/// What netring makes of the file, in the same terms.
fn netring(path: &str) -> (Libpcap, String) {
    let mut reader = match FileReader::open(path) {
        Ok(reader) => reader,
        Err(e) => return (Libpcap::Fails(0), e.to_string()),
    };
    let mut batch = Batch::default();
    loop {
        match reader.read(&mut batch, 1000, FILE_SNAPLEN) {
            Ok(0) => return (Libpcap::Reads(reader.packets() as usize), String::new()),
            Ok(_) => {}
            Err(e) => return (Libpcap::Fails(reader.packets() as usize), e.to_string()),
        }
    }
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
        let (ours, error) = netring(path);
        report.push(format!("{:<36} tcpdump {theirs:?}, netring {ours:?} {error}", case.name));
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
