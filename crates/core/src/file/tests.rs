//! Round trips through [`FileWriter`] and [`FileReader`], and damaged files.

use super::*;
use crate::batch::Batch;
use crate::error::Error;
use crate::frame::PacketInfo;

fn temp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("netring-pcapfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_str().unwrap().to_owned()
}

/// Three frames of 60, 61 and 1514 bytes; the second was cut to 20 bytes by a snaplen.
fn sample() -> Batch {
    let mut b = Batch::default();
    b.push(
        &PacketInfo { len: 60, sec: 1_700_000_000, nsec: 123_456_789, ..Default::default() },
        &[1u8; 60],
        FILE_SNAPLEN,
        1,
    );
    b.push(&PacketInfo { len: 61, sec: 1_700_000_001, nsec: 5_000, ..Default::default() }, &[2u8; 61], 20, 1);
    b.push(
        &PacketInfo { len: 1514, sec: 1_700_000_002, nsec: 999_999_999, ..Default::default() },
        &[3u8; 1514],
        FILE_SNAPLEN,
        1,
    );
    b
}

fn read_all(path: &str) -> (Batch, Option<Error>) {
    let mut reader = FileReader::open(path).unwrap();
    let mut batch = Batch::default();
    loop {
        match reader.read(&mut batch, 2, FILE_SNAPLEN) {
            Ok(0) => return (batch, None),
            Ok(_) => {}
            Err(e) => return (batch, Some(e)),
        }
    }
}

#[test]
fn each_format_round_trips_lengths_and_timestamps() {
    for (name, format, usec) in [
        ("a.pcap", FileFormat::Pcap, true),
        ("a-ns.pcap", FileFormat::PcapNs, false),
        ("a.pcapng", FileFormat::PcapNg, false),
    ] {
        let path = temp(name);
        let mut w = FileWriter::create(&path, format, 1, None).unwrap();
        w.write(&sample()).unwrap();
        assert_eq!(w.finish().unwrap(), 3);
        let (got, err) = read_all(&path);
        assert!(err.is_none(), "{name}: {err:?}");
        let want = sample();
        assert_eq!(got.len(), 3, "{name}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert_eq!((g.len, g.data, g.sec), (w.len, w.data, w.sec), "{name}");
            assert_eq!(g.nsec, if usec { w.nsec / 1000 * 1000 } else { w.nsec }, "{name}");
            assert_eq!((g.ifindex, g.pkttype), (0, 0));
        }
    }
}

fn damaged(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> (Batch, Option<Error>) {
    let path = temp(name);
    let mut w = FileWriter::create(&path, FileFormat::Pcap, 1, None).unwrap();
    w.write(&sample()).unwrap();
    w.finish().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    edit(&mut bytes);
    std::fs::write(&path, bytes).unwrap();
    read_all(&path)
}

#[test]
fn damage_is_reported_with_packet_number_and_offset_after_the_good_packets() {
    // pcap: 24-byte file header, 16-byte record headers. Records start at 24, 100, 136.
    let (b, e) = damaged("trunc.pcap", |v| v.truncate(136 + 16 + 100));
    assert_eq!(b.len(), 2);
    let e = e.unwrap();
    assert!(matches!(e, Error::BadFile { .. }), "{e:?}");
    assert!(e.to_string().contains("byte offset 136 (packet 3)"), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");

    // Absurd caplen in the second record: incl_len 0x7fffffff.
    let (b, e) = damaged("caplen.pcap", |v| v[100 + 8..100 + 12].copy_from_slice(&0x7fff_ffffu32.to_ne_bytes()));
    assert_eq!(b.len(), 1);
    assert!(e.unwrap().to_string().contains("byte offset 100 (packet 2)"));

    // incl_len > orig_len is no damage (libpcap passes it on): the record's length is
    // then the captured one.
    let (b, e) = damaged("len.pcap", |v| v[24 + 12..24 + 16].copy_from_slice(&10u32.to_ne_bytes()));
    assert!(e.is_none(), "{e:?}");
    assert_eq!(b.len(), 3);
    assert_eq!((b.get(0).unwrap().len, b.get(0).unwrap().data.len()), (60, 60));
}

#[test]
fn truncated_header_missing_file_and_unwritable_path_are_named() {
    let path = temp("short.pcap");
    std::fs::write(&path, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
    let e = FileReader::open(&path).unwrap_err();
    assert!(e.to_string().contains("file header is truncated (6 bytes)"), "{e}");
    std::fs::write(&path, b"this is not a capture file at all").unwrap();
    let e = FileReader::open(&path).unwrap_err();
    assert!(e.to_string().contains("not a pcap or pcapng file"), "{e}");
    let e = FileReader::open("/nonexistent/x.pcap").unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT));
    assert!(e.to_string().contains("\"/nonexistent/x.pcap\""), "{e}");
    let e = FileWriter::create("/nonexistent/x.pcap", FileFormat::Pcap, 1, None).unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT));
}

#[test]
fn flush_puts_the_buffered_packets_in_the_file() {
    for (name, format) in [("flush.pcap", FileFormat::Pcap), ("flush-ns.pcap", FileFormat::PcapNs), ("flush.pcapng", FileFormat::PcapNg)] {
        let path = temp(name);
        let mut w = FileWriter::create(&path, format, 1, None).unwrap();
        w.write(&sample()).unwrap();
        let buffered = std::fs::metadata(&path).unwrap().len();
        w.flush().unwrap();
        let flushed = std::fs::metadata(&path).unwrap().len();
        assert!(flushed > buffered + 60 + 20 + 1514, "{name}: {buffered} then {flushed} bytes");
        // What a killed process leaves behind reads back whole.
        let (got, err) = read_all(&path);
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(got.len(), 3, "{name}");
        drop(w);
    }
}
