//! Link layers by libpcap LINKTYPE: Ethernet (with VLAN tags), Linux SLL/SLL2, raw IP, NULL/LOOP;
//! and the ethertype dispatch they share (VLAN tags, ARP, IPv4, IPv6).

use super::*;

/// Ethernet header: destination, source, type/length.
const ETH_LEN: usize = 14;
/// Linux cooked v1 header (sll_header in libpcap's sll.h).
const SLL_LEN: usize = 16;
/// Linux cooked v2 header (sll2_header in libpcap's sll.h).
const SLL2_LEN: usize = 20;
/// The largest 802.3 length; type/length fields at or below it are lengths, not ethertypes.
const MAX_8023_LEN: u32 = 1500;
/// SLL protocol values that mean "802.3 frame without 802.2" (Novell) and "802.2 LLC frame".
const SLL_P_802_3: u32 = 0x0001;
const SLL_P_802_2: u32 = 0x0004;

pub(crate) const ETHERTYPE_IPV4: u32 = 0x0800;
pub(crate) const ETHERTYPE_ARP: u32 = 0x0806;
pub(crate) const ETHERTYPE_IPV6: u32 = 0x86dd;
const ETHERTYPE_VLAN: u32 = 0x8100;
const ETHERTYPE_QINQ: u32 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u32 = 0x9100;

/// BSD address families of NULL/LOOP: AF_INET, and AF_INET6 as NetBSD/OpenBSD, FreeBSD, Darwin number it.
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

pub(crate) fn link(w: &mut Walk<'_>, link_type: u32) {
    let d = w.d;
    match link_type {
        LINKTYPE_ETHERNET => {
            if !w.fits(LAYER_LINK, 0, ETH_LEN, NO_LENGTH) {
                return;
            }
            w.out.flags |= FLAG_ETHERNET;
            w.out.link_dst_offset = 0;
            w.out.link_src_offset = 6;
            w.out.link_addr_len = 6;
            let t = be16(d, 12);
            w.out.link_protocol = t;
            ethertype(w, ETH_LEN, t, true);
        }
        LINKTYPE_LINUX_SLL => {
            if !w.fits(LAYER_LINK, 0, SLL_LEN, NO_LENGTH) {
                return;
            }
            let h = &d[..SLL_LEN];
            w.out.flags |= FLAG_SLL;
            w.out.sll_pkttype = be16(h, 0);
            w.out.sll_hatype = be16(h, 2);
            w.out.link_src_offset = 6;
            w.out.link_addr_len = be16(h, 4).min(8);
            let p = be16(h, 14);
            w.out.link_protocol = p;
            sll_protocol(w, SLL_LEN, p);
        }
        LINKTYPE_LINUX_SLL2 => {
            if !w.fits(LAYER_LINK, 0, SLL2_LEN, NO_LENGTH) {
                return;
            }
            let h = &d[..SLL2_LEN];
            w.out.flags |= FLAG_SLL2;
            let p = be16(h, 0);
            w.out.link_protocol = p;
            w.out.sll_ifindex = be32(h, 4);
            w.out.sll_hatype = be16(h, 8);
            w.out.sll_pkttype = h[10] as u32;
            w.out.link_addr_len = (h[11] as u32).min(8);
            w.out.link_src_offset = 12;
            sll_protocol(w, SLL2_LEN, p);
        }
        LINKTYPE_RAW => {
            let t = match d.first().map(|b| b >> 4) {
                Some(4) => ETHERTYPE_IPV4,
                Some(6) => ETHERTYPE_IPV6,
                Some(_) => {
                    w.out.flags |= FLAG_UNKNOWN_NETWORK;
                    w.payload(0, d.len());
                    return;
                }
                None => return w.fail(LAYER_IPV4, FLAG_TRUNCATED, 0),
            };
            ethertype(w, 0, t, false);
        }
        LINKTYPE_IPV4 => ethertype(w, 0, ETHERTYPE_IPV4, false),
        LINKTYPE_IPV6 => ethertype(w, 0, ETHERTYPE_IPV6, false),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            if !w.fits(LAYER_LINK, 0, 4, NO_LENGTH) {
                return;
            }
            let raw = [d[0], d[1], d[2], d[3]];
            let family = if link_type == LINKTYPE_LOOP {
                u32::from_be_bytes(raw)
            } else {
                // Host byte order of the writer, unknown here: as libpcap and Wireshark do, a value with
                // bits in its upper half was written in the other byte order.
                let le = u32::from_le_bytes(raw);
                if le & 0xffff_0000 != 0 {
                    le.swap_bytes()
                } else {
                    le
                }
            };
            w.out.flags |= FLAG_LOOPBACK;
            w.out.link_protocol = family;
            let t = if family == AF_INET {
                ETHERTYPE_IPV4
            } else if AF_INET6.contains(&family) {
                ETHERTYPE_IPV6
            } else {
                0
            };
            ethertype(w, 4, t, false);
        }
        _ => {
            w.out.flags |= FLAG_UNKNOWN_LINK;
            w.payload(0, d.len());
        }
    }
}

