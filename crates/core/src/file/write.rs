//! Writing a [`Batch`] to a new pcap or pcapng file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcap::PcapHeader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::blocks::interface_statistics::{InterfaceStatisticsBlock, InterfaceStatisticsOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use super::{file_error, FileFormat, Rotate, FILE_SNAPLEN, STDIO_PATH};
use crate::batch::Batch;
use crate::error::{Error, Result};

/// Bytes buffered before they are written to the file: a process killed before a
/// [`FileWriter::flush`] loses at most this much (tcpdump's stdio buffer is 4 KiB to 64 KiB).
pub const WRITE_BUFFER: usize = 64 * 1024;

enum Sink {
    /// Classic pcap: `pcap-file` writes the file header; the 16-byte record headers are
    /// written here, because its `PcapWriter` gives no way to flush the writer it owns.
    Pcap { out: BufWriter<File>, nanoseconds: bool },
    PcapNg(PcapNgWriter<BufWriter<File>>),
}

/// Names interfaces by index, for a pcapng file with an interface block per interface.
pub type InterfaceNames = Box<dyn FnMut(i32) -> Option<String> + Send>;

/// What every file of a recording is: its format, link type and interface name.
#[derive(Debug, Clone)]
struct Kind {
    format: FileFormat,
    link_type: u32,
    interface: Option<String>,
}

/// Where a rotating writer is: the path it names files from, the period's start and
/// the number of the current file in it, and the files made.
#[derive(Debug)]
struct Rotation {
    rules: Rotate,
    template: String,
    start: i64,
    count: u64,
    files: u32,
}

/// Writes packets to a new pcap or pcapng file, all of one link type; with [`Rotate`]
/// rules, to a series of files as tcpdump's `-C`, `-G` and `-W` make them.
pub struct FileWriter {
    path: String,
    sink: Sink,
    kind: Kind,
    rotation: Option<Rotation>,
    /// Bytes in the current file, written or buffered.
    bytes: u64,
    packets: u64,
    /// The rotation's last file is done (`-G` with `-W`): nothing more is written.
    ended: bool,
    /// When the recording began, ns since the epoch (a pcapng statistics block's start).
    began: u64,
    /// With [`FileWriter::name_interfaces`]: the names, and the interface block of each
    /// interface index seen in the current file (block 0 is the capture's own).
    names: Option<InterfaceNames>,
    blocks: Vec<i32>,
}

/// A live capture's totals, for the Interface Statistics Block that ends a pcapng file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Packets that reached the socket (libpcap's `ps_recv`: accepted plus dropped).
    pub received: u64,
    /// Packets the kernel dropped, the ring being full.
    pub dropped: u64,
}

/// Nanoseconds since the epoch, now.
fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter").field("path", &self.path).field("packets", &self.packets).finish()
    }
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    (now_ns() / 1_000_000_000) as i64
}

impl FileWriter {
    /// Creates (or truncates) `path` and writes the file header, so an unwritable path
    /// fails here, before any capture starts. [`STDIO_PATH`] (`-`) writes to standard output.
    /// The header (pcap) or the one Interface Description Block (pcapng) says the packets
    /// are of `link_type` (a `LINKTYPE_*`); a pcapng IDB also names `interface` (`if_name`).
    pub fn create(path: &str, format: FileFormat, link_type: u32, interface: Option<&str>) -> Result<FileWriter> {
        Self::rotating(path, format, link_type, interface, Rotate::default())
    }

    /// As [`FileWriter::create`], moving on to new files by `rules`: the first file is
    /// `path` as [`Rotate::name`] makes it, created here.
    pub fn rotating(path: &str, format: FileFormat, link_type: u32, interface: Option<&str>, rules: Rotate) -> Result<FileWriter> {
        rules.validate(path)?;
        let kind = Kind { format, link_type, interface: interface.map(str::to_owned) };
        let rotation = rules.is_set().then(|| Rotation { rules, template: path.to_owned(), start: now(), count: 0, files: 1 });
        let first = rotation.as_ref().map_or_else(|| path.to_owned(), |r| r.rules.name(path, r.start, 0));
        let (sink, bytes) = Self::open(&first, &kind)?;
        Ok(FileWriter { path: first, sink, kind, rotation, bytes, packets: 0, ended: false, began: now_ns(), names: None, blocks: Vec::new() })
    }

