//! `interfaces()`: the core's rtnetlink listing as plain JavaScript objects. Runs on the
//! calling thread: two netlink dumps take well under a millisecond.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use netring_core::{arphrd_to_linktype, interfaces as list};

use crate::error::to_napi;

/// One address of an interface (`RTM_NEWADDR`).
#[napi(object)]
pub struct NativeAddress {
    /// 4 (IPv4) or 16 (IPv6) bytes.
    pub address: Buffer,
    pub prefix_len: u32,
    /// `ifa_scope`: 0 global, 253 link, 254 host.
    pub scope: u32,
}

/// One interface (`RTM_NEWLINK`); counters are `rtnl_link_stats64` as doubles (exact below 2^53).
#[napi(object)]
pub struct NativeInterface {
    pub name: String,
    pub index: u32,
    pub mac: Buffer,
    pub mtu: u32,
    pub hardware_type: u32,
    pub link_type: u32,
    pub flags: u32,
    pub oper_state: u32,
    /// rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped; empty without IFLA_STATS64.
    pub stats: Vec<f64>,
    pub addresses: Vec<NativeAddress>,
}

/// The interfaces of this namespace or of `netns`, by index.
#[allow(dead_code)] // called from JavaScript only
#[napi]
pub fn interfaces(netns: Option<String>) -> napi::Result<Vec<NativeInterface>> {
    let links = list(netns.as_deref()).map_err(to_napi)?;
    Ok(links
        .into_iter()
        .map(|l| NativeInterface {
            link_type: arphrd_to_linktype(l.hardware_type, &l.name),
            hardware_type: u32::from(l.hardware_type),
            stats: l.stats.map_or_else(Vec::new, |s| {
                [s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes, s.rx_errors, s.tx_errors, s.rx_dropped, s.tx_dropped]
                    .iter()
                    .map(|&c| c as f64)
                    .collect()
            }),
            addresses: l
                .addresses
                .into_iter()
                .map(|a| NativeAddress { address: a.address.into(), prefix_len: u32::from(a.prefix_len), scope: u32::from(a.scope) })
                .collect(),
            name: l.name,
            index: l.index,
            mac: l.mac.into(),
            mtu: l.mtu,
            flags: l.flags,
            oper_state: u32::from(l.oper_state),
        })
        .collect())
}
