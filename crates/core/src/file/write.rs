//! Writing a [`Batch`] to a new pcap or pcapng file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use pcap_file::pcap::PcapHeader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use super::{file_error, FileFormat, FILE_SNAPLEN, STDIO_PATH};
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

/// Writes packets to a new pcap or pcapng file, all of one link type.
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
    /// fails here, before any capture starts. [`STDIO_PATH`] (`-`) writes to standard output.
    /// The header (pcap) or the one Interface Description Block (pcapng) says the packets
    /// are of `link_type` (a `LINKTYPE_*`); a pcapng IDB also names `interface` (`if_name`).
    pub fn create(path: &str, format: FileFormat, link_type: u32, interface: Option<&str>) -> Result<FileWriter> {
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
                }
                options.push(InterfaceDescriptionOption::IfTsResol(9));
                let idb = InterfaceDescriptionBlock { linktype: DataLink::from(link_type), snaplen: FILE_SNAPLEN, options };
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
        let mut out = match self.sink {
            Sink::Pcap { out, .. } => out,
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
