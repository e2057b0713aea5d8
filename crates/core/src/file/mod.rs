//! pcap and pcapng trace files: a reader ([`FileReader`], `read.rs`) that fills the same
//! [`Batch`](crate::Batch) records as a live capture, and a writer ([`FileWriter`],
//! `write.rs`) fed from a `Batch`.
//!
//! The reader is ours, not the `pcap-file` crate's (which the writer still uses): to read
//! what libpcap reads and refuse what it refuses (see [`FileReader`]), to check every length
//! against the largest legal record before reading it (so memory stays bounded), and to
//! say exactly where a file is damaged (packet number and byte offset) after delivering
//! the packets before it. (libpcap's filter compiler, unrelated, is `bpf/libpcap.rs`.)

use std::io;

use crate::error::{Error, Result};

mod pcap;
mod pcapng;
mod read;
mod rotate;
mod write;

pub use read::{FileInterface, FileReader};
pub use rotate::Rotate;
pub use write::{CaptureTotals, FileWriter, InterfaceNames, WRITE_BUFFER};

/// The path that means standard input to [`FileReader::open`] and standard output to
/// [`FileWriter::create`], as with tcpdump's `-r -` and `-w -`.
pub const STDIO_PATH: &str = "-";

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 1 << 20;
/// Snapshot length written in file headers: the largest netring captures (and tcpdump's default).
pub const FILE_SNAPLEN: u32 = 262_144;

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
            other => Err(Error::FileFormat { name: other.to_owned() }),
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

fn file_error<'a>(path: &'a str, op: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::File { path: path.to_owned(), op, source }
}

#[cfg(test)]
mod tests;
