//! Fixture tests of the pcap/pcapng reader: each file is built in `file_fixtures` from
//! the formats' fields, and the expectations are what libpcap 1.10 (`sf-pcap.c`,
//! `sf-pcapng.c`) makes of it.

mod file_fixtures;

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

use file_fixtures::*;
use netring_core::{Batch, FileInterface, FileReader, FILE_SNAPLEN};

fn message(e: &Option<netring_core::Error>) -> String {
    e.as_ref().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn well_formed_files_in_both_byte_orders_and_resolutions() {
    for order in [Little, Big] {
        for (bytes, nanos) in [(pcap_file(order, MAGIC_USEC, 5), false), (pcap_file(order, MAGIC_NSEC, 5), true)] {
            let (got, err, reader) = read(&bytes).unwrap();
            assert!(err.is_none(), "{order:?}: {err:?}");
            assert_eq!(got.len(), 5);
            assert_eq!(reader.link_type(), 1);
            for (i, p) in got.iter().enumerate() {
                assert_eq!(p.data, frame(i as u8, 60 + i));
                assert_eq!((p.len, p.sec), (60 + i as u32, 1_700_000_000 + i as u32));
                let frac = i as u32 * 1000 + 7;
                assert_eq!(p.nsec, if nanos { frac } else { frac * 1000 });
            }
        }
        let (got, err, reader) = read(&pcapng_file(order, 5)).unwrap();
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got.len(), 5);
        assert_eq!(reader.interfaces(), [FileInterface { link_type: 1, snaplen: 65_535, name: Some("eth0".into()) }]);
        assert_eq!((got[4].sec, got[4].nsec, got[4].len), (1_700_000_004, 4007, 64));
    }
}

#[test]
fn a_bogus_4_gib_length_fails_at_once_in_a_sparse_multi_gib_file() {
    let dir = std::env::temp_dir().join(format!("netring-file-reader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, head, want) in [
        ("huge.pcap", huge_caplen(), "invalid packet capture length 4294967280, bigger than snaplen of 262144"),
        ("huge.pcapng", huge_block(), "pcapng block size 4294967280 > maximum 16777216"),
    ] {
        let path = dir.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&head).unwrap();
        // 6 GiB of holes after the bytes: reading them all would take many seconds.
        file.set_len(6 << 30).unwrap();
        drop(file);
        let start = Instant::now();
        let mut reader = FileReader::open(path.to_str().unwrap()).unwrap();
        let mut batch = Batch::default();
        assert_eq!(reader.read(&mut batch, 100, FILE_SNAPLEN).unwrap(), 1, "{name}: the good packet first");
        let e = reader.read(&mut batch, 100, FILE_SNAPLEN).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert!(e.to_string().contains("(packet 2)"), "{name}: {e}");
        assert!(start.elapsed() < Duration::from_secs(2), "{name}: took {:?}", start.elapsed());
        assert!(reader.buffer_capacity() <= 64 * 1024, "{name}: holds {} bytes", reader.buffer_capacity());
        std::fs::remove_file(&path).unwrap();
    }

    // A legal but large claim (a 262144-byte pcap record, a 16 MiB pcapng block) in a
    // short file: memory for what is there, not for the claim.
    let mut v = pcap_header(Little, MAGIC_USEC, 0, 1);
    v.extend(pcap_record(Little, 1, 0, 262_144, 262_144, &[0; 1000]));
    let (got, err, reader) = read(&v).unwrap();
    assert_eq!(got.len(), 0);
    assert!(message(&err).contains("(packet 1): the packet data is truncated"), "{err:?}");
    assert!(reader.buffer_capacity() <= 16 * 1024, "{}", reader.buffer_capacity());
    let mut v = pcapng_file(Little, 0);
    v.extend(&u32b(Little, EPB));
    v.extend(&u32b(Little, 16 << 20));
    v.extend(&[0; 3000]);
    let (_, err, reader) = read(&v).unwrap();
    assert!(message(&err).contains("block of type 6 is 16777216 bytes, the file has"), "{err:?}");
    assert!(reader.buffer_capacity() <= 16 * 1024, "{}", reader.buffer_capacity());
}

#[test]
fn caplen_beyond_libpcaps_maximum_is_refused_before_its_bytes_are_read() {
    let (got, err, _) = read(&caplen_over_max()).unwrap();
    assert_eq!(got.len(), 1);
    assert!(message(&err).contains("byte offset 100 (packet 2)"), "{err:?}");
    assert!(message(&err).contains("invalid packet capture length 262145, bigger than snaplen of 262144"), "{err:?}");
}

