//! `NativeSender`: a core `Sender` seen from JavaScript.
//!
//! Queueing is synchronous and never blocks. Whatever has to wait for the kernel (room in
//! the ring, a flush, the drain on close) runs on tokio's blocking pool, not on the
//! JavaScript thread and not on libuv's thread pool. The sender sits behind a mutex; the
//! JavaScript side only ever `try_lock`s it, and reads a held lock as "no room yet".

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use napi::bindgen_prelude::{spawn_blocking, PromiseRaw, Uint32ArraySlice, Uint8ArraySlice};
use napi::Env;
use napi_derive::napi;
use netring_core::{Kicker, Sender, TxStats};

use crate::error::{closed, to_napi};
use crate::options::{tx_method, TxOptions};

/// Longest single wait for room, in milliseconds.
const WAIT_ROOM_MS: i32 = 10;

/// Running totals of a sender.
#[napi(object)]
pub struct SenderStats {
    /// Frames the kernel has finished with (handed to the driver).
    pub sent: f64,
    /// Frames the kernel refused (TP_STATUS_WRONG_FORMAT).
    pub errors: f64,
    /// Frames accepted so far; `queued - sent - errors` are still in the ring.
    pub queued: f64,
}

impl From<TxStats> for SenderStats {
    fn from(s: TxStats) -> Self {
        SenderStats { sent: s.sent as f64, errors: s.errors as f64, queued: s.queued as f64 }
    }
}

fn lock(sender: &Mutex<Option<Sender>>) -> MutexGuard<'_, Option<Sender>> {
    sender.lock().unwrap_or_else(|e| e.into_inner())
}

#[napi]
pub struct NativeSender {
    sender: Arc<Mutex<Option<Sender>>>,
    /// Holds the socket too: dropped by close(), so that the socket and its ring go at
    /// once rather than when the garbage collector finalizes this object.
    kicker: Option<Kicker>,
    max_frame_length: u32,
    iface: String,
    link_type: Option<u32>,
    last: TxStats,
}

#[napi]
impl NativeSender {
    /// Opens a sender on `iface`; `scheme` is "ring" (PACKET_TX_RING) or "int" (send()).
    #[napi(constructor)]
    pub fn new(iface: String, scheme: String, options: Option<TxOptions>) -> napi::Result<Self> {
        let options = options.unwrap_or_default();
        let core = options.to_core(tx_method(&scheme).map_err(to_napi)?).map_err(to_napi)?;
        let sender = Sender::open(&iface, &core).map_err(to_napi)?;
        Ok(NativeSender {
            kicker: Some(sender.kicker()),
            max_frame_length: sender.max_frame_len() as u32,
            link_type: sender.link_type(),
            iface,
            sender: Arc::new(Mutex::new(Some(sender))),
            last: TxStats::default(),
        })
    }

    /// The longest untagged frame accepted (slot capacity or MTU + 14, the smaller).
    #[napi(getter)]
    pub fn max_frame_length(&self) -> u32 {
        self.max_frame_length
    }

    /// The libpcap `LINKTYPE_*` of the interface's frames (1 Ethernet, 101 raw IP, …), or
    /// `null` for a hardware type a raw socket cannot carry as it is.
    #[napi(getter)]
    pub fn link_type(&self) -> Option<u32> {
        self.link_type
    }

    /// Throws (ERR_NETRING_LINK_TYPE, naming both link types) when frames of `linkType`
    /// cannot be sent through this interface as they are.
    #[napi]
    pub fn check_link_type(&self, link_type: u32) -> napi::Result<()> {
        netring_core::check_link_type(&self.iface, self.link_type, link_type).map_err(to_napi)
    }

