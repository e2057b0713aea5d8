//! Link types: the kernel's ARPHRD_* hardware type of an interface, the libpcap
//! `LINKTYPE_*` of the frames a raw (SOCK_RAW) AF_PACKET socket reads from it, their names
//! for messages, and which files' frames an interface can send as they are.
//!
//! A leaf of plain tables (it imports only the dissector's constants): the socket reads
//! the hardware type, the capture turns it into an error when it has no raw mapping.

pub use crate::dissect::{
    LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP, LINKTYPE_NULL,
    LINKTYPE_RAW,
};

/// ARPHRD_* hardware types (`include/uapi/linux/if_arp.h`) and their names.
const ARPHRD_NAMES: &[(u16, &str)] = &[
    (0, "NETROM"),
    (1, "ETHER"),
    (2, "EETHER"),
    (3, "AX25"),
    (4, "PRONET"),
    (5, "CHAOS"),
    (6, "IEEE802"),
    (7, "ARCNET"),
    (8, "APPLETLK"),
    (15, "DLCI"),
    (19, "ATM"),
    (23, "METRICOM"),
    (24, "IEEE1394"),
    (27, "EUI64"),
    (32, "INFINIBAND"),
    (256, "SLIP"),
    (257, "CSLIP"),
    (258, "SLIP6"),
    (259, "CSLIP6"),
    (260, "RSRVD"),
    (264, "ADAPT"),
    (270, "ROSE"),
    (271, "X25"),
    (272, "HWX25"),
    (280, "CAN"),
    (290, "MCTP"),
    (512, "PPP"),
    (513, "CISCO"),
    (516, "LAPB"),
    (517, "DDCMP"),
    (518, "RAWHDLC"),
    (519, "RAWIP"),
    (768, "TUNNEL"),
    (769, "TUNNEL6"),
    (770, "FRAD"),
    (771, "SKIP"),
    (772, "LOOPBACK"),
    (773, "LOCALTLK"),
    (774, "FDDI"),
    (775, "BIF"),
    (776, "SIT"),
    (777, "IPDDP"),
    (778, "IPGRE"),
    (779, "PIMREG"),
    (780, "HIPPI"),
    (781, "ASH"),
    (782, "ECONET"),
    (783, "IRDA"),
    (784, "FCPP"),
    (785, "FCAL"),
    (786, "FCPL"),
    (787, "FCFABRIC"),
    (800, "IEEE802_TR"),
    (801, "IEEE80211"),
    (802, "IEEE80211_PRISM"),
    (803, "IEEE80211_RADIOTAP"),
    (804, "IEEE802154"),
    (805, "IEEE802154_MONITOR"),
    (820, "PHONET"),
    (821, "PHONET_PIPE"),
    (822, "CAIF"),
    (823, "IP6GRE"),
    (824, "NETLINK"),
    (825, "6LOWPAN"),
    (826, "VSOCKMON"),
    (8445, "LAPD"),
    (0xFFFF, "VOID"),
    (0xFFFE, "NONE"),
];

/// The ARPHRD_ name of a hardware type without the prefix (`1` → `"ETHER"`), if known.
pub fn arphrd_name(arphrd: u16) -> Option<&'static str> {
    ARPHRD_NAMES.iter().find(|(n, _)| *n == arphrd).map(|(_, name)| *name)
}