/// SLL/SLL2 protocol: an ethertype, or an 802.3/802.2 frame.
fn sll_protocol(w: &mut Walk<'_>, off: usize, p: u32) {
    if p == SLL_P_802_3 || p == SLL_P_802_2 {
        w.out.network_offset = off as u32;
        w.out.flags |= FLAG_IEEE8023;
        w.payload(off, w.d.len());
    } else {
        ethertype(w, off, p, false);
    }
}

/// Walks VLAN tags, then the network layer of type `t` at `off`. `lengths`: a type <= 1500 is an
/// 802.3 length (Ethernet); the LLC payload then ends at that length.
fn ethertype(w: &mut Walk<'_>, mut off: usize, mut t: u32, lengths: bool) {
    let d = w.d;
    while t == ETHERTYPE_VLAN || t == ETHERTYPE_QINQ || t == ETHERTYPE_QINQ_OLD {
        if !w.fits(LAYER_VLAN, off, 4, NO_LENGTH) {
            return;
        }
        let tag = t << 16 | be16(d, off);
        match w.out.vlan_count {
            0 => w.out.vlan_outer = tag,
            1 => w.out.vlan_inner = tag,
            _ => {}
        }
        w.out.vlan_count = w.out.vlan_count.saturating_add(1);
        w.out.flags |= FLAG_VLAN;
        t = be16(d, off + 2);
        off += 4;
    }
    w.out.network_offset = off as u32;
    if lengths && t <= MAX_8023_LEN {
        w.out.flags |= FLAG_IEEE8023;
        w.payload(off, off + t as usize);
        return;
    }
    w.out.ethertype = t;
    match t {
        ETHERTYPE_IPV4 => super::ip::ipv4(w, off),
        ETHERTYPE_IPV6 => super::ip::ipv6(w, off),
        ETHERTYPE_ARP => arp(w, off),
        _ => {
            w.out.flags |= FLAG_UNKNOWN_NETWORK;
            w.payload(off, d.len());
        }
    }
}

/// ARP (RFC 826): htype, ptype, hlen, plen, op, then sender hw/proto and target hw/proto addresses.
fn arp(w: &mut Walk<'_>, off: usize) {
    let d = w.d;
    if !w.fits(LAYER_ARP, off, 8, NO_LENGTH) {
        return;
    }
    let hlen = d[off + 4] as usize;
    let plen = d[off + 5] as usize;
    let total = 8 + 2 * (hlen + plen);
    if !w.fits(LAYER_ARP, off, total, NO_LENGTH) {
        return;
    }
    w.out.flags |= FLAG_ARP;
    if be16(d, off) == 1 && be16(d, off + 2) == ETHERTYPE_IPV4 && hlen == 6 && plen == 4 {
        w.out.flags |= FLAG_ARP_ETH_IPV4;
    }
    w.out.arp_op = be16(d, off + 6);
    w.out.arp_addr_lens = (hlen | plen << 8) as u32;
    let s = off + 8;
    w.out.arp_sender_hw_offset = s as u32;
    w.out.arp_sender_proto_offset = (s + hlen) as u32;
    w.out.arp_target_hw_offset = (s + hlen + plen) as u32;
    w.out.arp_target_proto_offset = (s + 2 * hlen + plen) as u32;
    w.payload(off + total, d.len());
}
