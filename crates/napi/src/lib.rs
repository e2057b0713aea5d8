//! Node-API binding of netring-core. Maps options and errors, hands batches of packets
//! to JavaScript, and waits for packets on napi's tokio runtime (epoll), so neither the
//! JavaScript thread nor libuv's thread pool is held while a capture is idle.
//!
//! `index.ts` is the public API; what is exported here is its private binding.

mod capture;
mod error;
mod filter;
mod options;
mod pool;
mod recorder;
mod sender;
mod waiter;

pub use capture::NativeCapture;
pub use recorder::{NativeFileReader, NativeRecorder};
pub use sender::NativeSender;
