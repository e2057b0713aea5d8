//! `NativeCapture`: a core `Capture` seen from JavaScript.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{BufferSlice, PromiseRaw, Uint32ArraySlice};
use napi::{Either, Env};
use napi_derive::napi;
use netring_core::{Batch, Capture, Mapping, Stats};

use crate::error::{closed, to_napi};
use crate::filter::{filter, BpfInstruction};
use crate::options::{method, CaptureOptions};
use crate::pool::BatchPool;
use crate::waiter::Waiter;

/// Numbers per packet in `NativeBatch.meta`; `src/native.ts` checks it matches its reader.
#[allow(dead_code)] // read from JavaScript only
#[napi]
pub const META_STRIDE: u32 = netring_core::META_STRIDE as u32;

/// Packets copied out of the ring in one read: their bytes back to back in `data`, and
/// `META_STRIDE` numbers per packet in `meta` (offset, captured length, wire length,
/// seconds, nanoseconds, ifindex, packet type, VLAN tci | tpid << 16, flags).
#[napi(object)]
pub struct NativeBatch<'env> {
    pub data: BufferSlice<'env>,
    pub meta: Uint32ArraySlice<'env>,
}

impl<'env> NativeBatch<'env> {
    /// Runs `read` on a batch from `pool` and hands what it added to JavaScript; `None`
    /// when it added nothing (the batch goes back to the pool).
    pub fn read(
        env: &'env Env,
        pool: &BatchPool,
        read: impl FnOnce(&mut Batch) -> netring_core::Result<usize>,
    ) -> napi::Result<Option<Self>> {
        let mut batch = pool.batch();
        match read(&mut batch) {
            Ok(0) => {
                pool.recycle(batch);
                Ok(None)
            }
            Ok(_) => {
                let (data, meta) = pool.to_js(env, batch)?;
                Ok(Some(NativeBatch { data, meta }))
            }
            Err(e) => Err(to_napi(e)),
        }
    }
}

/// A Buffer over a ring's whole memory, which keeps it mapped while JavaScript holds it.
fn ring_to_js<'env>(env: &Env, ring: Arc<Mapping>) -> napi::Result<BufferSlice<'env>> {
    let (ptr, len) = (ring.as_ptr(), ring.len());
    // SAFETY: the mapping stays mapped, readable and writable, for as long as an Arc to
    // it lives (the capture, once closed, leaves zeros in its place: Mapping::detach), and
    // the finalizer holds one. The kernel rewrites slots given back while JavaScript may
    // still look at them, which is the contract of lent packets, not a memory-safety
    // matter: JavaScript runs only between the calls in which Rust borrows the ring.
    unsafe { BufferSlice::from_external(env, ptr, len, ring, |_, ring| drop(ring)) }
}

/// Running totals of a capture.
#[napi(object)]
pub struct CaptureStats {
    /// Packets the socket accepted into its ring or queue (PACKET_STATISTICS
    /// `tp_packets - tp_drops`, summed since open).
    pub received: f64,
    /// Packets the kernel dropped because the ring or queue was full (`tp_drops`).
    pub dropped: f64,
    /// Times a TPACKET_V3 ring was full and froze (`tp_freeze_q_cnt`); 0 otherwise.
    pub freezes: f64,
    /// Packets handed to JavaScript so far.
    pub delivered: f64,
}

impl From<Stats> for CaptureStats {
    fn from(s: Stats) -> Self {
        CaptureStats {
            received: s.received as f64,
            dropped: s.dropped as f64,
            freezes: s.freezes as f64,
            delivered: s.delivered as f64,
        }
    }
}

/// Spare batches a capture keeps for reuse. Buffers come back when the garbage collector
/// runs, so this must cover the batches read between two collections: at full rate with
/// 1514-byte frames, 32 left up to a quarter of the batches in fresh memory, 64 about 1 %.
/// At most this many batches' memory (a ring block each) stays allocated for reuse.
const POOL_SPARES: usize = 64;

#[napi]
pub struct NativeCapture {
    capture: Option<Capture>,
    waiter: Option<Waiter>,
    /// Totals as of close, so `stats()` still answers afterwards.
    last: Stats,
    fanout_group: Option<u16>,
    link_type: u32,
    pool: BatchPool,
}