/// The libpcap `LINKTYPE_*` of what a SOCK_RAW AF_PACKET socket reads from an interface
/// named `iface` of hardware type `arphrd`, by libpcap's `map_arphrd_to_dlt()`
/// (pcap-linux.c): `None` where libpcap would capture in cooked mode (SOCK_DGRAM, with a
/// made-up SLL header) because the raw bytes have no header a link type describes (ATM,
/// IRDA, LAPD, NETLINK, and every type it does not know, as RAWIP, TUNNEL6, IPGRE,
/// IP6GRE, INFINIBAND). PPP is RAW, libpcap's mapping when cooked mode is not possible:
/// the kernel's PPP devices hand raw sockets the IP packet. Not done as libpcap does:
/// DSA conduit interfaces (libpcap reads `/sys/class/net/IFACE/dsa/tagging`) are Ethernet
/// here, and ISDN `isdn*`/`isdY*` interfaces, which it runs cooked, are too.
pub fn link_type_for_arphrd(arphrd: u16, iface: &str) -> Option<u32> {
    let link_type = match arphrd {
        // Android's mobile-network interfaces claim Ethernet but start at the IP header.
        1 if iface.starts_with("cdma_rmnet") => LINKTYPE_RAW,
        // ETHER, METRICOM, LOOPBACK
        1 | 23 | 772 => LINKTYPE_ETHERNET,
        2 => 2,                                    // EETHER → EN3MB
        3 => 202,                                  // AX25 → AX25_KISS
        4 => 4,                                    // PRONET
        5 => 5,                                    // CHAOS
        280 => 227,                                // CAN → CAN_SOCKETCAN
        6 | 800 => 6,                              // IEEE802, IEEE802_TR → IEEE802 (token ring)
        7 => 129,                                  // ARCNET → ARCNET_LINUX
        774 => 10,                                 // FDDI
        801 => 105,                                // IEEE80211 → IEEE802_11
        802 => 119,                                // IEEE80211_PRISM → PRISM_HEADER
        803 => 127,                                // IEEE80211_RADIOTAP → IEEE802_11_RADIO
        512 => LINKTYPE_RAW,                       // PPP
        513 => 104,                                // CISCO → C_HDLC
        // TUNNEL, SIT, CSLIP, SLIP6, CSLIP6, ADAPT, SLIP, RAWHDLC, DLCI
        768 | 776 | 257 | 258 | 259 | 264 | 256 | 518 | 15 => LINKTYPE_RAW,
        770 => 107,                                // FRAD → FRELAY
        773 => 114,                                // LOCALTLK → LTALK
        18 => 122,                                 // RFC 4338 IP-over-FC → IP_OVER_FC
        784..=787 => 224,                          // FCPP, FCAL, FCPL, FCFABRIC → FC_2
        0xFFFE => LINKTYPE_RAW,                    // NONE: tun, WireGuard
        804 => 230,                                // IEEE802154 → IEEE802_15_4_NOFCS
        826 => 271,                                // VSOCKMON → VSOCK
        _ => return None,
    };
    Some(link_type)
}

/// libpcap's names of link types (`pcap_datalink_val_to_name()`), by `LINKTYPE_*` value.
const LINK_TYPE_NAMES: &[(u32, &str)] = &[
    (LINKTYPE_NULL, "NULL"),
    (LINKTYPE_ETHERNET, "EN10MB"),
    (2, "EN3MB"),
    (3, "AX25"),
    (4, "PRONET"),
    (5, "CHAOS"),
    (6, "IEEE802"),
    (7, "ARCNET"),
    (8, "SLIP"),
    (9, "PPP"),
    (10, "FDDI"),
    (50, "PPP_SERIAL"),
    (51, "PPP_ETHER"),
    (100, "ATM_RFC1483"),
    (LINKTYPE_RAW, "RAW"),
    (104, "C_HDLC"),
    (105, "IEEE802_11"),
    (106, "ATM_CLIP"),
    (107, "FRELAY"),
    (LINKTYPE_LOOP, "LOOP"),
    (109, "ENC"),
    (LINKTYPE_LINUX_SLL, "LINUX_SLL"),
    (114, "LTALK"),
    (117, "PFLOG"),
    (119, "PRISM_HEADER"),
    (122, "IP_OVER_FC"),
    (127, "IEEE802_11_RADIO"),
    (129, "ARCNET_LINUX"),
    (144, "LINUX_IRDA"),
    (177, "LINUX_LAPD"),
    (189, "USB_LINUX"),
    (202, "AX25_KISS"),
    (220, "USB_LINUX_MMAPPED"),
    (224, "FC_2"),
    (227, "CAN_SOCKETCAN"),
    (LINKTYPE_IPV4, "IPV4"),
    (LINKTYPE_IPV6, "IPV6"),
    (230, "IEEE802_15_4_NOFCS"),
    (231, "DBUS"),
    (239, "NFLOG"),
    (249, "USBPCAP"),
    (253, "NETLINK"),
    (254, "BLUETOOTH_LINUX_MONITOR"),
    (271, "VSOCK"),
    (LINKTYPE_LINUX_SLL2, "LINUX_SLL2"),
];

