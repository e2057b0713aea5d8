//! Classic BPF, all in one place: the instructions and their opcode names (`insn.rs`),
//! the checker with the kernel's rules (`check.rs`), what a capture filters with and the
//! program its socket attaches (`filter.rs`), a userspace interpreter for counting
//! matches (`interp.rs`), and libpcap's compiler of tcpdump expressions, loaded at run
//! time (`libpcap.rs`), and how a program for Linux cooked headers runs on a cooked
//! socket (`cooked.rs`).
//!
//! Knows nothing of sockets or rings: the socket attaches what [`Filter::program`] returns.

mod check;
mod cooked;
mod filter;
pub(crate) mod insn;
mod interp;
mod libpcap;

pub use check::{clamp_returns, validate_program};
pub use cooked::{for_cooked_socket, without_loopback_copies};
pub(crate) use filter::socket_program;
pub use filter::Filter;
pub use insn::{opcode_name, Instruction, BPF_MAXINSNS, BPF_MEMWORDS, DROP_ALL, RET_K};
pub use interp::Program;
pub use libpcap::{compile, libpcap_available, LIBPCAP_ENV, LIBPCAP_NAMES};
