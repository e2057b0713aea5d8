//! Node-API binding of netring-core. Maps options and errors, hands batches of packets
//! to JavaScript, and waits for packets with a libuv poll handle on the JavaScript thread's
//! own event loop, so neither that thread nor libuv's thread pool is held while a capture
//! is idle. TX waits (for room in the ring, for the drain on close) run on napi's tokio
//! runtime.
//!
//! `index.ts` (over `src/`) is the public API; what is exported here is its private binding.

mod capture;
mod decode;
mod error;
mod filter;
mod link;
mod options;
mod pool;
mod recorder;
mod sender;
mod waiter;

pub use capture::NativeCapture;
pub use recorder::{NativeFileReader, NativeRecorder};
pub use sender::NativeSender;