    /// Queues frames `start..end` of a packed batch: their bytes back to back in `data`
    /// (frame `start` at byte `offset`), their lengths in `lengths`. Stops at the first
    /// frame that does not fit and returns how many were queued (0 when the ring is full,
    /// or while a flush holds the sender). Throws for a frame that can never be sent
    /// (empty, too long), having queued those before it. Packing costs one copy in
    /// JavaScript but no napi call per frame.
    #[napi]
    pub fn queue(&mut self, data: Uint8ArraySlice, lengths: Uint32ArraySlice, start: u32, end: u32, offset: u32) -> napi::Result<u32> {
        let mut guard = match self.sender.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => return Ok(0),
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
        };
        let sender = guard.as_mut().ok_or_else(closed)?;
        let lengths = lengths.get(start as usize..end as usize).ok_or_else(|| {
            napi::Error::from_reason(format!("frames {start}..{end} are outside the {} lengths", lengths.len()))
        })?;
        let mut at = offset as usize;
        let mut queued = 0;
        for &len in lengths {
            let frame = data.get(at..at + len as usize).ok_or_else(|| {
                napi::Error::from_reason(format!("frame at byte {at} of length {len} is outside the {} bytes", data.len()))
            })?;
            if !sender.try_queue(frame).map_err(to_napi)? {
                break;
            }
            at += len as usize;
            queued += 1;
        }
        Ok(queued)
    }

    /// Hands queued ring frames to the kernel without waiting.
    #[napi]
    pub fn kick(&mut self) -> napi::Result<()> {
        match self.sender.try_lock() {
            Ok(mut guard) => guard.as_mut().map_or(Ok(()), |s| s.kick().map_err(to_napi)),
            // A flush is running: it sends everything anyway.
            Err(TryLockError::WouldBlock) => Ok(()),
            Err(TryLockError::Poisoned(e)) => e.into_inner().as_mut().map_or(Ok(()), |s| s.kick().map_err(to_napi)),
        }
    }

    /// Resolves when there may be room again (a ring slot or the socket's send buffer),
    /// or after `WAIT_ROOM_MS` at the latest; the caller looks and waits again if not.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn wait_room<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let kicker = self.kicker.clone().ok_or_else(closed)?;
        env.spawn_future(async move {
            // Not flush_blocking(): that holds the kernel's ring lock until the ring has
            // drained, and a kick from the JavaScript thread would wait behind it.
            spawn_blocking(move || kicker.wait_room(WAIT_ROOM_MS))
                .await
                .map_err(|e| napi::Error::from_reason(e.to_string()))?
                .map_err(to_napi)
        })
    }

    /// Resolves when the kernel has finished with every queued frame.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let sender = Arc::clone(&self.sender);
        env.spawn_future(async move {
            spawn_blocking(move || lock(&sender).as_mut().map_or(Err(closed()), |s| s.flush().map_err(to_napi)))
                .await
                .map_err(|e| napi::Error::from_reason(e.to_string()))?
        })
    }

    /// Running totals (as of the last look while a flush holds the sender).
    #[napi]
    pub fn stats(&mut self) -> SenderStats {
        if let Ok(mut guard) = self.sender.try_lock() {
            if let Some(sender) = guard.as_mut() {
                self.last = sender.stats();
            }
        }
        self.last.into()
    }

    /// Sends what is queued, waits until the kernel has finished with it, then closes.
    /// Resolves to the final totals. Idempotent.
    #[napi(ts_return_type = "Promise<SenderStats>")]
    pub fn close<'env>(&mut self, env: &'env Env) -> napi::Result<PromiseRaw<'env, SenderStats>> {
        self.kicker = None;
        let sender = Arc::clone(&self.sender);
        let last = self.last;
        env.spawn_future(async move {
            spawn_blocking(move || {
                let mut guard = lock(&sender);
                let Some(mut s) = guard.take() else { return Ok(last.into()) };
                let flushed = s.flush().map_err(to_napi);
                let stats = s.stats();
                drop(s);
                flushed.map(|()| stats.into())
            })
            .await
            .map_err(|e| napi::Error::from_reason(e.to_string()))?
        })
    }
}
