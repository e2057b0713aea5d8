//! Sending frames: through a PACKET_MMAP TX ring (TPACKET_V2 or V3 slots that the kernel
//! sends when kicked with an empty `sendto()`), or with one `send()` per frame.
//!
//! A TX ring slot belongs to user space while its `tp_status` has neither
//! TP_STATUS_SEND_REQUEST nor TP_STATUS_SENDING. User space writes a frame into a free
//! slot and stores TP_STATUS_SEND_REQUEST; a kick makes the kernel walk the ring from its
//! own head, turn each requested slot into an skb (status TP_STATUS_SENDING) and, once the
//! skb is freed, store TP_STATUS_AVAILABLE, possibly with timestamp bits
//! (TP_STATUS_TS_*) or'ed in, which is why a free slot is never tested with `==`.
//! A slot the kernel cannot send gets TP_STATUS_WRONG_FORMAT and stops the kernel there.
//!
//! One file per concern, as on the RX side: `options.rs` (options and validation),
//! `frame.rs` (frame checks), `slot.rs` (slot layout), `ring.rs` (the ring's state
//! machine over the mapping), `sender.rs` (the socket, kicks and the public handles).

mod frame;
mod options;
mod ring;
mod sender;
mod slot;

pub use options::{
    TxConfig, TxMethod, TxOptions, TxRingConfig, DEFAULT_FRAMES_PER_KICK, DEFAULT_TX_FRAME_COUNT, DEFAULT_TX_FRAME_SIZE,
    MAX_TX_FRAME_SIZE, MIN_TX_SLOT_CAPACITY,
};
pub use sender::{check_link_type, Kicker, Sender, TxStats};