#[test]
fn subsecond_fields_of_a_second_or_more_are_carried_into_the_seconds() {
    let (got, err, _) = read(&odd_usec()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!([(got[0].sec, got[0].nsec), (got[1].sec, got[1].nsec)], [(101, 500_000_000), (200, 999_999_000)]);
    let (got, err, _) = read(&odd_nsec()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!([(got[0].sec, got[0].nsec), (got[1].sec, got[1].nsec)], [(102, 1), (204, 294_967_295)]);
}

#[test]
fn caplen_over_snaplen_is_cut_to_it_and_caplen_over_len_is_kept() {
    let (got, err, reader) = read(&caplen_over_snaplen()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(reader.interfaces()[0].snaplen, 64);
    // As libpcap: the record's 100 bytes are read, the first 64 (the snaplen) delivered.
    assert_eq!((got[0].data.as_slice(), got[0].len), (&frame(0, 100)[..64], 100));
    assert_eq!((got[1].data.as_slice(), got[1].len), (&frame(1, 64)[..], 1514));

    let (got, err, _) = read(&caplen_over_len()).unwrap();
    assert!(err.is_none(), "{err:?}");
    // The Batch record's length is never below its captured length.
    assert_eq!((got[0].data.len(), got[0].len), (100, 100));

    // pcapng: libpcap refuses caplen above the interface's snaplen.
    let (got, err, _) = read(&pcapng_caplen_over_snaplen()).unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        message(&err).contains("(packet 2): invalid packet capture length 100, bigger than snaplen of 64"),
        "{err:?}"
    );
}

#[test]
fn options_may_end_at_the_block_end_without_opt_endofopt() {
    let (got, err, reader) = read(&no_endofopt()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 2);
    assert_eq!(reader.interfaces()[0].name.as_deref(), Some("eth1"));
    assert_eq!(reader.interfaces()[0].snaplen, 262_144, "snaplen 0 stands for libpcap's maximum");
    assert_eq!((got[1].sec, got[1].nsec), (2, 0), "if_tsresol 6 was read");
}

#[test]
fn option_strings_need_not_be_utf8() {
    let (got, err, reader) = read(&non_utf8_options()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 1);
    assert_eq!(reader.interfaces()[0].name.as_deref(), Some("eth\u{fffd}0"));
}

#[test]
fn obsolete_packet_blocks_are_delivered() {
    let (got, err, _) = read(&obsolete_packet_blocks()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].sec, got[0].nsec, got[0].data.clone()), (1, 2000, frame(0, 60)));
    assert_eq!((got[1].sec, got[1].nsec, got[1].len), (2, 500_000_000, 61));
}

