//! Classic pcap, read as libpcap's `sf-pcap.c` reads it: a 24-byte file header, then per
//! packet a 16-byte record header (24 with the patched 0xa1b2cd34 magic) and the data.
//! NOTE: `crate::pcap` is libpcap's filter compiler, unrelated.

use super::read::{Fault, FileInterface, Input, Step};
use crate::frame::PacketInfo;

/// libpcap's `MAXIMUM_SNAPLEN`: the largest captured length of most link types.
pub(super) const MAXIMUM_SNAPLEN: u32 = 262_144;

/// libpcap's `max_snaplen_for_dlt`: the largest captured length it accepts for a link
/// type (D-Bus messages, EBHSCR and USBPcap records are allowed more than 256 KiB).
pub(super) fn max_snaplen_for_link_type(link_type: u32) -> u32 {
    match link_type {
        231 => 128 * 1024 * 1024, // LINKTYPE_DBUS
        279 => 8 * 1024 * 1024,   // LINKTYPE_EBHSCR
        249 => 1024 * 1024,       // LINKTYPE_USBPCAP
        _ => MAXIMUM_SNAPLEN,
    }
}

/// libpcap's `pcap_adjust_snapshot`: a snapshot length of 0 or above `i32::MAX` is bogus
/// and stands for the link type's maximum.
pub(super) fn adjust_snapshot(link_type: u32, snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > i32::MAX as u32 {
        max_snaplen_for_link_type(link_type)
    } else {
        snaplen
    }
}

pub(super) fn u32_at(bytes: &[u8], at: usize, swapped: bool) -> u32 {
    let raw = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    if swapped {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    }
}

pub(super) fn u16_at(bytes: &[u8], at: usize, swapped: bool) -> u16 {
    let raw = [bytes[at], bytes[at + 1]];
    if swapped {
        u16::from_be_bytes(raw)
    } else {
        u16::from_le_bytes(raw)
    }
}

/// Magic numbers as a little-endian file stores them (a big-endian file: `swap_bytes`).
const MAGIC_USEC: u32 = 0xa1b2_c3d4;
const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetzov's patched libpcap: µs, and 8 more bytes per record header (ifindex,
/// protocol, packet type, padding), which are skipped.
const MAGIC_PATCHED: u32 = 0xa1b2_cd34;

/// Where the captured and wire lengths are in a record header (libpcap swapped them at 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lengths {
    /// caplen, then len (2.4, and 2.3 when caplen <= len).
    InOrder,
    /// len, then caplen (before 2.3, and 543.0 from DG/UX).
    Swapped,
    /// 2.3: swapped when caplen > len.
    Maybe,
}

/// A pcap file's header, as far as reading its records needs it.
#[derive(Debug)]
pub(super) struct Pcap {
    /// The file is in the other byte order than little-endian.
    swapped: bool,
    nanos: bool,
    record_header: usize,
    lengths: Lengths,
    link_type: u32,
    snaplen: u32,
    /// The header's snapshot length as libpcap adjusts it: longer records are cut to it.
    snapshot: u32,
}

impl Pcap {
    pub(super) const HEADER_LEN: usize = 24;

    /// Whether `head` (4 bytes or more) starts with a pcap magic number, either byte order.
    pub(super) fn is_magic(head: &[u8]) -> bool {
        let magic = u32_at(head, 0, false);
        [MAGIC_USEC, MAGIC_NSEC, MAGIC_PATCHED].iter().any(|&m| magic == m || magic == m.swap_bytes())
    }

    /// Parses the 24-byte file header: magic, version major and minor (u16), thiszone,
    /// sigfigs, snaplen, network (u32). Refuses what libpcap refuses.
    pub(super) fn parse_header(h: &[u8]) -> Result<Pcap, String> {
        let magic = u32_at(h, 0, false);
        let swapped = ![MAGIC_USEC, MAGIC_NSEC, MAGIC_PATCHED].contains(&magic);
        let magic = if swapped { magic.swap_bytes() } else { magic };
        let (major, minor) = (u16_at(h, 4, swapped), u16_at(h, 6, swapped));
        if major < 2 {
            return Err(format!("archaic pcap savefile format (version {major}.{minor})"));
        }
        if !((major == 2 && minor <= 4) || (major == 543 && minor == 0)) {
            return Err(format!("unsupported pcap savefile version {major}.{minor}"));
        }
        let lengths = match (major, minor) {
            (2, 0..=2) | (543, _) => Lengths::Swapped,
            (2, 3) => Lengths::Maybe,
            _ => Lengths::InOrder,
        };
        let snaplen = u32_at(h, 16, swapped);
        // The upper 6 bits of the network field carry FCS information, not the type.
        let link_type = u32_at(h, 20, swapped) & 0x03ff_ffff;
        let mut snapshot = adjust_snapshot(link_type, snaplen);
        if magic == MAGIC_PATCHED && link_type == 1 {
            // As libpcap: such a capture may have been cooked, with a 14-byte fake
            // Ethernet header added to up to snaplen bytes.
            snapshot = snapshot.saturating_add(14).min(i32::MAX as u32);
        }
        Ok(Pcap {
            swapped,
            nanos: magic == MAGIC_NSEC,
            record_header: if magic == MAGIC_PATCHED { 24 } else { 16 },
            lengths,
            link_type,
            snaplen,
            snapshot,
        })
    }

    /// The file's one interface.
    pub(super) fn interface(&self) -> FileInterface {
        FileInterface { link_type: self.link_type, snaplen: adjust_snapshot(self.link_type, self.snaplen), name: None }
    }

    /// The record at the start of the window: ts_sec, ts_usec (or ts_nsec), incl_len,
    /// orig_len (u32 each), then incl_len bytes of data.
    pub(super) fn next(&self, input: &mut Input) -> Result<Step, Fault> {
        let header = self.record_header;
        if !input.fill(header)? {
            let left = input.window().len();
            if left == 0 {
                return Ok(Step::End);
            }
            return Err(Fault::Bad(format!(
                "the record header is truncated: it takes {header} bytes, the file has {left} left"
            )));
        }
        let w = input.window();
        let (ts_sec, ts_frac) = (u32_at(w, 0, self.swapped), u32_at(w, 4, self.swapped));
        let (mut caplen, mut len) = (u32_at(w, 8, self.swapped), u32_at(w, 12, self.swapped));
        if self.lengths == Lengths::Swapped || (self.lengths == Lengths::Maybe && caplen > len) {
            std::mem::swap(&mut caplen, &mut len);
        }
        let max = max_snaplen_for_link_type(self.link_type);
        if caplen > max {
            return Err(Fault::Bad(if caplen > self.snapshot {
                format!("invalid packet capture length {caplen}, bigger than snaplen of {}", self.snapshot)
            } else {
                format!("invalid packet capture length {caplen}, bigger than maximum of {max}")
            }));
        }
        let size = header + caplen as usize;
        if !input.fill(size)? {
            let left = input.window().len() - header;
            return Err(Fault::Bad(format!(
                "the packet data is truncated: its captured length is {caplen} bytes, the file has {left} left"
            )));
        }
        let (sec, nsec) = if self.nanos {
            (ts_sec.wrapping_add(ts_frac / 1_000_000_000), ts_frac % 1_000_000_000)
        } else {
            (ts_sec.wrapping_add(ts_frac / 1_000_000), ts_frac % 1_000_000 * 1000)
        };
        let kept = caplen.min(self.snapshot) as usize;
        let info = PacketInfo { len, sec, nsec, ..Default::default() };
        Ok(Step::Packet { info, data: header..header + kept, interface: 0, size })
    }
}
