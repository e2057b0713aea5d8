//! pcap and pcapng files built byte by byte from the formats, for the reader's fixture,
//! fuzz and tcpdump tests. Field layouts are written beside each builder; the formats are
//! libpcap's `pcap-savefile(5)` and the pcapng draft (draft-ietf-opsawg-pcapng).

#![allow(dead_code)]

use std::io::Cursor;

use netring_core::{Batch, Error, FileReader, FILE_SNAPLEN};

/// Byte order of a fixture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Little,
    Big,
}
pub use Order::{Big, Little};

pub fn u16b(order: Order, v: u16) -> [u8; 2] {
    match order {
        Little => v.to_le_bytes(),
        Big => v.to_be_bytes(),
    }
}

pub fn u32b(order: Order, v: u32) -> [u8; 4] {
    match order {
        Little => v.to_le_bytes(),
        Big => v.to_be_bytes(),
    }
}

/// A 60-byte-or-so Ethernet frame `len` bytes long: broadcast destination, source
/// 02:00:00:00:00:0n, EtherType 0x88b5 (local experimental), then `seq` and a byte ramp.
pub fn frame(seq: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, seq]);
    f.extend_from_slice(&[0x88, 0xb5, seq]);
    f.extend((0..len.saturating_sub(f.len())).map(|i| i as u8));
    f.truncate(len);
    f
}

pub const MAGIC_USEC: u32 = 0xa1b2_c3d4;
pub const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
pub const MAGIC_PATCHED: u32 = 0xa1b2_cd34;

/// pcap file header, 24 bytes: magic, version major (u16) and minor (u16), thiszone,
/// sigfigs, snaplen, network (link type).
pub fn pcap_header_v(order: Order, magic: u32, version: (u16, u16), snaplen: u32, link_type: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&u32b(order, magic));
    h.extend_from_slice(&u16b(order, version.0));
    h.extend_from_slice(&u16b(order, version.1));
    h.extend_from_slice(&u32b(order, 0)); // thiszone
    h.extend_from_slice(&u32b(order, 0)); // sigfigs
    h.extend_from_slice(&u32b(order, snaplen));
    h.extend_from_slice(&u32b(order, link_type));
    h
}

/// Version 2.4 header.
pub fn pcap_header(order: Order, magic: u32, snaplen: u32, link_type: u32) -> Vec<u8> {
    pcap_header_v(order, magic, (2, 4), snaplen, link_type)
}

/// pcap record: ts_sec, ts_usec (or ts_nsec), incl_len, orig_len (u32 each), then the data
/// as given (its length need not be incl_len, to build damaged records).
pub fn pcap_record(order: Order, sec: u32, frac: u32, caplen: u32, len: u32, data: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    for v in [sec, frac, caplen, len] {
        r.extend_from_slice(&u32b(order, v));
    }
    r.extend_from_slice(data);
    r
}

/// A well-formed pcap file: `count` packets, packet i being frame(i, 60 + i), stamped
/// 1_700_000_000 + i s and i * 1000 + 7 µs (or ns).
pub fn pcap_file(order: Order, magic: u32, count: u8) -> Vec<u8> {
    let mut v = pcap_header(order, magic, 65_535, 1);
    for i in 0..count {
        let f = frame(i, 60 + usize::from(i));
        v.extend(pcap_record(
            order,
            1_700_000_000 + u32::from(i),
            u32::from(i) * 1000 + 7,
            f.len() as u32,
            f.len() as u32,
            &f,
        ));
    }
    v
}

pub const SHB: u32 = 0x0a0d_0d0a;
pub const IDB: u32 = 1;
pub const OPB: u32 = 2;
pub const SPB: u32 = 3;
pub const NRB: u32 = 4;
pub const ISB: u32 = 5;
pub const EPB: u32 = 6;

/// pcapng block: block type, block total length, body padded to 4 bytes, block total length.
pub fn block(order: Order, kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = (body.len() + 3) & !3;
    let total = (12 + padded) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&u32b(order, kind));
    b.extend_from_slice(&u32b(order, total));
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&u32b(order, total));
    b
}

