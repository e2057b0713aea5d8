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

//!
//! Modules, leaves first (see ARCHITECTURE-rust.md): `abi` (kernel ABI facts, imports
//! nothing), `sys` (libc calls), `error`, `mmap` (ring memory), `validate` (option checks
//! RX and TX share), `frame` and `batch` (bytes), `bpf/` (instructions, checker,
//! interpreter, libpcap compiler), `linktype` (ARPHRD → LINKTYPE, names), `netns`, `link` (interfaces over
//! rtnetlink), `socket`, `fanout`, `options` + `rx` +
//! `capture` (receiving), `tx/` (sending), `file/` (pcap and pcapng), `record`.

#![warn(missing_docs)]

mod abi;
mod batch;
mod bpf;
mod capture;
pub mod dissect;
mod error;
mod fanout;
mod file;
mod frame;
mod link;
pub mod linktype;
mod mmap;
mod netns;
mod options;
mod record;
mod rx;
mod socket;
mod sys;
mod tx;
mod validate;

pub use abi::{
    tpacket_align, LINK_HEADER_LEN, MAX_RING_BYTES, MAX_SNAPLEN, TPACKET_ALIGNMENT, V2_MAC_OFFSET, V2_TX_DATA_OFFSET,
    V3_BLOCK_HEADER, V3_MAC_OFFSET, V3_TX_DATA_OFFSET, VLAN_TAG_LEN,
};
pub use batch::{
    dissect_words, Batch, PacketView, DISSECTED_WORDS, FLAG_VLAN, META_CAPLEN, META_ERROR_LAYER, META_ETHERTYPE, META_FLAGS, META_FRAGMENT,
    META_FRAGMENT_ID, META_IFINDEX, META_IPV6_EXT, META_LAYERS, META_LEN, META_LINK_TYPE, META_NETWORK, META_NSEC,
    META_OFFSET, META_PAYLOAD, META_PAYLOAD_LEN, META_PKTTYPE, META_PROTOCOL, META_SEC, META_STRIDE, META_TRANSPORT,
    META_VLAN,
};
pub use bpf::{
    clamp_returns, compile as compile_filter, libpcap_available, opcode_name, validate_program, Filter, Instruction, Program,
    BPF_MAXINSNS, BPF_MEMWORDS, DROP_ALL, LIBPCAP_ENV, LIBPCAP_NAMES, RET_K,
};
pub use capture::{Capture, Stats};
pub use error::{Error, MethodName, OptionName, Piece, Problem, Result, Text, PERMISSION_ADVICE};
pub use fanout::{FanoutMode, FanoutOptions, MAX_FANOUT_GROUP};
pub use file::{CaptureTotals, FileFormat, FileInterface, FileReader, FileWriter, InterfaceNames, Rotate, FILE_SNAPLEN, STDIO_PATH, WRITE_BUFFER};
pub use frame::PacketInfo;
pub use link::{arphrd_to_linktype, interfaces, IfAddress, Interface, LinkStats};
pub use mmap::Mapping;
pub use netns::netns_path;
pub use options::*;
pub use record::{keep_matching, FilterCount, Progress, RecordOptions, RecordSource, Recorder, FILE_BATCH, FLUSH_MS};
pub use socket::{check_interface_name, KernelStats, PacketSocket};
pub use sys::{errno_name, page_size};
pub use tx::{
    check_link_type, Kicker, Sender, TxConfig, TxMethod, TxOptions, TxRingConfig, TxStats, DEFAULT_FRAMES_PER_KICK, DEFAULT_TX_FRAME_COUNT,
    DEFAULT_TX_FRAME_SIZE, MAX_TX_FRAME_SIZE, MIN_TX_SLOT_CAPACITY,
};
