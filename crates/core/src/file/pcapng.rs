//! pcapng, read as libpcap's `sf-pcapng.c` reads it: blocks of type, total length, body
//! and the total length again; a block is read whole (it is at most 16 MiB, libpcap's
//! limit) and checked before its body is looked at.

use super::pcap::{adjust_snapshot, max_snaplen_for_link_type, u16_at, u32_at};
use super::read::{Fault, FileInterface, Input, Step};
use crate::frame::PacketInfo;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
/// Obsolete Packet Block: like an EPB with a 16-bit interface id and a drop count.
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Block type, total length; the total length again at the end.
const BLOCK_HEADER: usize = 8;
const BLOCK_TRAILER: usize = 4;
/// libpcap's `BT_SHB_INSANE_MAX`: the first section header may be at most 1 MiB.
const FIRST_SHB_MAX: u32 = 1024 * 1024;
/// libpcap's `INITIAL_MAX_BLOCKSIZE`: no block may be longer, unless an interface's link
/// type allows longer packets (see [`max_block_for_link_type`]).
pub(super) const MAX_BLOCK: u32 = 16 * 1024 * 1024;

/// libpcap's `MAX_BLOCKSIZE_FOR_SNAPLEN`: an EPB with the largest packet and 128 KiB of options.
fn max_block_for_link_type(link_type: u32) -> u32 {
    (BLOCK_HEADER + 20 + BLOCK_TRAILER + 131_072) as u32 + max_snaplen_for_link_type(link_type)
}

/// Per-interface state of the current section.
#[derive(Debug)]
struct Interface {
    /// Index into the reader's table of every interface.
    index: u32,
    snapshot: u32,
    /// Timestamp units per second (`if_tsresol`; 10^6 when absent).
    per_second: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset: u64,
}

/// A block read whole: `body` is `window()[BLOCK_HEADER..size - BLOCK_TRAILER]`.
struct Block {
    kind: u32,
    size: usize,
}

impl Block {
    fn body<'a>(&self, window: &'a [u8]) -> &'a [u8] {
        &window[BLOCK_HEADER..self.size - BLOCK_TRAILER]
    }
}

fn too_short(kind: u32) -> Fault {
    Fault::Bad(format!("block of type {kind} is too short for its fields"))
}

#[derive(Debug)]
pub(super) struct PcapNg {
    /// The current section is big-endian.
    swapped: bool,
    interfaces: Vec<Interface>,
    max_block: u32,
}

impl PcapNg {
    pub(super) fn is_magic(head: &[u8]) -> bool {
        u32_at(head, 0, false) == SHB
    }

    /// Reads the first Section Header Block and the blocks up to the first Interface
    /// Description Block, as libpcap's open does: a packet before it, or the end of the
    /// file, is refused.
    pub(super) fn open(input: &mut Input, table: &mut Vec<FileInterface>) -> Result<PcapNg, Fault> {
        // SHB: type, total length, byte-order magic, major, minor (u16), section length (u64).
        if !input.fill(12)? {
            return Err(Fault::Bad(format!("the file header is truncated ({} bytes)", input.window().len())));
        }
        let w = input.window();
        let swapped = match u32_at(w, 8, false) {
            BYTE_ORDER_MAGIC => false,
            m if m == BYTE_ORDER_MAGIC.swap_bytes() => true,
            m => {
                return Err(Fault::Bad(format!(
                    "not a pcap or pcapng file: a pcapng section header with byte-order magic {m:#010x}"
                )))
            }
        };
        let length = u32_at(w, 4, swapped);
        if !(28..=FIRST_SHB_MAX).contains(&length) {
            return Err(Fault::Bad(format!(
                "the Section Header Block's length {length} is not from 28 to {FIRST_SHB_MAX}"
            )));
        }
        if !input.fill(length as usize)? {
            return Err(Fault::Bad(format!("the file header is truncated ({} bytes)", input.window().len())));
        }
        let w = input.window();
        let (major, minor) = (u16_at(w, 12, swapped), u16_at(w, 14, swapped));
        if !(major == 1 && (minor == 0 || minor == 2)) {
            return Err(Fault::Bad(format!("unsupported pcapng savefile version {major}.{minor}")));
        }
        // libpcap does not look at the first SHB's trailer or options.
        input.consume(length as usize);
        let mut ng = PcapNg { swapped, interfaces: Vec::new(), max_block: MAX_BLOCK };
        loop {
            let Some(block) = ng.block(input)? else {
                return Err(Fault::Bad("the capture file has no Interface Description Blocks".into()));
            };
            match block.kind {
                IDB => {
                    ng.interface(block.body(input.window()), table)?;
                    input.consume(block.size);
                    return Ok(ng);
                }
                EPB | SPB | PB => {
                    return Err(Fault::Bad(
                        "the capture file has a packet block before any Interface Description Blocks".into(),
                    ))
                }
                SHB => {
                    ng.section(block.body(input.window()))?;
                    input.consume(block.size);
                }
                _ => input.consume(block.size),
            }
        }
    }