/// pcapng option: code (u16), length (u16), value padded to 4 bytes.
pub fn option(order: Order, code: u16, value: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    o.extend_from_slice(&u16b(order, code));
    o.extend_from_slice(&u16b(order, value.len() as u16));
    o.extend_from_slice(value);
    o.resize(4 + ((value.len() + 3) & !3), 0);
    o
}

/// opt_endofopt: code 0, length 0.
pub fn end_of_options() -> Vec<u8> {
    vec![0; 4]
}

/// Section Header Block body: byte-order magic 0x1A2B3C4D, major 1, minor 0, section
/// length -1 (unknown), then `options`.
pub fn shb(order: Order, options: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(order, 0x1a2b_3c4d));
    body.extend_from_slice(&u16b(order, 1));
    body.extend_from_slice(&u16b(order, 0));
    body.extend_from_slice(&[0xff; 8]);
    body.extend_from_slice(options);
    block(order, SHB, &body)
}

/// Interface Description Block body: LinkType (u16), reserved (u16), SnapLen (u32), options.
pub fn idb(order: Order, link_type: u16, snaplen: u32, options: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16b(order, link_type));
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&u32b(order, snaplen));
    body.extend_from_slice(options);
    block(order, IDB, &body)
}

/// if_tsresol option (code 9, 1 byte): 10^-n s, or 2^-n s with the top bit set.
pub fn tsresol(order: Order, resol: u8) -> Vec<u8> {
    option(order, 9, &[resol])
}

/// Enhanced Packet Block body: Interface ID, Timestamp (high), Timestamp (low), Captured
/// Packet Length, Original Packet Length (u32 each), data padded to 4 bytes, options.
pub fn epb(order: Order, interface: u32, ts: u64, caplen: u32, len: u32, data: &[u8], options: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in [interface, (ts >> 32) as u32, ts as u32, caplen, len] {
        body.extend_from_slice(&u32b(order, v));
    }
    body.extend_from_slice(data);
    body.resize((body.len() + 3) & !3, 0);
    body.extend_from_slice(options);
    block(order, EPB, &body)
}

/// Obsolete Packet Block body: Interface ID (u16), Drops Count (u16), Timestamp (high),
/// Timestamp (low), Captured Len, Packet Len (u32 each), data padded, options.
pub fn opb(order: Order, interface: u16, drops: u16, ts: u64, caplen: u32, len: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16b(order, interface));
    body.extend_from_slice(&u16b(order, drops));
    for v in [(ts >> 32) as u32, ts as u32, caplen, len] {
        body.extend_from_slice(&u32b(order, v));
    }
    body.extend_from_slice(data);
    block(order, OPB, &body)
}

/// Simple Packet Block body: Original Packet Length (u32), data padded to 4 bytes.
pub fn spb(order: Order, len: u32, data: &[u8]) -> Vec<u8> {
    let mut body = u32b(order, len).to_vec();
    body.extend_from_slice(data);
    block(order, SPB, &body)
}

/// A well-formed one-section pcapng file: SHB with shb_userappl, an Ethernet IDB with
/// if_name "eth0" and if_tsresol 9, `count` EPBs (frame(i, 60 + i), 1.7e9 + i seconds and
/// i * 1000 + 7 ns) with an opt_comment, and an Interface Statistics Block at the end.
pub fn pcapng_file(order: Order, count: u8) -> Vec<u8> {
    let mut v = shb(order, &[option(order, 4, b"netring tests"), end_of_options()].concat());
    v.extend(idb(order, 1, 65_535, &[option(order, 2, b"eth0"), tsresol(order, 9), end_of_options()].concat()));
    for i in 0..count {
        let f = frame(i, 60 + usize::from(i));
        let ts = (1_700_000_000 + u64::from(i)) * 1_000_000_000 + u64::from(i) * 1000 + 7;
        let comment = [option(order, 1, b"a comment"), end_of_options()].concat();
        v.extend(epb(order, 0, ts, f.len() as u32, f.len() as u32, &f, &comment));
    }
    // ISB: Interface ID, Timestamp high, low, no options.
    let isb = [u32b(order, 0), u32b(order, 0), u32b(order, 0)].concat();
    v.extend(block(order, ISB, &isb));
    v
}