#[napi]
impl NativeCapture {
    /// Opens a capture on `iface`; `scheme` is "ring" (PACKET_MMAP) or "int" (recv()).
    #[napi(constructor)]
    pub fn new(env: &Env, iface: String, scheme: String, options: Option<CaptureOptions>) -> napi::Result<Self> {
        let options = options.unwrap_or_default();
        let core = options.to_core(method(&scheme).map_err(to_napi)?).map_err(to_napi)?;
        let capture = Capture::open(&iface, &core).map_err(to_napi)?;
        // After an error, wait two block timeouts so the kernel retires the block in progress.
        let settle = Duration::from_millis(u64::from(capture.block_timeout_ms()) * 2 + 5);
        let waiter = Waiter::new(env, Arc::clone(capture.socket()), settle)?;
        let fanout_group = capture.fanout_group();
        let link_type = capture.link_type();
        let pool = BatchPool::new(POOL_SPARES, capture.batch_capacity());
        Ok(NativeCapture {
            capture: Some(capture),
            waiter: Some(waiter),
            last: Stats::default(),
            fanout_group,
            link_type,
            pool,
        })
    }

    /// Copies out what is ready (one block, the ready frames, or the queued packets)
    /// without blocking; `null` when nothing is.
    #[napi]
    pub fn read<'env>(&mut self, env: &'env Env) -> napi::Result<Option<NativeBatch<'env>>> {
        let capture = self.capture.as_mut().ok_or_else(closed)?;
        NativeBatch::read(env, &self.pool, |batch| capture.read(batch))
    }

    /// Lends what is ready in place (a `zeroCopy` capture): the packets' records, whose
    /// offsets point into `ringMemory()`, or `null` when nothing is ready. Gives back to
    /// the kernel what the previous call lent.
    #[napi]
    pub fn lend<'env>(&mut self, env: &'env Env) -> napi::Result<Option<Uint32ArraySlice<'env>>> {
        let capture = self.capture.as_mut().ok_or_else(closed)?;
        let mut meta = self.pool.meta();
        match capture.lend(&mut meta) {
            Ok(0) => {
                self.pool.recycle_meta(meta);
                Ok(None)
            }
            Ok(_) => self.pool.meta_to_js(env, meta).map(Some),
            Err(e) => Err(to_napi(e)),
        }
    }

    /// The ring's memory as one Buffer (`null` for int:), for the packets `lend()`
    /// lends. Ask once: each Buffer counts as the whole ring in the garbage collector's
    /// accounting of external memory. It keeps the memory mapped while held; once the
    /// capture is closed that memory reads as zeros.
    #[napi]
    pub fn ring_memory<'env>(&self, env: &'env Env) -> napi::Result<Option<BufferSlice<'env>>> {
        let capture = self.capture.as_ref().ok_or_else(closed)?;
        capture.ring_memory().map(|ring| ring_to_js(env, ring)).transpose()
    }

    /// Resolves `true` when packets may be ready, `false` when the capture was closed;
    /// throws once the interface went down or was removed (after a last `true`, so that
    /// what was captured before is read first).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, bool>> {
        self.waiter.as_ref().ok_or_else(closed)?.wait(env)
    }

    #[napi]
    pub fn stats(&mut self) -> napi::Result<CaptureStats> {
        match self.capture.as_mut() {
            Some(capture) => Ok(capture.stats().map_err(to_napi)?.into()),
            None => Ok(self.last.into()),
        }
    }

    /// Replaces the filter atomically (SO_ATTACH_FILTER); `null` removes it. Packets
    /// already in the ring passed the old one.
    #[napi]
    pub fn set_filter(&mut self, program: Option<Either<String, Vec<BpfInstruction>>>) -> napi::Result<()> {
        let capture = self.capture.as_mut().ok_or_else(closed)?;
        let program = program.as_ref().map(filter).transpose().map_err(to_napi)?;
        capture.set_filter(program.as_ref()).map_err(to_napi)
    }

    /// The name of interface `ifindex` in the capture's network namespace (SIOCGIFNAME),
    /// or `null` when there is none (any more).
    #[napi]
    pub fn interface_name(&self, ifindex: i32) -> napi::Result<Option<String>> {
        let capture = self.capture.as_ref().ok_or_else(closed)?;
        Ok(capture.socket().interface_name(ifindex).ok())
    }

    /// The PACKET_FANOUT group id joined, or `null`.
    #[napi(getter)]
    pub fn fanout_group(&self) -> Option<u32> {
        self.fanout_group.map(u32::from)
    }

    /// The libpcap `LINKTYPE_*` of the interface's frames (1 Ethernet, 101 raw IP, …),
    /// from its hardware type; still answers after `close()`.
    #[napi(getter)]
    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Ends pending waits, unmaps the ring and closes the socket. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            waiter.close();
        }
        if let Some(mut capture) = self.capture.take() {
            // Keep the last totals; a failure to read them leaves the previous ones.
            if let Ok(stats) = capture.stats() {
                self.last = stats;
            }
        }
    }
}

impl Drop for NativeCapture {
    fn drop(&mut self) {
        self.close();
    }
}
