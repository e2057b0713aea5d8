//! netring-core: packet capture and injection on Linux through AF_PACKET sockets and
//! their PACKET_MMAP rings (TPACKET_V3 blocks, TPACKET_V2 frames), or plain recv().
//!
//! No Node.js here: the `netring` napi crate maps this to JavaScript.
//!
//! ```no_run
//! use netring_core::{Batch, Capture, RxOptions};
//! let mut capture = Capture::open("eth0", &RxOptions::default())?;
//! let mut batch = Batch::default();
//! loop {
//!     batch.clear();
//!     if capture.read(&mut batch)? == 0 {
//!         capture.wait(-1)?;
//!         continue;
//!     }
//!     for packet in batch.iter() {
//!         println!("{} bytes of {}", packet.data.len(), packet.len);
//!     }
//! }
//! # Ok::<(), netring_core::Error>(())
//! ```

mod batch;
mod bpf;
mod capture;
pub mod dissect;
mod error;
mod fanout;
mod filter;
mod frame;
mod mmap;
mod netns;
mod options;
mod pcap;
mod pcapfile;
mod rx;
mod socket;
mod sys;
mod tx;

pub use batch::{
    Batch, PacketView, FLAG_VLAN, META_CAPLEN, META_FLAGS, META_IFINDEX, META_LEN, META_NSEC, META_OFFSET,
    META_PKTTYPE, META_SEC, META_STRIDE, META_VLAN,
};
pub use bpf::Program;
pub use capture::{Capture, Stats};
pub use error::{Error, ErrorKind, Result};
pub use fanout::{FanoutMode, FanoutOptions, MAX_FANOUT_GROUP};
pub use filter::{clamp_returns, opcode_name, validate_program, Filter, Instruction, BPF_MAXINSNS, DROP_ALL};
pub use frame::PacketInfo;
pub use mmap::Mapping;
pub use netns::netns_path;
pub use options::*;
pub use pcapfile::{FileFormat, FileReader, FileWriter, FILE_SNAPLEN};
pub use pcap::{compile as compile_filter, libpcap_available, LIBPCAP_ENV, LIBPCAP_NAMES};
pub use socket::{check_interface_name, KernelStats, PacketSocket};
pub use sys::{errno_name, page_size};
pub use tx::{
    Kicker, Sender, TxConfig, TxMethod, TxOptions, TxRingConfig, TxStats, DEFAULT_FRAMES_PER_KICK, DEFAULT_TX_FRAME_COUNT,
    DEFAULT_TX_FRAME_SIZE, LINK_HEADER_LEN, MAX_TX_FRAME_SIZE, MIN_TX_SLOT_CAPACITY, V2_TX_DATA_OFFSET, V3_TX_DATA_OFFSET,
    VLAN_TAG_LEN,
};