    /// Reads the block at the start of the window whole and checks its lengths; `None`
    /// at the end of the file. A section header sets the byte order first.
    fn block(&mut self, input: &mut Input) -> Result<Option<Block>, Fault> {
        if !input.fill(BLOCK_HEADER)? {
            let left = input.window().len();
            if left == 0 {
                return Ok(None);
            }
            return Err(Fault::Bad(format!(
                "the block header is truncated: it takes 8 bytes, the file has {left} left"
            )));
        }
        let kind = u32_at(input.window(), 0, self.swapped);
        if kind == SHB {
            // Its byte order is its own: the byte-order magic says it, before its length is read.
            if !input.fill(12)? {
                let left = input.window().len();
                return Err(Fault::Bad(format!("the section header is truncated: the file has {left} bytes left")));
            }
            self.swapped = match u32_at(input.window(), 8, false) {
                BYTE_ORDER_MAGIC => false,
                m if m == BYTE_ORDER_MAGIC.swap_bytes() => true,
                m => return Err(Fault::Bad(format!("the file has a section with a bad byte order magic {m:#010x}"))),
            };
        }
        let length = u32_at(input.window(), 4, self.swapped);
        if length < (BLOCK_HEADER + BLOCK_TRAILER) as u32 {
            return Err(Fault::Bad(format!("block of type {kind} has a length of {length} < 12")));
        }
        if length % 4 != 0 {
            return Err(Fault::Bad(format!(
                "block of type {kind} has a length of {length} that is not a multiple of 4"
            )));
        }
        if length > self.max_block {
            return Err(Fault::Bad(format!(
                "pcapng block size {length} > maximum {} (block of type {kind})",
                self.max_block
            )));
        }
        let size = length as usize;
        if !input.fill(size)? {
            let left = input.window().len();
            return Err(Fault::Bad(format!(
                "the block is truncated: block of type {kind} is {length} bytes, the file has {left} left"
            )));
        }
        let trailer = u32_at(input.window(), size - BLOCK_TRAILER, self.swapped);
        if trailer != length {
            return Err(Fault::Bad(format!(
                "block total length in header {length} and trailer {trailer} don't match (block of type {kind})"
            )));
        }
        Ok(Some(Block { kind, size }))
    }

    /// A later section header: byte-order magic (checked by `block`), major, minor,
    /// section length. The section's interfaces start afresh.
    fn section(&mut self, body: &[u8]) -> Result<(), Fault> {
        if body.len() < 16 {
            return Err(too_short(SHB));
        }
        let major = u16_at(body, 4, self.swapped);
        if major != 1 {
            return Err(Fault::Bad(format!("unknown pcapng savefile major version number {major}")));
        }
        self.interfaces.clear();
        Ok(())
    }

    /// An Interface Description Block: LinkType (u16), reserved (u16), SnapLen (u32),
    /// then options (code u16, length u16, value padded to 4 bytes), which may end with
    /// opt_endofopt or just at the end of the body. libpcap checks `if_tsresol` and
    /// `if_tsoffset`; netring also keeps `if_name`; other options are skipped unread.
    fn interface(&mut self, body: &[u8], table: &mut Vec<FileInterface>) -> Result<(), Fault> {
        if body.len() < 8 {
            return Err(too_short(IDB));
        }
        let link_type = u32::from(u16_at(body, 0, self.swapped));
        let snapshot = adjust_snapshot(link_type, u32_at(body, 4, self.swapped));
        let (mut per_second, mut offset, mut name) = (1_000_000u64, 0u64, None);
        let (mut saw_tsresol, mut saw_tsoffset) = (false, false);
        let mut options = &body[8..];
        while !options.is_empty() {
            if options.len() < 4 {
                return Err(Fault::Bad(format!(
                    "Interface Description Block has {} bytes after its last option, too few for an option header",
                    options.len()
                )));
            }
            let (code, length) = (u16_at(options, 0, self.swapped), usize::from(u16_at(options, 2, self.swapped)));
            let padded = (length + 3) & !3;
            if options.len() - 4 < padded {
                return Err(Fault::Bad(format!(
                    "Interface Description Block option {code} of length {length} runs past the end of the block"
                )));
            }
            let value = &options[4..4 + length];
            options = &options[4 + padded..];
            match code {
                0 if length != 0 => {
                    return Err(Fault::Bad(format!(
                        "Interface Description Block has opt_endofopt option with length {length} != 0"
                    )))
                }
                0 => break,
                2 => name = Some(String::from_utf8_lossy(value).trim_end_matches('\0').to_owned()),
                9 => {
                    if length != 1 {
                        return Err(Fault::Bad(format!(
                            "Interface Description Block has if_tsresol option with length {length} != 1"
                        )));
                    }
                    if saw_tsresol {
                        return Err(Fault::Bad(
                            "Interface Description Block has more than one if_tsresol option".into(),
                        ));
                    }
                    saw_tsresol = true;
                    let resol = value[0];
                    per_second = if resol & 0x80 != 0 {
                        let shift = resol & 0x7f;
                        if shift > 63 {
                            return Err(Fault::Bad(format!(
                                "Interface Description Block if_tsresol option resolution 2^-{shift} is too high"
                            )));
                        }
                        1 << shift
                    } else {
                        if resol > 19 {
                            return Err(Fault::Bad(format!(
                                "Interface Description Block if_tsresol option resolution 10^-{resol} is too high"
                            )));
                        }
                        10u64.pow(u32::from(resol))
                    };
                }
                14 => {
                    if length != 8 {
                        return Err(Fault::Bad(format!(
                            "Interface Description Block has if_tsoffset option with length {length} != 8"
                        )));
                    }
                    if saw_tsoffset {
                        return Err(Fault::Bad(
                            "Interface Description Block has more than one if_tsoffset option".into(),
                        ));
                    }
                    saw_tsoffset = true;
                    let raw: [u8; 8] = value.try_into().unwrap_or_default();
                    offset = if self.swapped { u64::from_be_bytes(raw) } else { u64::from_le_bytes(raw) };
                }
                _ => {}
            }
        }
        self.max_block = self.max_block.max(max_block_for_link_type(link_type));
        let index = table.len() as u32;
        table.push(FileInterface { link_type, snaplen: snapshot, name });
        self.interfaces.push(Interface { index, snapshot, per_second, offset });
        Ok(())
    }

