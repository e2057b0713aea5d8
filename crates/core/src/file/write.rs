//! Writing a [`Batch`] to a new pcap or pcapng file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, PcapError, TsResolution};

use super::{file_error, FileFormat, FILE_SNAPLEN, READ_CHUNK};
use crate::batch::Batch;
use crate::error::{Error, Result};

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
