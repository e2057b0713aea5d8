//! pcap and pcapng trace files: a reader that fills the same [`Batch`] records as a live
//! capture, and a writer fed from a `Batch`.
//!
//! Parsing is the `pcap-file` crate's, not ours: the formats have byte orders, two
//! timestamp resolutions, per-interface `if_tsresol`, block types and options whose edge
//! cases a maintained, fuzzed library already handles; this module only streams the file
//! through its slice parsers so that errors can say exactly where (packet number and byte
//! offset) and packets before the damage are still delivered. NOTE: `pcap.rs` is
//! libpcap's filter compiler, unrelated.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapParser, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::{Block, PcapNgParser, PcapNgWriter};
use pcap_file::{DataLink, PcapError, TsResolution};

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::frame::PacketInfo;

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 1 << 20;
/// Snapshot length written in file headers: the largest netring captures (and tcpdump's default).
pub const FILE_SNAPLEN: u32 = 262_144;
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// A trace file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic pcap, microsecond timestamps (magic 0xa1b2c3d4).
    Pcap,
    /// Classic pcap, nanosecond timestamps (magic 0xa1b23c4d).
    PcapNs,
    /// pcapng: one section, one Ethernet interface with `if_tsresol` 9 (nanoseconds).
    PcapNg,
}

impl FileFormat {
    /// `pcap`, `pcap-ns` or `pcapng`.
    pub fn parse(name: &str) -> Result<FileFormat> {
        match name {
            "pcap" => Ok(FileFormat::Pcap),
            "pcap-ns" => Ok(FileFormat::PcapNs),
            "pcapng" => Ok(FileFormat::PcapNg),
            other => Err(Error::Range(format!("file format {other:?} must be \"pcap\", \"pcap-ns\" or \"pcapng\""))),
        }
    }

    /// pcapng for a `.pcapng` path, classic pcap (microseconds) otherwise.
    pub fn for_path(path: &str) -> FileFormat {
        if path.ends_with(".pcapng") {
            FileFormat::PcapNg
        } else {
            FileFormat::Pcap
        }
    }
}

enum Parser {
    Pcap(PcapParser),
    PcapNg(PcapNgParser),
}

/// Reads a pcap or pcapng file (told apart by its magic number) packet by packet.
pub struct FileReader {
    path: String,
    file: File,
    buf: Vec<u8>,
    /// Start of unparsed bytes in `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// `None` only while the header is being read.
    parser: Option<Parser>,
    /// Packets delivered so far.
    packets: u64,
    /// Set after an error or the end: reading stops there.
    done: bool,
    /// An error found after some packets of a read: returned by the next read.
    pending: Option<Error>,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader").field("path", &self.path).field("packets", &self.packets).finish()
    }
}

fn file_error<'a>(path: &'a str, op: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::File { path: path.to_owned(), op, source }
}