/// One packet as read, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub data: Vec<u8>,
    pub len: u32,
    pub sec: u32,
    pub nsec: u32,
    pub interface: u32,
}

/// Reads `bytes` to the end (or the error) in reads of `per_read` packets.
pub fn read_with(bytes: &[u8], per_read: usize) -> Result<(Vec<Got>, Option<Error>, FileReader), Error> {
    let mut reader = FileReader::from_read("fixture", Cursor::new(bytes.to_vec()))?;
    let mut got = Vec::new();
    loop {
        let mut batch = Batch::default();
        match reader.read(&mut batch, per_read, FILE_SNAPLEN) {
            Ok(0) => return Ok((got, None, reader)),
            Ok(n) => {
                assert_eq!(batch.len(), n);
                assert_eq!(reader.packet_interfaces().len(), n);
                for (p, &interface) in batch.iter().zip(reader.packet_interfaces()) {
                    got.push(Got { data: p.data.to_vec(), len: p.len, sec: p.sec, nsec: p.nsec, interface });
                }
            }
            Err(e) => return Ok((got, Some(e), reader)),
        }
    }
}

pub fn read(bytes: &[u8]) -> Result<(Vec<Got>, Option<Error>, FileReader), Error> {
    read_with(bytes, 3)
}

/// What libpcap (tcpdump) makes of a fixture, as far as the tests know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Libpcap {
    /// Reads `n` packets and no error.
    Reads(usize),
    /// Reads `n` packets, then refuses the rest (or refuses to open: `Fails(0)`).
    Fails(usize),
}

/// A file for the comparison with tcpdump, and what netring must make of it.
pub struct Case {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub libpcap: Libpcap,
}

/// Every fixture of the reader tests that tcpdump is asked about too.
pub fn cases() -> Vec<Case> {
    use Libpcap::{Fails, Reads};
    let mut v = Vec::new();
    let mut add = |name, bytes, libpcap| v.push(Case { name, bytes, libpcap });
    add("le-usec.pcap", pcap_file(Little, MAGIC_USEC, 5), Reads(5));
    add("be-usec.pcap", pcap_file(Big, MAGIC_USEC, 5), Reads(5));
    add("le-nsec.pcap", pcap_file(Little, MAGIC_NSEC, 4), Reads(4));
    add("be-nsec.pcap", pcap_file(Big, MAGIC_NSEC, 4), Reads(4));
    add("le.pcapng", pcapng_file(Little, 5), Reads(5));
    add("be.pcapng", pcapng_file(Big, 5), Reads(5));
    add("odd-usec.pcap", odd_usec(), Reads(2));
    add("odd-nsec.pcap", odd_nsec(), Reads(2));
    add("caplen-over-snaplen.pcap", caplen_over_snaplen(), Reads(2));
    add("caplen-over-len.pcap", caplen_over_len(), Reads(1));
    add("caplen-over-max.pcap", caplen_over_max(), Fails(1));
    add("huge-caplen.pcap", huge_caplen(), Fails(1));
    add("huge-block.pcapng", huge_block(), Fails(1));
    add("no-endofopt.pcapng", no_endofopt(), Reads(2));
    add("non-utf8-options.pcapng", non_utf8_options(), Reads(1));
    add("opb.pcapng", obsolete_packet_blocks(), Reads(2));
    add("spb-padding.pcapng", spb_padding(), Reads(2));
    add("truncated-last.pcap", truncated_last_pcap(), Fails(2));
    add("truncated-last.pcapng", truncated_last_pcapng(), Fails(2));
    add("multi-section.pcapng", multi_section(Big), Reads(4));
    add("tsresol.pcapng", tsresol_file(), Reads(3));
    add("unknown-blocks.pcapng", unknown_blocks(), Reads(2));
    add("version-2.2.pcap", version_2_2(), Reads(2));
    add("patched-magic.pcap", patched_magic(), Reads(2));
    add("pcapng-caplen-over-snaplen.pcapng", pcapng_caplen_over_snaplen(), Fails(1));
    add("packet-before-idb.pcapng", packet_before_idb(), Fails(0));
    add("no-idb.pcapng", no_idb(), Fails(0));
    add("bad-trailer.pcapng", bad_trailer(), Fails(1));
    add("unknown-interface.pcapng", unknown_interface(), Fails(1));
    v
}

