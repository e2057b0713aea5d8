//! [`FileReader`]: a pcap or pcapng file streamed through a bounded buffer and parsed as
//! libpcap parses it (`pcap.rs`, `pcapng.rs`).
//!
//! The buffer holds at most one chunk of reading ahead or one record, whichever is
//! larger, and a record's length is checked against the largest legal one before a byte
//! of it is read, so a damaged length field fails at once instead of buffering the file.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::ops::Range;

use super::pcap::Pcap;
use super::pcapng::PcapNg;
use super::{file_error, READ_CHUNK, STDIO_PATH};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::frame::PacketInfo;

/// Bytes read ahead by the first fill; each fill doubles it up to [`READ_CHUNK`], so a tiny
/// file costs a tiny buffer and a big one is read a MiB at a time.
const FIRST_CHUNK: usize = 4096;

/// An interface of a trace file: the pcap header's, or a pcapng Interface Description Block's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInterface {
    /// The `LINKTYPE_` value (1 Ethernet, 113 Linux cooked, 101 raw IP, …): the pcap header's
    /// network field without its upper 6 bits (FCS flags), or the IDB's `LinkType`.
    pub link_type: u32,
    /// The snapshot length as libpcap uses it: the header's or IDB's, or libpcap's maximum
    /// for the link type (262144 for most) when that is 0 or more than 2^31 - 1.
    pub snaplen: u32,
    /// pcapng `if_name` (invalid UTF-8 replaced by U+FFFD); `None` in pcap files or when absent.
    pub name: Option<String>,
}

/// The file's bytes seen through a window: `buf[pos..]` is what is read but not parsed.
pub(super) struct Input {
    source: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Bytes the next fill reads ahead at least.
    chunk: usize,
}