    /// For a pcapng file of packets from several interfaces (`any`): each interface gets an
    /// Interface Description Block of its own, named by `names`, when its first packet is
    /// written, and its packets refer to it; block 0 stays the capture's (its statistics).
    /// Classic pcap has one link type and no interfaces: there this does nothing.
    pub fn name_interfaces(&mut self, names: InterfaceNames) {
        if self.kind.format == FileFormat::PcapNg {
            self.names = Some(names);
        }
    }

    /// The interface block of the packets of `ifindex` in the current file, written first
    /// if it is the first of them; 0 without [`FileWriter::name_interfaces`].
    fn block_of(&mut self, ifindex: i32) -> Result<u32> {
        let Some(names) = self.names.as_mut() else { return Ok(0) };
        if let Some(at) = self.blocks.iter().position(|&i| i == ifindex) {
            return Ok(at as u32 + 1);
        }
        let Sink::PcapNg(w) = &mut self.sink else { return Ok(0) };
        let name = names(ifindex).unwrap_or_else(|| format!("ifindex {ifindex}"));
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::from(self.kind.link_type),
            snaplen: FILE_SNAPLEN,
            options: vec![InterfaceDescriptionOption::IfName(name.into()), InterfaceDescriptionOption::IfTsResol(9)],
        };
        let before = w.get_ref().buffer().len();
        w.write_pcapng_block(idb).map_err(|e| Error::File { path: self.path.clone(), op: "write", source: pcap_io(e) })?;
        self.bytes += w.get_ref().buffer().len().saturating_sub(before) as u64;
        self.blocks.push(ifindex);
        Ok(self.blocks.len() as u32)
    }

    /// Creates `path` and writes the header of a `kind` file; returns the sink and the
    /// header's size.
    fn open(path: &str, kind: &Kind) -> Result<(Sink, u64)> {
        let Kind { format, link_type, ref interface } = *kind;
        let interface = interface.as_deref();
        let file = if path == STDIO_PATH {
            std::io::stdout().as_fd().try_clone_to_owned().map(File::from)
        } else {
            File::create(path)
        };
        let file = file.map_err(file_error(path, "create"))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let write_error = |e: PcapError| Error::File { path: path.to_owned(), op: "write", source: pcap_io(e) };
        let sink = match format {
            FileFormat::Pcap | FileFormat::PcapNs => {
                let nanoseconds = format == FileFormat::PcapNs;
                let header = PcapHeader {
                    snaplen: FILE_SNAPLEN,
                    datalink: DataLink::from(link_type),
                    ts_resolution: if nanoseconds { TsResolution::NanoSecond } else { TsResolution::MicroSecond },
                    // The record headers below are written in the machine's byte order too.
                    endianness: Endianness::native(),
                    ..Default::default()
                };
                header.write_to(&mut out).map_err(write_error)?;
                Sink::Pcap { out, nanoseconds }
            }
            FileFormat::PcapNg => {
                let mut writer = PcapNgWriter::new(out).map_err(write_error)?;
                let mut options = Vec::new();
                if let Some(name) = interface {
                    options.push(InterfaceDescriptionOption::IfName(name.into()));
                    // The description libpcap gives its any device (and dumpcap writes).
                    if name == "any" {
                        options.push(InterfaceDescriptionOption::IfDescription("Pseudo-device that captures on all interfaces".into()));
                    }
                }
                options.push(InterfaceDescriptionOption::IfTsResol(9));
                let idb = InterfaceDescriptionBlock { linktype: DataLink::from(link_type), snaplen: FILE_SNAPLEN, options };
                writer.write_pcapng_block(idb).map_err(write_error)?;
                Sink::PcapNg(writer)
            }
        };
        let header = match &sink {
            Sink::Pcap { out, .. } => out.buffer().len(),
            Sink::PcapNg(w) => w.get_ref().buffer().len(),
        };
        Ok((sink, header as u64))
    }

    /// Packets written so far, in every file.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The file being written.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Moves on to the next file if a rule says so, before a packet is written; false when
    /// the last file (`-G` with `-W`) is done and nothing more is to be written.
    fn rotate_if_due(&mut self) -> Result<bool> {
        let Some(r) = self.rotation.as_mut() else { return Ok(true) };
        let due_period = r.rules.seconds.is_some_and(|s| now() - r.start >= i64::from(s));
        let due_size = r.rules.size.is_some_and(|size| self.bytes > size);
        if !due_period && !due_size {
            return Ok(true);
        }
        if due_period {
            if r.rules.size.is_none() && r.rules.files.is_some_and(|files| r.files >= files) {
                self.ended = true;
                return Ok(false);
            }
            r.start = now();
            r.count = 0;
        } else {
            r.count = r.rules.next(r.count);
        }
        r.files = r.files.saturating_add(1);
        let path = r.rules.name(&r.template, r.start, r.count);
        let (sink, bytes) = Self::open(&path, &self.kind)?;
        let old = std::mem::replace(&mut self.sink, sink);
        let old_path = std::mem::replace(&mut self.path, path);
        self.bytes = bytes;
        self.blocks.clear();
        Self::close(old, &old_path)?;
        Ok(true)
    }

    /// Appends the packets of `batch`; returns how many were written: all of them, but
    /// fewer once a rotation's last file is done.
    pub fn write(&mut self, batch: &Batch) -> Result<usize> {
        let mut written = 0;
        for p in batch.iter() {
            if self.ended || !self.rotate_if_due()? {
                break;
            }
            let timestamp = Duration::new(u64::from(p.sec), p.nsec);
            let len = p.len.max(p.data.len() as u32);
            let interface_id = self.block_of(p.ifindex)?;
            let result = match &mut self.sink {
                Sink::Pcap { out, nanoseconds } => {
                    let fraction = if *nanoseconds { p.nsec } else { p.nsec / 1000 };
                    let mut record = [0u8; 16];
                    for (i, field) in [p.sec, fraction, p.data.len() as u32, len].into_iter().enumerate() {
                        record[i * 4..i * 4 + 4].copy_from_slice(&field.to_ne_bytes());
                    }
                    out.write_all(&record).and_then(|()| out.write_all(p.data)).map_err(PcapError::IoError)
                }
                Sink::PcapNg(w) => w
                    .write_pcapng_block(EnhancedPacketBlock {
                        interface_id,
                        timestamp,
                        original_len: len,
                        data: p.data.into(),
                        options: vec![],
                    })
                    .map(drop),
            };
            result.map_err(|e| Error::File { path: self.path.clone(), op: "write", source: pcap_io(e) })?;
            self.bytes += match self.kind.format {
                FileFormat::PcapNg => 32 + (p.data.len() as u64).next_multiple_of(4),
                _ => 16 + p.data.len() as u64,
            };
            self.packets += 1;
            written += 1;
        }
        Ok(written)
    }

    /// Whether the rotation's last file is done (`-G` with `-W`).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Writes what is buffered to the file (the buffer is written out by itself whenever it
    /// fills).
    pub fn flush(&mut self) -> Result<()> {
        let out = match &mut self.sink {
            Sink::Pcap { out, .. } => out,
            Sink::PcapNg(w) => w.get_mut(),
        };
        out.flush().map_err(file_error(&self.path, "write"))
    }

    /// Writes out what is buffered and closes the file; returns the packets written.
    pub fn finish(self) -> Result<u64> {
        self.finish_with(None)
    }

    /// As [`FileWriter::finish`]; a pcapng file of a live capture ends with an Interface
    /// Statistics Block, as dumpcap writes: the time the recording began and ended, the
    /// packets that reached the socket (`isb_ifrecv`), those the kernel dropped
    /// (`isb_ifdrop`) and those written (`isb_usrdeliv`, all files together).
    pub fn finish_with(mut self, totals: Option<CaptureTotals>) -> Result<u64> {
        if let (Some(totals), Sink::PcapNg(w)) = (totals, &mut self.sink) {
            let end = now_ns();
            let isb = InterfaceStatisticsBlock {
                interface_id: 0,
                timestamp: end,
                options: vec![
                    InterfaceStatisticsOption::IsbStartTime(self.began),
                    InterfaceStatisticsOption::IsbEndTime(end),
                    InterfaceStatisticsOption::IsbIfRecv(totals.received),
                    InterfaceStatisticsOption::IsbIfDrop(totals.dropped),
                    InterfaceStatisticsOption::IsbUsrDeliv(self.packets),
                ],
            };
            w.write_pcapng_block(isb).map_err(|e| Error::File { path: self.path.clone(), op: "write", source: pcap_io(e) })?;
        }
        Self::close(self.sink, &self.path)?;
        Ok(self.packets)
    }

    /// Writes out what `sink` buffered and closes it.
    fn close(sink: Sink, path: &str) -> Result<()> {
        let mut out = match sink {
            Sink::Pcap { out, .. } => out,
            Sink::PcapNg(w) => w.into_inner(),
        };
        out.flush().map_err(file_error(path, "write"))
    }
}

fn pcap_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}