/// libpcap's name of a `LINKTYPE_*` value (`1` → `"EN10MB"`), if this table has it.
pub fn link_type_name(link_type: u32) -> Option<&'static str> {
    LINK_TYPE_NAMES.iter().find(|(n, _)| *n == link_type).map(|(_, name)| *name)
}

/// A link type for messages: `EN10MB (1)`, or `link type 300` for one without a name.
pub fn describe_link_type(link_type: u32) -> String {
    match link_type_name(link_type) {
        Some(name) => format!("{name} ({link_type})"),
        None => format!("link type {link_type}"),
    }
}

/// A hardware type for messages: `ARPHRD_ATM (19)`, or `ARPHRD 1234`.
pub fn describe_arphrd(arphrd: u16) -> String {
    match arphrd_name(arphrd) {
        Some(name) => format!("ARPHRD_{name} ({arphrd})"),
        None => format!("ARPHRD {arphrd}"),
    }
}

/// The Linux `DLT_*` value libpcap's `pcap_open_dead()` wants for a `LINKTYPE_*` value
/// (pcap-common.c `linktype_to_dlt()`): the same number except for the few types whose
/// DLT differs between systems.
pub fn link_type_to_dlt(link_type: u32) -> u32 {
    match link_type {
        100 => 11,           // ATM_RFC1483
        LINKTYPE_RAW => 12, // DLT_RAW on Linux
        102 => 15,           // SLIP_BSDOS
        103 => 16,           // PPP_BSDOS
        106 => 19,           // ATM_CLIP
        other => other,
    }
}