/// pcap, µs: usec 1_500_000 (1.5 s) and 999_999 (in range).
pub fn odd_usec() -> Vec<u8> {
    let f = frame(0, 60);
    let mut v = pcap_header(Little, MAGIC_USEC, 65_535, 1);
    v.extend(pcap_record(Little, 100, 1_500_000, 60, 60, &f));
    v.extend(pcap_record(Little, 200, 999_999, 60, 60, &f));
    v
}

/// pcap, ns: nsec 2_000_000_001 (2 s and 1 ns) and 0xffffffff (4.294967295 s).
pub fn odd_nsec() -> Vec<u8> {
    let f = frame(0, 60);
    let mut v = pcap_header(Big, MAGIC_NSEC, 65_535, 1);
    v.extend(pcap_record(Big, 100, 2_000_000_001, 60, 60, &f));
    v.extend(pcap_record(Big, 200, u32::MAX, 60, 60, &f));
    v
}

/// Header snaplen 64; record 1 has caplen 100 (> snaplen, within libpcap's 262144),
/// record 2 caplen 64.
pub fn caplen_over_snaplen() -> Vec<u8> {
    let mut v = pcap_header(Little, MAGIC_USEC, 64, 1);
    v.extend(pcap_record(Little, 1, 0, 100, 100, &frame(0, 100)));
    v.extend(pcap_record(Little, 2, 0, 64, 1514, &frame(1, 64)));
    v
}

/// caplen 100 > orig_len 60.
pub fn caplen_over_len() -> Vec<u8> {
    let mut v = pcap_header(Little, MAGIC_USEC, 65_535, 1);
    v.extend(pcap_record(Little, 1, 0, 100, 60, &frame(0, 100)));
    v
}

/// Header snaplen 0 (stands for 262144); record 2 has caplen 262145, one byte more than
/// libpcap accepts for Ethernet (the bytes are there: the length alone is refused).
pub fn caplen_over_max() -> Vec<u8> {
    let mut v = pcap_header(Little, MAGIC_USEC, 0, 1);
    v.extend(pcap_record(Little, 1, 0, 60, 60, &frame(0, 60)));
    v.extend(pcap_record(Little, 2, 0, 262_145, 262_145, &vec![0; 262_145]));
    v
}

/// A record claiming 4294967280 captured bytes after one good packet: refused at once.
pub fn huge_caplen() -> Vec<u8> {
    let mut v = pcap_header(Little, MAGIC_USEC, 262_144, 1);
    v.extend(pcap_record(Little, 1, 0, 60, 60, &frame(0, 60)));
    v.extend(pcap_record(Little, 2, 0, 0xffff_fff0, 0xffff_fff0, &[0; 64]));
    v
}

/// A pcapng EPB whose block total length is 4294967280, after one good packet.
pub fn huge_block() -> Vec<u8> {
    let mut v = pcapng_file(Little, 1);
    let mut bad = epb(Little, 0, 0, 60, 60, &frame(1, 60), &[]);
    bad[4..8].copy_from_slice(&u32b(Little, 0xffff_fff0));
    v.extend(bad);
    v
}

/// Options that end at the end of the block without opt_endofopt, in the SHB (shb_os),
/// the IDB (if_name, if_tsresol 6) and an EPB (opt_comment).
pub fn no_endofopt() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &option(o, 3, b"Linux"));
    v.extend(idb(o, 1, 0, &[option(o, 2, b"eth1"), tsresol(o, 6)].concat()));
    let f = frame(0, 60);
    v.extend(epb(o, 0, 1_000_000, 60, 60, &f, &option(o, 1, b"no end")));
    v.extend(epb(o, 0, 2_000_000, 60, 60, &f, &[]));
    v
}

