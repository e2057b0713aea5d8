//! Transport layers: TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443).

use super::*;

const IPPROTO_ICMP: u32 = 1;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
const IPPROTO_ICMPV6: u32 = 58;
/// DNS (RFC 1035) and multicast DNS (RFC 6762) ports.
const DNS_PORTS: [u32; 2] = [53, 5353];

/// The transport header of protocol `proto` at `off`; `end` is the IP-declared end of the datagram
/// (it may lie past the capture).
pub(crate) fn transport(w: &mut Walk<'_>, proto: u32, off: usize, end: usize) {
    let d = w.d;
    w.out.transport_offset = off.min(d.len()) as u32;
    match proto {
        IPPROTO_TCP => {
            if !w.fits(LAYER_TCP, off, 20, end) {
                return;
            }
            let hl = (d[off + 12] >> 4) as usize * 4;
            if hl < 20 {
                return w.fail(LAYER_TCP, FLAG_MALFORMED, off);
            }
            if !w.fits(LAYER_TCP, off, hl, end) {
                return;
            }
            let o = &mut *w.out;
            o.flags |= FLAG_TCP;
            o.src_port = be16(d, off);
            o.dst_port = be16(d, off + 2);
            o.tcp_seq = be32(d, off + 4);
            o.tcp_ack = be32(d, off + 8);
            o.tcp_flags = be16(d, off + 12) & 0x0fff;
            o.tcp_window = be16(d, off + 14);
            o.tcp_header_len = hl as u32;
            if hl > 20 {
                o.tcp_options_offset = (off + 20) as u32;
                o.tcp_options_len = (hl - 20) as u32;
            }
            ports_dns(w);
            w.payload(off + hl, end);
        }
        IPPROTO_UDP => {
            if !w.fits(LAYER_UDP, off, 8, end) {
                return;
            }
            let len = be16(d, off + 4) as usize;
            // A first fragment's UDP length covers the whole datagram, past this fragment's end.
            let fragment = w.out.flags & FLAG_FRAGMENT != 0;
            if len < 8 || (off + len > end && !fragment) {
                return w.fail(LAYER_UDP, FLAG_MALFORMED, off);
            }
            let o = &mut *w.out;
            o.flags |= FLAG_UDP;
            o.src_port = be16(d, off);
            o.dst_port = be16(d, off + 2);
            o.udp_length = len as u32;
            if off + len > d.len() && !fragment {
                o.flags |= FLAG_SNAPLEN;
            }
            ports_dns(w);
            w.payload(off + 8, (off + len).min(end));
        }
        // By protocol number, whatever the IP version, as tshark does: ICMP inside IPv6
        // and ICMPv6 inside IPv4 are odd, but each is what its number says.
        IPPROTO_ICMP => icmp(w, off, end, LAYER_ICMP, FLAG_ICMP, [0, 8]),
        IPPROTO_ICMPV6 => icmp(w, off, end, LAYER_ICMPV6, FLAG_ICMPV6, [128, 129]),
        _ => {
            w.out.flags |= FLAG_UNKNOWN_TRANSPORT;
            w.payload(off, end);
        }
    }
}

fn ports_dns(w: &mut Walk<'_>) {
    let o = &mut *w.out;
    if DNS_PORTS.contains(&o.src_port) || DNS_PORTS.contains(&o.dst_port) {
        o.flags |= FLAG_DNS;
    }
}

/// ICMP and ICMPv6 share the first 8 bytes: type, code, checksum, and 4 bytes of message body
/// (echo: identifier, sequence number).
fn icmp(w: &mut Walk<'_>, off: usize, end: usize, layer: u32, flag: u32, echo: [u32; 2]) {
    let d = w.d;
    if !w.fits(layer, off, 8, end) {
        return;
    }
    let o = &mut *w.out;
    o.flags |= flag;
    o.icmp_type = d[off] as u32;
    o.icmp_code = d[off + 1] as u32;
    if echo.contains(&o.icmp_type) {
        o.flags |= FLAG_ICMP_ECHO;
        o.icmp_id = be16(d, off + 4);
        o.icmp_seq = be16(d, off + 6);
    }
    w.payload(off + 8, end);
}