    /// The next packet, skipping blocks that hold none.
    pub(super) fn next(&mut self, input: &mut Input, table: &mut Vec<FileInterface>) -> Result<Step, Fault> {
        let Some(block) = self.block(input)? else { return Ok(Step::End) };
        let w = input.window();
        let body = block.body(w);
        let (id, ts, caplen, len, data_at) = match block.kind {
            // EPB: interface id, timestamp high, low, captured length, original length (u32
            // each), data padded to 4 bytes, options (not read, as libpcap).
            EPB => {
                if body.len() < 20 {
                    return Err(too_short(EPB));
                }
                let ts = u64::from(u32_at(body, 4, self.swapped)) << 32 | u64::from(u32_at(body, 8, self.swapped));
                (u32_at(body, 0, self.swapped), ts, u32_at(body, 12, self.swapped), u32_at(body, 16, self.swapped), 20)
            }
            // PB: interface id and drops count (u16), then as an EPB.
            PB => {
                if body.len() < 20 {
                    return Err(too_short(PB));
                }
                let ts = u64::from(u32_at(body, 4, self.swapped)) << 32 | u64::from(u32_at(body, 8, self.swapped));
                let id = u32::from(u16_at(body, 0, self.swapped));
                (id, ts, u32_at(body, 12, self.swapped), u32_at(body, 16, self.swapped), 20)
            }
            // SPB: original length (u32), data. Interface 0, no timestamp; as libpcap, the
            // captured length is the original length cut to the interface's snapshot length
            // (the padding after it is not data).
            SPB => {
                if body.len() < 4 {
                    return Err(too_short(SPB));
                }
                let len = u32_at(body, 0, self.swapped);
                let snapshot = self.interfaces.first().map_or(u32::MAX, |i| i.snapshot);
                (0, 0, len.min(snapshot), len, 4)
            }
            SHB => {
                self.section(body)?;
                return Ok(Step::Skip(block.size));
            }
            IDB => {
                self.interface(body, table)?;
                return Ok(Step::Skip(block.size));
            }
            _ => return Ok(Step::Skip(block.size)),
        };
        let Some(interface) = self.interfaces.get(id as usize) else {
            return Err(Fault::Bad(format!(
                "a packet arrived on interface {id}, but there's no Interface Description Block for that interface \
                 in its section ({} there)",
                self.interfaces.len()
            )));
        };
        if caplen > interface.snapshot {
            return Err(Fault::Bad(format!(
                "invalid packet capture length {caplen}, bigger than snaplen of {} (interface {id})",
                interface.snapshot
            )));
        }
        if (caplen as usize) > body.len() - data_at {
            return Err(Fault::Bad(format!(
                "block of type {} is too short for its captured length {caplen}",
                block.kind
            )));
        }
        let per_second = interface.per_second;
        let sec = (ts / per_second).wrapping_add(interface.offset);
        let nsec = (u128::from(ts % per_second) * 1_000_000_000 / u128::from(per_second)) as u32;
        let info = PacketInfo { len, sec: sec as u32, nsec, ..Default::default() };
        let start = BLOCK_HEADER + data_at;
        Ok(Step::Packet { info, data: start..start + caplen as usize, interface: interface.index, size: block.size })
    }
}