/// Option strings that are not UTF-8: shb_hardware, if_name "eth\xff0", if_description,
/// opt_comment in the EPB.
pub fn non_utf8_options() -> Vec<u8> {
    let o = Big;
    let mut v = shb(o, &[option(o, 2, b"\xfe\xfe hw"), end_of_options()].concat());
    v.extend(idb(o, 1, 65_535, &[option(o, 2, b"eth\xff0"), option(o, 3, b"\xc3\x28"), end_of_options()].concat()));
    let f = frame(0, 60);
    v.extend(epb(o, 0, 1, 60, 60, &f, &[option(o, 1, b"\xff\xff"), end_of_options()].concat()));
    v
}

/// Two Obsolete Packet Blocks (type 2) on interface 0, µs timestamps 1.000002 and 2.5 s.
pub fn obsolete_packet_blocks() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &[]);
    v.extend(idb(o, 1, 65_535, &[]));
    v.extend(opb(o, 0, 0, 1_000_002, 60, 60, &frame(0, 60)));
    v.extend(opb(o, 0, 3, 2_500_000, 61, 61, &frame(1, 61)));
    v
}

/// Simple Packet Blocks: a 61-byte packet padded to 64, and a 1514-byte packet cut to
/// the interface's snaplen 64 (64 bytes of data in the block).
pub fn spb_padding() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &[]);
    v.extend(idb(o, 1, 64, &[]));
    v.extend(spb(o, 61, &frame(0, 61)));
    v.extend(spb(o, 1514, &frame(1, 64)));
    v
}

/// Three pcap records, the third cut 10 bytes into its 62 bytes of data. Records at 24,
/// 100 (24 + 16 + 60), 177 (100 + 16 + 61).
pub fn truncated_last_pcap() -> Vec<u8> {
    let mut v = pcap_file(Little, MAGIC_USEC, 3);
    v.truncate(177 + 16 + 10);
    v
}

/// Three EPBs, the third cut in half.
pub fn truncated_last_pcapng() -> Vec<u8> {
    let mut v = pcapng_file(Little, 3);
    let isb = 24;
    v.truncate(v.len() - isb - 40);
    v
}

/// Two sections in the same byte order, each with an Ethernet interface and two EPBs
/// (libpcap refuses a change of byte order or link type; netring does not).
pub fn multi_section(order: Order) -> Vec<u8> {
    multi_section_orders(order, order, 1)
}

/// Two sections, in `first` and `second` byte order, each with an interface ("if0":
/// Ethernet, "if1": `second_link_type`) and two EPBs, stamped 0, 1, 10 and 11 s.
pub fn multi_section_orders(first: Order, second: Order, second_link_type: u16) -> Vec<u8> {
    let mut v = Vec::new();
    for (s, (o, lt)) in [(first, 1u16), (second, second_link_type)].into_iter().enumerate() {
        v.extend(shb(o, &[]));
        v.extend(idb(o, lt, 65_535, &[option(o, 2, format!("if{s}").as_bytes()), end_of_options()].concat()));
        for i in 0..2u8 {
            let f = frame(i, 60);
            v.extend(epb(o, 0, (s as u64 * 10 + u64::from(i)) * 1_000_000, 60, 60, &f, &[]));
        }
    }
    v
}

/// Three interfaces: if_tsresol 3 (ms), if_tsresol 0x8a (2^-10 s) with if_tsoffset 1000 s,
/// and none (µs); an EPB on each.
pub fn tsresol_file() -> Vec<u8> {
    let o = Big;
    let mut v = shb(o, &[]);
    v.extend(idb(o, 1, 0, &[tsresol(o, 3), end_of_options()].concat()));
    v.extend(idb(o, 1, 0, &[tsresol(o, 0x8a), option(o, 14, &1000u64.to_be_bytes()), end_of_options()].concat()));
    v.extend(idb(o, 1, 0, &[]));
    let f = frame(0, 60);
    v.extend(epb(o, 0, 1_500, 60, 60, &f, &[])); // 1.5 s
    v.extend(epb(o, 1, 3 * 1024 + 256, 60, 60, &f, &[])); // 1000 + 3.25 s
    v.extend(epb(o, 2, 7_000_001, 60, 60, &f, &[])); // 7.000001 s
    v
}