#[test]
fn a_simple_packet_blocks_padding_is_not_data() {
    let (got, err, _) = read(&spb_padding()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!((got[0].data.clone(), got[0].len), (frame(0, 61), 61));
    assert_eq!((got[1].data.clone(), got[1].len), (frame(1, 64), 1514));
    assert_eq!((got[0].sec, got[0].nsec), (0, 0), "an SPB has no timestamp");
}

#[test]
fn a_truncated_last_record_is_reported_after_the_packets_before_it() {
    let (got, err, _) = read(&truncated_last_pcap()).unwrap();
    assert_eq!(got.len(), 2);
    let e = err.unwrap();
    assert!(matches!(e, netring_core::Error::BadFile { .. }), "{e}");
    assert!(
        e.to_string().contains(
            "byte offset 177 (packet 3): the packet data is truncated: its captured length is 62 bytes, the file has 10 left"
        ),
        "{e}"
    );
    let mut header_cut = pcap_file(Little, MAGIC_USEC, 2);
    header_cut.extend(&[0; 5]);
    let (got, err, _) = read(&header_cut).unwrap();
    assert_eq!(got.len(), 2);
    assert!(message(&err).contains("byte offset 177 (packet 3): the record header is truncated"), "{err:?}");

    let bytes = truncated_last_pcapng();
    let (got, err, _) = read_with(&bytes, 1).unwrap();
    assert_eq!(got.len(), 2);
    let third = bytes.len() - 76;
    assert!(message(&err).contains(&format!("byte offset {third} (packet 3): the block is truncated")), "{err:?}");
}

#[test]
fn tsresol_powers_of_10_and_2_and_tsoffset() {
    let (got, err, reader) = read(&tsresol_file()).unwrap();
    assert!(err.is_none(), "{err:?}");
    let times: Vec<_> = got.iter().map(|p| (p.sec, p.nsec, p.interface)).collect();
    assert_eq!(times, [(1, 500_000_000, 0), (1003, 250_000_000, 1), (7, 1000, 2)]);
    assert_eq!(reader.interfaces().len(), 3);
}

#[test]
fn sections_have_their_own_byte_order_and_interfaces() {
    for (first, second) in [(Little, Little), (Big, Big), (Little, Big), (Big, Little)] {
        let (got, err, reader) = read(&multi_section_orders(first, second, 113)).unwrap();
        assert!(err.is_none(), "{first:?} {second:?}: {err:?}");
        let seen: Vec<_> = got.iter().map(|p| (p.sec, p.interface)).collect();
        assert_eq!(seen, [(0, 0), (1, 0), (10, 1), (11, 1)]);
        assert_eq!(reader.link_type(), 1);
        let interfaces: Vec<_> = reader.interfaces().iter().map(|i| (i.link_type, i.name.clone().unwrap())).collect();
        assert_eq!(interfaces, [(1, "if0".to_owned()), (113, "if1".to_owned())]);
    }
}

#[test]
fn unknown_blocks_are_skipped_and_old_pcap_variants_read() {
    let (got, err, _) = read(&unknown_blocks()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 2);

    let (got, err, _) = read(&version_2_2()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!((got[0].data.len(), got[0].len), (60, 100), "2.2 has orig_len first");

    let (got, err, _) = read(&patched_magic()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!((got.len(), got[1].data.clone(), got[1].sec), (2, frame(1, 60), 2));
}

#[test]
fn what_libpcap_refuses_is_refused() {
    let e = read(&packet_before_idb()).unwrap_err();
    assert!(e.to_string().contains("a packet block before any Interface Description Blocks"), "{e}");
    let e = read(&no_idb()).unwrap_err();
    assert!(e.to_string().contains("has no Interface Description Blocks"), "{e}");
    let (got, err, _) = read(&bad_trailer()).unwrap();
    assert_eq!(got.len(), 1);
    assert!(message(&err).contains("block total length in header 116 and trailer 120 don't match"), "{err:?}");
    let (got, err, _) = read(&unknown_interface()).unwrap();
    assert_eq!(got.len(), 1);
    assert!(message(&err).contains("a packet arrived on interface 1"), "{err:?}");
    let e = read(&pcap_header_v(Little, MAGIC_USEC, (1, 0), 0, 1)).unwrap_err();
    assert!(e.to_string().contains("archaic pcap savefile format"), "{e}");
    let e = read(&pcap_header_v(Big, MAGIC_USEC, (2, 5), 0, 1)).unwrap_err();
    assert!(e.to_string().contains("unsupported pcap savefile version 2.5"), "{e}");
    for (resol, want) in [(20u8, "10^-20 is too high"), (0x80 | 64, "2^-64 is too high")] {
        let mut v = shb(Little, &[]);
        v.extend(idb(Little, 1, 0, &tsresol(Little, resol)));
        let e = read(&v).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let mut v = shb(Little, &[]);
    v.extend(idb(Little, 1, 0, &[tsresol(Little, 6), tsresol(Little, 9)].concat()));
    assert!(read(&v).unwrap_err().to_string().contains("more than one if_tsresol"));
    let e = read(b"GET / HTTP/1.1\r\n").unwrap_err();
    assert!(e.to_string().contains("not a pcap or pcapng file"), "{e}");
}

#[test]
fn file_reader_open_reads_a_path() {
    let path = std::env::temp_dir().join(format!("netring-file-reader-open-{}.pcapng", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap()
        .write_all(&pcapng_file(Big, 3))
        .unwrap();
    let mut reader = FileReader::open(path.to_str().unwrap()).unwrap();
    let mut batch = Batch::default();
    assert_eq!(reader.read(&mut batch, 10, 20).unwrap(), 3);
    assert_eq!(batch.get(2).unwrap().data.len(), 20, "cut to the read's snaplen");
    assert_eq!(reader.read(&mut batch, 10, 20).unwrap(), 0);
    assert_eq!(reader.packets(), 3);
    std::fs::remove_file(&path).unwrap();
}