impl Input {
    /// The unparsed bytes read so far.
    pub(super) fn window(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// File offset of `window()[0]`.
    pub(super) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Reads until `window()` holds `need` bytes or the file ends; says whether it does.
    /// Callers check `need` against the largest legal record first: the buffer grows to it.
    pub(super) fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.buf.len() - self.pos >= need {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
        let target = need.max(self.chunk);
        self.chunk = (self.chunk * 2).min(READ_CHUNK);
        while self.buf.len() < target {
            // Grow by at most the bytes already held (or a chunk), so that a record claiming
            // more than the file has costs memory for what is there, not for the claim.
            let want = (target - self.buf.len()).min(self.buf.len().max(self.chunk));
            self.buf.reserve_exact(want);
            // read_to_end on a Take reads into the reserved room without zeroing it, retries
            // short reads and EINTR, and stops at `want` bytes or the end of the file.
            let got = self.source.by_ref().take(want as u64).read_to_end(&mut self.buf)?;
            if got < want {
                self.eof = true;
                break;
            }
        }
        Ok(self.buf.len() >= need)
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// Why a read stopped: the file is damaged (message), or the read itself failed.
pub(super) enum Fault {
    Bad(String),
    Io(io::Error),
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Fault {
        Fault::Io(e)
    }
}

/// What the parser found at the start of the window.
pub(super) enum Step {
    /// A packet: its bytes are `window()[data]`, it came from interface `interface` (an index
    /// into the reader's table), and the record takes `size` bytes.
    Packet { info: PacketInfo, data: Range<usize>, interface: u32, size: usize },
    /// A record that holds no packet (pcapng IDB, SHB, statistics, unknown type), `size` bytes.
    Skip(usize),
    /// The file ends cleanly here.
    End,
}

enum Format {
    Pcap(Pcap),
    PcapNg(PcapNg),
}

/// Reads a pcap or pcapng file (told apart by its magic number) packet by packet.
///
/// What it accepts and refuses is libpcap's (1.10): pcap with µs, ns or the old patched
/// (0xa1b2cd34) magic in either byte order, versions 2.0 to 2.4 and 543.0, lengths
/// swapped as libpcap swaps them; pcapng sections, Enhanced, Simple and obsolete Packet
/// Blocks, `if_tsresol` and `if_tsoffset`, other blocks and options skipped unread.
/// Beyond libpcap, as Wireshark does: a pcapng section may have the other byte order than
/// the one before, and interfaces may differ in link type and snapshot length (see
/// [`interfaces`](FileReader::interfaces)).
pub struct FileReader {
    path: String,
    input: Input,
    format: Format,
    /// Every interface seen so far, in file order, across pcapng sections.
    interfaces: Vec<FileInterface>,
    /// Interface index of each packet the last `read` appended.
    packet_interfaces: Vec<u32>,
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
    /// Opens `path` and parses its file header (pcap), or its section header and the
    /// blocks up to its first Interface Description Block (pcapng), as libpcap does.
    /// [`STDIO_PATH`] (`-`) reads standard input.
    pub fn open(path: &str) -> Result<FileReader> {
        let file = if path == STDIO_PATH {
            // A file of its own over fd 0, so that reading it takes no lock on Stdin.
            std::io::stdin().as_fd().try_clone_to_owned().map(File::from)
        } else {
            File::open(path)
        };
        FileReader::from_read(path, file.map_err(file_error(path, "open"))?)
    }

    /// Reads a capture from any byte stream (a pipe, a socket, bytes in memory); `name`
    /// stands for the path in errors.
    pub fn from_read(name: &str, source: impl Read + Send + 'static) -> Result<FileReader> {
        let mut input =
            Input { source: Box::new(source), buf: Vec::new(), pos: 0, base: 0, eof: false, chunk: FIRST_CHUNK };
        let bad = |message: String| Error::BadFile { path: name.to_owned(), packet: 1, offset: 0, message };
        let mut interfaces = Vec::new();
        let have = input.fill(4).map_err(file_error(name, "read"))?;
        let format = if !have {
            return Err(bad(format!("the file header is truncated ({} bytes)", input.window().len())));
        } else if PcapNg::is_magic(input.window()) {
            match PcapNg::open(&mut input, &mut interfaces) {
                Ok(p) => Format::PcapNg(p),
                Err(Fault::Io(e)) => return Err(file_error(name, "read")(e)),
                Err(Fault::Bad(message)) => {
                    let offset = input.offset();
                    return Err(Error::BadFile { path: name.to_owned(), packet: 1, offset, message });
                }
            }
        } else if Pcap::is_magic(input.window()) {
            if !input.fill(Pcap::HEADER_LEN).map_err(file_error(name, "read"))? {
                return Err(bad(format!("the file header is truncated ({} bytes)", input.window().len())));
            }
            let pcap = Pcap::parse_header(input.window()).map_err(bad)?;
            interfaces.push(pcap.interface());
            input.consume(Pcap::HEADER_LEN);
            Format::Pcap(pcap)
        } else {
            let magic = u32::from_be_bytes(input.window()[..4].try_into().unwrap_or_default());
            return Err(bad(format!(
                "not a pcap or pcapng file: its magic number {magic:#010x} is neither pcap's 0xa1b2c3d4, \
                 0xa1b23c4d, 0xa1b2cd34 (either byte order) nor pcapng's 0x0a0d0d0a"
            )));
        };
        Ok(FileReader {
            path: name.to_owned(),
            input,
            format,
            interfaces,
            packet_interfaces: Vec::new(),
            packets: 0,
            done: false,
            pending: None,
        })
    }

    /// The file being read (its path, or the name given to [`FileReader::from_read`]).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Packets delivered so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The `LINKTYPE_` of the file: the pcap header's, or the first pcapng interface's.
    /// Packets of other pcapng interfaces may have others: see [`packet_interfaces`](Self::packet_interfaces).
    pub fn link_type(&self) -> u32 {
        self.interfaces.first().map_or(0, |i| i.link_type)
    }

    /// Every interface seen so far, in file order: pcap's one, or each pcapng Interface
    /// Description Block of every section read so far (a section's interface 0 is the
    /// entry after the previous section's last). Grows as `read` meets new IDBs.
    pub fn interfaces(&self) -> &[FileInterface] {
        &self.interfaces
    }

    /// For each packet the last [`read`](Self::read) appended, in order, its index in
    /// [`interfaces`](Self::interfaces) (always 0 in pcap files).
    pub fn packet_interfaces(&self) -> &[u32] {
        &self.packet_interfaces
    }

    /// Bytes of memory the reader holds for file data (its buffer's capacity): one
    /// read-ahead chunk (4 KiB growing to 1 MiB) or one record, whichever is larger, where
    /// a record is at most the largest the format allows (pcap: libpcap's maximum captured
    /// length for the link type, 262144 for most; pcapng: 16 MiB blocks) and is only given
    /// room for the bytes the file really has (a claim the file does not back costs up to
    /// twice those bytes, not the claim).
    pub fn buffer_capacity(&self) -> usize {
        self.input.buf.capacity()
    }

    fn corrupt(&mut self, offset: u64, message: String) -> Error {
        self.done = true;
        Error::BadFile { path: self.path.clone(), packet: self.packets + 1, offset, message }
    }

    /// Appends up to `max` packets to `batch`, cut to `snaplen`; returns how many, 0 at
    /// the end of the file. A damaged record is an [`Error::BadFile`] naming its packet
    /// number and byte offset, returned once the packets before it were delivered.
    ///
    /// Timestamps: a subsecond field of a second or more (which libpcap passes on as it is)
    /// is carried into the seconds, so `nsec` stays below 10^9; seconds wrap at 2^32.
    /// Lengths: a captured length above the wire length is kept (the record's length is
    /// then the captured one); a pcap record longer than the header's snapshot length (but
    /// within libpcap's maximum) is cut to it, as libpcap cuts it.
    pub fn read(&mut self, batch: &mut Batch, max: usize, snaplen: u32) -> Result<usize> {
        self.packet_interfaces.clear();
        if let Some(error) = self.pending.take() {
            return Err(error);
        }
        let mut count = 0;
        while count < max && !self.done {
            let offset = self.input.offset();
            let step = match &mut self.format {
                Format::Pcap(pcap) => pcap.next(&mut self.input),
                Format::PcapNg(ng) => ng.next(&mut self.input, &mut self.interfaces),
            };
            match step {
                Ok(Step::Packet { info, data, interface, size }) => {
                    let link_type = self.interfaces.get(interface as usize).map_or(0, |i| i.link_type);
                    batch.push(&info, &self.input.window()[data], snaplen, link_type);
                    self.input.consume(size);
                    self.packet_interfaces.push(interface);
                    count += 1;
                    self.packets += 1;
                }
                Ok(Step::Skip(size)) => self.input.consume(size),
                Ok(Step::End) => self.done = true,
                Err(Fault::Bad(message)) => return self.fail(count, offset, message),
                Err(Fault::Io(e)) => {
                    self.done = true;
                    let error = file_error(&self.path, "read")(e);
                    return self.deliver_then(count, error);
                }
            }
        }
        Ok(count)
    }

    fn fail(&mut self, count: usize, offset: u64, message: String) -> Result<usize> {
        let error = self.corrupt(offset, message);
        self.deliver_then(count, error)
    }

    /// Delivers the packets of this call first; the error comes on the next call.
    fn deliver_then(&mut self, count: usize, error: Error) -> Result<usize> {
        if count > 0 {
            self.pending = Some(error);
            return Ok(count);
        }
        Err(error)
    }
}
