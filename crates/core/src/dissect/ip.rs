//! IPv4 (RFC 791) and IPv6 (RFC 8200) with its extension headers.

use super::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::*;

const IPPROTO_HOPOPTS: u32 = 0;
const IPPROTO_ROUTING: u32 = 43;
const IPPROTO_FRAGMENT: u32 = 44;
const IPPROTO_ESP: u32 = 50;
const IPPROTO_AH: u32 = 51;
const IPPROTO_NONE: u32 = 59;
const IPPROTO_DSTOPTS: u32 = 60;
const IPPROTO_SHIM6: u32 = 140;
/// The Jumbo Payload hop-by-hop option (RFC 2675): its 4-byte length replaces the payload length.
const OPTION_JUMBO: u8 = 0xc2;

/// The Jumbo Payload length in the hop-by-hop header at `p`, if it has the option.
fn jumbo_length(d: &[u8], p: usize) -> Option<usize> {
    let header = d.get(p..p + (*d.get(p + 1)? as usize + 1) * 8)?;
    let mut i = 2;
    while i < header.len() {
        match header[i] {
            0 => i += 1, // Pad1
            kind => {
                let len = *header.get(i + 1)? as usize;
                if kind == OPTION_JUMBO && len == 4 && i + 6 <= header.len() {
                    return Some(be32(header, i + 2) as usize);
                }
                i += 2 + len;
            }
        }
    }
    None
}

pub(crate) fn ipv4(w: &mut Walk<'_>, off: usize) {
    let d = w.d;
    if !w.fits(LAYER_IPV4, off, 20, NO_LENGTH) {
        return;
    }
    let version = d[off] >> 4;
    let hl = (d[off] & 0x0f) as usize * 4;
    let total = be16(d, off + 2) as usize;
    if version != 4 || hl < 20 {
        return w.fail(LAYER_IPV4, FLAG_MALFORMED, off);
    }
    if !w.fits(LAYER_IPV4, off, hl, NO_LENGTH) {
        return;
    }
    if total < hl {
        return w.fail(LAYER_IPV4, FLAG_MALFORMED, off);
    }
    let o = &mut *w.out;
    o.flags |= FLAG_IPV4;
    o.ethertype = ETHERTYPE_IPV4;
    o.ip_version = 4;
    o.ip_header_len = hl as u32;
    o.ip_tos = d[off + 1] as u32;
    o.ip_length = total as u32;
    o.ip_id = be16(d, off + 4);
    let frag = be16(d, off + 6);
    o.ip_fragment = frag;
    o.ip_ttl = d[off + 8] as u32;
    let proto = d[off + 9] as u32;
    o.ip_protocol = proto;
    o.ip_checksum_offset = (off + 10) as u32;
    o.ip_src_offset = (off + 12) as u32;
    o.ip_dst_offset = (off + 16) as u32;
    if hl > 20 {
        o.ip_options_offset = (off + 20) as u32;
        o.ip_options_len = (hl - 20) as u32;
    }
    let end = off + total;
    if end > d.len() {
        o.flags |= FLAG_SNAPLEN;
    }
    let mf = frag & 0x2000 != 0;
    let frag_offset = frag & 0x1fff;
    if mf || frag_offset != 0 {
        o.flags |= FLAG_FRAGMENT;
    }
    if frag_offset != 0 {
        o.flags |= FLAG_LATER_FRAGMENT;
        return w.payload(off + hl, end);
    }
    super::transport::transport(w, proto, off + hl, end);
}

pub(crate) fn ipv6(w: &mut Walk<'_>, off: usize) {
    let d = w.d;
    if !w.fits(LAYER_IPV6, off, 40, NO_LENGTH) {
        return;
    }
    if d[off] >> 4 != 6 {
        return w.fail(LAYER_IPV6, FLAG_MALFORMED, off);
    }
    let first = be32(d, off);
    let plen = be16(d, off + 4) as usize;
    let mut nh = d[off + 6] as u32;
    let o = &mut *w.out;
    o.flags |= FLAG_IPV6;
    o.ethertype = ETHERTYPE_IPV6;
    o.ip_version = 6;
    o.ip_tos = first >> 20 & 0xff;
    o.ip_flow_label = first & 0x000f_ffff;
    o.ip_length = plen as u32;
    o.ip_protocol = nh;
    o.ip_ttl = d[off + 7] as u32;
    o.ip_src_offset = (off + 8) as u32;
    o.ip_dst_offset = (off + 24) as u32;
    o.ip_header_len = 40;
    // A payload length of 0 with a hop-by-hop header holding a Jumbo Payload option is a
    // jumbogram (RFC 2675 §3): the option's length counts the payload. Without the option
    // the datagram ends at its fixed header, and a header after it is malformed.
    let end = match jumbo_length(d, off + 40) {
        Some(jumbo) if plen == 0 && nh == IPPROTO_HOPOPTS => off + 40 + jumbo,
        _ => off + 40 + plen,
    };
    if end > d.len() {
        o.flags |= FLAG_SNAPLEN;
    }
    let mut p = off + 40;
    loop {
        let (bit, len) = match nh {
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS | IPPROTO_SHIM6 => {
                if !w.fits(LAYER_IPV6_EXT, p, 8, end) {
                    return;
                }
                let bit = match nh {
                    IPPROTO_HOPOPTS => IPV6_EXT_HOP_BY_HOP,
                    IPPROTO_ROUTING => IPV6_EXT_ROUTING,
                    IPPROTO_SHIM6 => IPV6_EXT_SHIM6,
                    _ => IPV6_EXT_DEST_OPTIONS,
                };
                (bit, (d[p + 1] as usize + 1) * 8)
            }
            IPPROTO_AH => {
                if !w.fits(LAYER_IPV6_EXT, p, 8, end) {
                    return;
                }
                (IPV6_EXT_AUTH, (d[p + 1] as usize + 2) * 4)
            }
            IPPROTO_FRAGMENT => {
                if !w.fits(LAYER_IPV6_EXT, p, 8, end) {
                    return;
                }
                let f = be16(d, p + 2);
                let frag_offset = f >> 3;
                let o = &mut *w.out;
                o.ipv6_ext |= IPV6_EXT_FRAGMENT;
                o.flags |= FLAG_FRAGMENT;
                o.ip_fragment = (f & 1) << 13 | frag_offset;
                o.ip_id = be32(d, p + 4);
                nh = d[p] as u32;
                o.ip_protocol = nh;
                p += 8;
                o.ip_header_len = (p - off) as u32;
                if frag_offset != 0 {
                    o.flags |= FLAG_LATER_FRAGMENT;
                    return w.payload(p, end);
                }
                continue;
            }
            IPPROTO_ESP | IPPROTO_NONE => {
                w.out.ipv6_ext |= if nh == IPPROTO_ESP {
                    IPV6_EXT_ESP
                } else {
                    IPV6_EXT_NO_NEXT
                };
                return w.payload(p, end);
            }
            _ => break,
        };
        if !w.fits(LAYER_IPV6_EXT, p, len, end) {
            return;
        }
        nh = d[p] as u32;
        p += len;
        let o = &mut *w.out;
        o.ipv6_ext |= bit;
        o.ip_protocol = nh;
        o.ip_header_len = (p - off) as u32;
    }
    super::transport::transport(w, nh, p, end);
}