impl FileReader {
    /// Opens `path` and parses its file header (pcap) or section header (pcapng).
    pub fn open(path: &str) -> Result<FileReader> {
        let file = File::open(path).map_err(file_error(path, "open"))?;
        let mut reader = FileReader {
            path: path.to_owned(),
            file,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            eof: false,
            parser: None,
            packets: 0,
            done: false,
            pending: None,
        };
        loop {
            let head = &reader.buf[..];
            let parsed = if head.len() >= 4 && head[..4] == PCAPNG_MAGIC {
                PcapNgParser::new(head).map(|(rem, p)| (head.len() - rem.len(), Parser::PcapNg(p)))
            } else {
                PcapParser::new(head).map(|(rem, p)| (head.len() - rem.len(), Parser::Pcap(p)))
            };
            match parsed {
                Ok((used, parser)) => {
                    reader.pos = used;
                    reader.parser = Some(parser);
                    return Ok(reader);
                }
                Err(PcapError::IncompleteBuffer) if !reader.eof => reader.fill()?,
                Err(PcapError::IncompleteBuffer) => {
                    return Err(reader.corrupt(0, format!("the file header is truncated ({} bytes)", reader.buf.len())))
                }
                Err(e) => return Err(reader.corrupt(0, format!("not a pcap or pcapng file: {e}"))),
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Packets delivered so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    fn corrupt(&mut self, offset: u64, message: String) -> Error {
        self.done = true;
        Error::BadFile { path: self.path.clone(), packet: self.packets + 1, offset, message }
    }

    /// Moves the unparsed bytes to the front and appends up to [`READ_CHUNK`] more.
    fn fill(&mut self) -> Result<()> {
        self.buf.drain(..self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
        let start = self.buf.len();
        self.buf.resize(start + READ_CHUNK, 0);
        let n = loop {
            match self.file.read(&mut self.buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(file_error(&self.path, "read")(e));
                }
            }
        };
        self.buf.truncate(start + n);
        self.eof = n == 0;
        Ok(())
    }

    /// Appends up to `max` packets to `batch`, cut to `snaplen`; returns how many, 0 at
    /// the end of the file. A damaged record is an [`Error::BadFile`] naming its packet
    /// number and byte offset, returned once the packets before it were delivered.
    pub fn read(&mut self, batch: &mut Batch, max: usize, snaplen: u32) -> Result<usize> {
        if let Some(error) = self.pending.take() {
            return Err(error);
        }
        let mut count = 0;
        while count < max && !self.done {
            let offset = self.base + self.pos as u64;
            let slice = &self.buf[self.pos..];
            if slice.is_empty() && self.eof {
                self.done = true;
                break;
            }
            let Some(parser) = self.parser.as_mut() else { break };
            let step = match parser {
                Parser::Pcap(parser) => parser.next_raw_packet(slice).and_then(|(rem, raw)| {
                    // Checked here, not by PcapPacket: it also rejects orig_len > snaplen,
                    // which every capture with a short snaplen writes.
                    if raw.incl_len > raw.orig_len {
                        return Err(PcapError::InvalidField("captured length > original length"));
                    }
                    let nsec = match parser.header().ts_resolution {
                        TsResolution::MicroSecond => raw.ts_frac.checked_mul(1000),
                        TsResolution::NanoSecond => Some(raw.ts_frac),
                    }
                    .filter(|&n| n < 1_000_000_000)
                    .ok_or(PcapError::InvalidField("timestamp fraction is a second or more"))?;
                    let info = PacketInfo { len: raw.orig_len, sec: raw.ts_sec, nsec, ..Default::default() };
                    Ok((slice.len() - rem.len(), Some((info, raw.data))))
                }),
                Parser::PcapNg(parser) => parser.next_block(slice).map(|(rem, block)| {
                    let used = slice.len() - rem.len();
                    match block {
                        Block::EnhancedPacket(epb) => {
                            let ts = timestamp(parser.packet_interface(&epb), epb.timestamp.as_nanos());
                            let info = PacketInfo {
                                len: epb.original_len.max(epb.data.len() as u32),
                                sec: ts.as_secs() as u32,
                                nsec: ts.subsec_nanos(),
                                ..Default::default()
                            };
                            (used, Some((info, epb.data)))
                        }
                        Block::SimplePacket(spb) => {
                            let info = PacketInfo { len: spb.original_len, ..Default::default() };
                            (used, Some((info, spb.data)))
                        }
                        _ => (used, None),
                    }
                }),
            };
            match step {
                Ok((used, packet)) => {
                    if let Some((info, data)) = packet {
                        batch.push(&info, &data, snaplen);
                        count += 1;
                        self.packets += 1;
                    }
                    self.pos += used;
                }
                Err(PcapError::IncompleteBuffer) if !self.eof => self.fill()?,
                Err(PcapError::IncompleteBuffer) => {
                    let left = self.buf.len() - self.pos;
                    return self.fail(
                        count,
                        offset,
                        format!(
                            "the record is truncated: {left} bytes left in the file, or its captured length is absurd"
                        ),
                    );
                }
                Err(e) => return self.fail(count, offset, format!("{e}")),
            }
        }
        Ok(count)
    }

    /// Delivers the packets of this call first; the error comes on the next call.
    fn fail(&mut self, count: usize, offset: u64, message: String) -> Result<usize> {
        let error = self.corrupt(offset, message);
        if count > 0 {
            self.pending = Some(error);
            return Ok(count);
        }
        Err(error)
    }
}

/// An Enhanced Packet Block's timestamp in the units its interface's `if_tsresol` gives
/// (10^-6 s when absent; bit 7 set: a power of two). `pcap-file` hands the raw count
/// over as nanoseconds.
fn timestamp(interface: Option<&InterfaceDescriptionBlock<'_>>, raw: u128) -> Duration {
    let resol = interface
        .and_then(|idb| {
            idb.options.iter().find_map(|o| match o {
                InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                _ => None,
            })
        })
        .unwrap_or(6);
    let (per_second, ok) = if resol & 0x80 != 0 {
        let shift = u32::from(resol & 0x7f);
        (1u128.checked_shl(shift).unwrap_or(0), shift < 64)
    } else {
        (10u128.checked_pow(u32::from(resol)).unwrap_or(0), resol <= 19)
    };
    if !ok || per_second == 0 {
        return Duration::ZERO;
    }
    let secs = raw / per_second;
    let frac = raw % per_second;
    Duration::new(secs as u64, (frac * 1_000_000_000 / per_second) as u32)
}

enum Sink {
    Pcap(PcapWriter<BufWriter<File>>),
    PcapNg(PcapNgWriter<BufWriter<File>>),
}

/// Writes packets to a new pcap or pcapng file (Ethernet link type).
pub struct FileWriter {
    path: String,
    sink: Sink,
    packets: u64,
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter").field("path", &self.path).field("packets", &self.packets).finish()
    }
}

impl FileWriter {
    /// Creates (or truncates) `path` and writes the file header, so an unwritable path
    /// fails here, before any capture starts.
    pub fn create(path: &str, format: FileFormat) -> Result<FileWriter> {
        let file = File::create(path).map_err(file_error(path, "create"))?;
        let out = BufWriter::with_capacity(READ_CHUNK, file);
        let write_error = |e: PcapError| Error::File { path: path.to_owned(), op: "write", source: pcap_io(e) };
        let sink = match format {
            FileFormat::Pcap | FileFormat::PcapNs => {
                let header = PcapHeader {
                    snaplen: FILE_SNAPLEN,
                    datalink: DataLink::ETHERNET,
                    ts_resolution: if format == FileFormat::PcapNs {
                        TsResolution::NanoSecond
                    } else {
                        TsResolution::MicroSecond
                    },
                    ..Default::default()
                };
                Sink::Pcap(PcapWriter::with_header(out, header).map_err(write_error)?)
            }
            FileFormat::PcapNg => {
                let mut writer = PcapNgWriter::new(out).map_err(write_error)?;
                let idb = InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen: FILE_SNAPLEN,
                    options: vec![InterfaceDescriptionOption::IfTsResol(9)],
                };
                writer.write_pcapng_block(idb).map_err(write_error)?;
                Sink::PcapNg(writer)
            }
        };
        Ok(FileWriter { path: path.to_owned(), sink, packets: 0 })
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Appends every packet of `batch`.
    pub fn write(&mut self, batch: &Batch) -> Result<()> {
        for p in batch.iter() {
            let timestamp = Duration::new(u64::from(p.sec), p.nsec);
            let len = p.len.max(p.data.len() as u32);
            let written = match &mut self.sink {
                Sink::Pcap(w) => w.write_packet(&PcapPacket::new(timestamp, len, p.data)).map(drop),
                Sink::PcapNg(w) => w
                    .write_pcapng_block(EnhancedPacketBlock {
                        interface_id: 0,
                        timestamp,
                        original_len: len,
                        data: p.data.into(),
                        options: vec![],
                    })
                    .map(drop),
            };
            written.map_err(|e| Error::File { path: self.path.clone(), op: "write", source: pcap_io(e) })?;
            self.packets += 1;
        }
        Ok(())
    }

    /// Writes out what is buffered and closes the file; returns the packets written.
    pub fn finish(self) -> Result<u64> {
        let mut out = match self.sink {
            Sink::Pcap(w) => w.into_writer(),
            Sink::PcapNg(w) => w.into_inner(),
        };
        out.flush().map_err(file_error(&self.path, "write"))?;
        Ok(self.packets)
    }
}

fn pcap_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        );
        b.push(&PacketInfo { len: 61, sec: 1_700_000_001, nsec: 5_000, ..Default::default() }, &[2u8; 61], 20);
        b.push(
            &PacketInfo { len: 1514, sec: 1_700_000_002, nsec: 999_999_999, ..Default::default() },
            &[3u8; 1514],
            FILE_SNAPLEN,
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
            let mut w = FileWriter::create(&path, format).unwrap();
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
        let mut w = FileWriter::create(&path, FileFormat::Pcap).unwrap();
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
        assert_eq!(e.code(), "ERR_NETRING_BAD_FILE");
        assert!(e.to_string().contains("byte offset 136 (packet 3)"), "{e}");
        assert!(e.to_string().contains("truncated"), "{e}");

        // Absurd caplen in the second record: incl_len 0x7fffffff.
        let (b, e) = damaged("caplen.pcap", |v| v[100 + 8..100 + 12].copy_from_slice(&0x7fff_ffffu32.to_be_bytes()));
        assert_eq!(b.len(), 1);
        assert!(e.unwrap().to_string().contains("byte offset 100 (packet 2)"));

        // incl_len > orig_len.
        let (b, e) = damaged("len.pcap", |v| v[24 + 12..24 + 16].copy_from_slice(&10u32.to_be_bytes()));
        assert_eq!(b.len(), 0);
        assert!(e.unwrap().to_string().contains("byte offset 24 (packet 1)"));
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
        assert_eq!(e.code(), "ENOENT");
        assert!(e.to_string().contains("\"/nonexistent/x.pcap\""), "{e}");
        let e = FileWriter::create("/nonexistent/x.pcap", FileFormat::Pcap).unwrap_err();
        assert_eq!(e.code(), "ENOENT");
    }

    #[test]
    fn if_tsresol_scales_pcapng_timestamps() {
        let idb = |r| InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options: vec![InterfaceDescriptionOption::IfTsResol(r)],
        };
        assert_eq!(timestamp(None, 1_500_000), Duration::from_millis(1500));
        assert_eq!(timestamp(Some(&idb(9)), 1_500_000), Duration::from_micros(1500));
        assert_eq!(timestamp(Some(&idb(0x80 | 10)), 3 * 1024 + 512), Duration::from_millis(3500));
    }
}
