//! Reading pcap and pcapng files into a [`Batch`], packet by packet.

use std::fs::File;
use std::io::{self, Read};
use std::time::Duration;

use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{PcapError, TsResolution};

use super::{file_error, READ_CHUNK};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::frame::PacketInfo;

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

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

    /// The file being read.
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

#[cfg(test)]
mod tests {
    use pcap_file::DataLink;

    use super::*;

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