/// Why frames read as `file` cannot be sent as they are through an interface whose frames
/// are `interface`, or `None` when they can: the same link type, or raw IP of either
/// version onto a raw-IP interface. Cooked (SLL, SLL2) headers are made up by the
/// capturing socket, and raw IP has no link-layer header for an Ethernet interface.
pub fn send_problem(file: u32, interface: u32) -> Option<&'static str> {
    let raw_ip = |t: u32| matches!(t, LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6);
    if file == interface || (interface == LINKTYPE_RAW && raw_ip(file)) {
        return None;
    }
    Some(match file {
        LINKTYPE_LINUX_SLL | LINKTYPE_LINUX_SLL2 => {
            "a Linux cooked capture's header was made up by the capturing socket and is not a frame header"
        }
        t if raw_ip(t) && interface == LINKTYPE_ETHERNET => "raw IP packets have no Ethernet header to send",
        _ => "the interface sends frames of its own link type only",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (ARPHRD, name, link type) as libpcap 1.10's map_arphrd_to_dlt() gives them for a
    /// SOCK_RAW socket; `None` where it falls back to cooked capture.
    const TABLE: &[(u16, &str, Option<u32>)] = &[
        (1, "ETHER", Some(1)),
        (772, "LOOPBACK", Some(1)),
        (23, "METRICOM", Some(1)),
        (0xFFFE, "NONE", Some(101)),
        (768, "TUNNEL", Some(101)),
        (776, "SIT", Some(101)),
        (512, "PPP", Some(101)),
        (256, "SLIP", Some(101)),
        (280, "CAN", Some(227)),
        (801, "IEEE80211", Some(105)),
        (802, "IEEE80211_PRISM", Some(119)),
        (803, "IEEE80211_RADIOTAP", Some(127)),
        (804, "IEEE802154", Some(230)),
        (826, "VSOCKMON", Some(271)),
        (513, "CISCO", Some(104)),
        (774, "FDDI", Some(10)),
        (787, "FCFABRIC", Some(224)),
        (19, "ATM", None),
        (783, "IRDA", None),
        (8445, "LAPD", None),
        (824, "NETLINK", None),
        (519, "RAWIP", None),
        (769, "TUNNEL6", None),
        (778, "IPGRE", None),
        (823, "IP6GRE", None),
        (32, "INFINIBAND", None),
        (0xFFFF, "VOID", None),
    ];

    #[test]
    fn arphrd_to_link_type() {
        for &(arphrd, name, want) in TABLE {
            assert_eq!(arphrd_name(arphrd), Some(name), "{arphrd}");
            assert_eq!(link_type_for_arphrd(arphrd, "eth0"), want, "ARPHRD_{name}");
        }
        assert_eq!(link_type_for_arphrd(1, "cdma_rmnet0"), Some(LINKTYPE_RAW));
        assert_eq!(link_type_for_arphrd(4242, "x"), None);
        assert_eq!(arphrd_name(4242), None);
    }

    #[test]
    fn names_as_libpcap() {
        assert_eq!(link_type_name(1), Some("EN10MB"));
        assert_eq!(link_type_name(101), Some("RAW"));
        assert_eq!(link_type_name(113), Some("LINUX_SLL"));
        assert_eq!(link_type_name(276), Some("LINUX_SLL2"));
        assert_eq!(link_type_name(12), None, "12 is DLT_RAW, never a LINKTYPE");
        assert_eq!(describe_link_type(276), "LINUX_SLL2 (276)");
        assert_eq!(describe_link_type(300), "link type 300");
        assert_eq!(describe_arphrd(19), "ARPHRD_ATM (19)");
        assert_eq!(describe_arphrd(4242), "ARPHRD 4242");
        // Every link type an interface can map to has a name.
        for &(arphrd, _, _) in TABLE {
            if let Some(t) = link_type_for_arphrd(arphrd, "eth0") {
                assert!(link_type_name(t).is_some(), "{t}");
            }
        }
        // No duplicates in the tables.
        for (i, (n, _)) in LINK_TYPE_NAMES.iter().enumerate() {
            assert!(LINK_TYPE_NAMES[i + 1..].iter().all(|(m, _)| m != n), "{n}");
        }
        for (i, (n, _)) in ARPHRD_NAMES.iter().enumerate() {
            assert!(ARPHRD_NAMES[i + 1..].iter().all(|(m, _)| m != n), "{n}");
        }
    }

    #[test]
    fn dlt_values() {
        assert_eq!(link_type_to_dlt(1), 1);
        assert_eq!(link_type_to_dlt(101), 12);
        assert_eq!(link_type_to_dlt(276), 276);
        assert_eq!(link_type_to_dlt(228), 228);
    }

    #[test]
    fn what_can_be_sent() {
        assert_eq!(send_problem(1, 1), None);
        assert_eq!(send_problem(101, 101), None);
        assert_eq!(send_problem(228, 101), None);
        assert_eq!(send_problem(229, 101), None);
        assert!(send_problem(276, 1).unwrap().contains("cooked"));
        assert!(send_problem(113, 1).unwrap().contains("cooked"));
        assert!(send_problem(276, 276).is_none(), "never an interface's type, but the same");
        for raw in [101, 228, 229] {
            assert!(send_problem(raw, 1).unwrap().contains("no Ethernet header"), "{raw}");
        }
        assert!(send_problem(1, 101).is_some());
        assert!(send_problem(105, 1).is_some());
    }
}