/// A Name Resolution Block, a custom block (0x00000bad) and a made-up type 0x12345678
/// between the packets; all skipped.
pub fn unknown_blocks() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &[]);
    v.extend(block(o, 0x1234_5678, &[1, 2, 3, 4, 5]));
    v.extend(idb(o, 1, 0, &[]));
    // NRB: record type 1 (IPv4), length 8: 10.0.0.1 "a\0\0\0"; nrb_record_end.
    let nrb = [u16b(o, 1).to_vec(), u16b(o, 8).to_vec(), vec![10, 0, 0, 1, b'a', 0, 0, 0], vec![0; 4]].concat();
    v.extend(block(o, NRB, &nrb));
    v.extend(epb(o, 0, 1, 60, 60, &frame(0, 60), &[]));
    v.extend(block(o, 0x0000_0bad, &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]));
    v.extend(epb(o, 0, 2, 60, 60, &frame(1, 60), &[]));
    v
}

/// Version 2.2: the record header has orig_len before incl_len.
pub fn version_2_2() -> Vec<u8> {
    let o = Little;
    let mut v = pcap_header_v(o, MAGIC_USEC, (2, 2), 65_535, 1);
    v.extend(pcap_record(o, 1, 0, 100, 60, &frame(0, 60))); // len 100, caplen 60
    v.extend(pcap_record(o, 2, 0, 61, 61, &frame(1, 61)));
    v
}

/// The patched-libpcap magic 0xa1b2cd34: 24-byte record headers (ifindex u32, protocol
/// u16, packet type u8, padding u8 after orig_len).
pub fn patched_magic() -> Vec<u8> {
    let o = Big;
    let mut v = pcap_header(o, MAGIC_PATCHED, 65_535, 1);
    for i in 0..2u8 {
        let f = frame(i, 60);
        let mut r = pcap_record(o, 1 + u32::from(i), 0, 60, 60, &[]);
        r.extend_from_slice(&u32b(o, 3)); // ifindex
        r.extend_from_slice(&u16b(o, 0x0800)); // protocol
        r.extend_from_slice(&[0, 0]); // packet type, padding
        r.extend_from_slice(&f);
        v.extend(r);
    }
    v
}

/// IDB snaplen 64; EPB 1 caplen 60, EPB 2 caplen 100: libpcap refuses the second.
pub fn pcapng_caplen_over_snaplen() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &[]);
    v.extend(idb(o, 1, 64, &[]));
    v.extend(epb(o, 0, 1, 60, 60, &frame(0, 60), &[]));
    v.extend(epb(o, 0, 2, 100, 100, &frame(1, 100), &[]));
    v
}

/// An EPB before any IDB.
pub fn packet_before_idb() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &[]);
    v.extend(epb(o, 0, 1, 60, 60, &frame(0, 60), &[]));
    v.extend(idb(o, 1, 0, &[]));
    v
}

/// A section header and nothing else.
pub fn no_idb() -> Vec<u8> {
    shb(Little, &[])
}

/// The second EPB's trailing length is 4 more than its leading one.
pub fn bad_trailer() -> Vec<u8> {
    let mut v = pcapng_file(Little, 2);
    let isb = 24;
    let end = v.len() - isb;
    let trailer = u32::from_le_bytes(v[end - 4..end].try_into().unwrap());
    v[end - 4..end].copy_from_slice(&(trailer + 4).to_le_bytes());
    v
}

/// An EPB on interface 1 of a section with one interface.
pub fn unknown_interface() -> Vec<u8> {
    let o = Little;
    let mut v = shb(o, &[]);
    v.extend(idb(o, 1, 0, &[]));
    v.extend(epb(o, 0, 1, 60, 60, &frame(0, 60), &[]));
    v.extend(epb(o, 1, 2, 60, 60, &frame(1, 60), &[]));
    v
}

// Mutation of fixtures, for the fuzz run and the comparison of mutated files with tcpdump.

/// splitmix64: small, seedable, good enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

pub fn seeds() -> Vec<Vec<u8>> {
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

pub fn mutate(rng: &mut Rng, v: &mut Vec<u8>) {
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
                let value =
                    if rng.below(4) == 0 { rng.next() as u32 } else { FIELD_VALUES[rng.below(FIELD_VALUES.len())] };
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
