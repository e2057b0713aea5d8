//! Reuse of the memory batches are handed to JavaScript in.
//!
//! A batch's bytes become an external Buffer over a Rust `Vec`. A fresh Vec per batch
//! costs a page fault per 4 KiB on first touch (a ring block is 1 MiB, above glibc's mmap
//! threshold, and freed memory goes back to the kernel): measured 0.18 minor faults per
//! 1514-byte packet, half the reader's CPU. So the Vec goes back to a pool when the
//! garbage collector frees the Buffer, and the next batch is copied into pages already
//! mapped. New vectors get the most a read can need, since a Vec that grows is fresh
//! memory again.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{BufferSlice, Uint32ArraySlice};
use napi::Env;
use netring_core::Batch;

/// Spare vectors, cleared, with their capacity; shared with the finalizers of the Buffers
/// still alive, so it outlives the capture if JavaScript keeps packets.
struct Pool<T> {
    spares: Mutex<Vec<Vec<T>>>,
    /// Most vectors kept spare; past it, returned vectors are freed.
    limit: usize,
    /// Capacity of a new vector: the most one read can need, so none grows (a grown
    /// vector is fresh memory).
    capacity: usize,
}

impl<T> Pool<T> {
    fn new(limit: usize, capacity: usize) -> Self {
        Pool { spares: Mutex::new(Vec::new()), limit, capacity }
    }

    fn take(&self) -> Vec<T> {
        let spare = self.spares.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| Vec::with_capacity(self.capacity))
    }

    fn give(&self, mut v: Vec<T>) {
        v.clear();
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() < self.limit {
            spares.push(v);
        }
    }
}

/// Pools for the two halves of a batch: packet bytes and per-packet numbers.
#[derive(Clone)]
pub struct BatchPool {
    data: Arc<Pool<u8>>,
    meta: Arc<Pool<u32>>,
}

impl BatchPool {
    /// A pool that keeps at most `limit` spare batches and makes new ones with room for
    /// `capacity` (bytes, packets).
    pub fn new(limit: usize, (bytes, packets): (usize, usize)) -> Self {
        BatchPool {
            data: Arc::new(Pool::new(limit, bytes)),
            meta: Arc::new(Pool::new(limit, packets * netring_core::META_STRIDE)),
        }
    }

    /// An empty batch, over spare memory when there is some, that dissects its packets
    /// (JavaScript reads their layers).
    pub fn batch(&self) -> Batch {
        Batch { data: self.data.take(), meta: self.meta.take(), dissect: true }
    }

    /// Gives an unused batch's memory back.
    pub fn recycle(&self, batch: Batch) {
        self.data.give(batch.data);
        self.meta.give(batch.meta);
    }

    /// Hands `batch` to JavaScript without copying: its vectors go back to the pool when
    /// the garbage collector frees the Buffer and the Uint32Array.
    pub fn to_js<'env>(&self, env: &Env, batch: Batch) -> napi::Result<(BufferSlice<'env>, Uint32ArraySlice<'env>)> {
        let Batch { mut data, meta, .. } = batch;
        // External memory must be a real allocation, even for an empty batch.
        data.reserve(1);
        let (ptr, len) = (data.as_mut_ptr(), data.len());
        let pool = Arc::clone(&self.data);
        // SAFETY: the pointer is the heap memory of the Vec moved in as the finalizer's
        // hint; moving a Vec does not move its heap memory, so the pointer stays valid and
        // `len` bytes long until the finalizer gives the Vec back (or frees it). The Vec
        // is not touched in between: JavaScript owns the bytes until then.
        let buffer = unsafe { BufferSlice::from_external(env, ptr, len, data, move |_, v| pool.give(v))? };
        Ok((buffer, self.meta_to_js(env, meta)?))
    }

    /// An empty vector for the records of packets lent in place.
    pub fn meta(&self) -> Vec<u32> {
        self.meta.take()
    }

    /// Gives back a vector from [`BatchPool::meta`] that JavaScript never saw.
    pub fn recycle_meta(&self, meta: Vec<u32>) {
        self.meta.give(meta);
    }

    /// Hands `meta` to JavaScript without copying, back to the pool when it is freed.
    pub fn meta_to_js<'env>(&self, env: &Env, mut meta: Vec<u32>) -> napi::Result<Uint32ArraySlice<'env>> {
        meta.reserve(1);
        let (ptr, len) = (meta.as_mut_ptr(), meta.len());
        let pool = Arc::clone(&self.meta);
        // SAFETY: as for the bytes in `to_js`.
        unsafe { Uint32ArraySlice::from_external(env, ptr, len, meta, move |_, v| pool.give(v)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_vectors_have_room_for_a_whole_read_and_come_back_cleared() {
        let pool = Pool::<u8>::new(2, 4096);
        let mut v = pool.take();
        assert_eq!((v.len(), v.capacity()), (0, 4096));
        v.extend_from_slice(&[1, 2, 3]);
        let ptr = v.as_ptr();
        pool.give(v);
        let again = pool.take();
        assert_eq!((again.as_ptr(), again.len()), (ptr, 0), "the same memory, empty");
    }

    #[test]
    fn at_most_limit_spares_are_kept() {
        let pool = Pool::<u32>::new(2, 16);
        let vecs: Vec<_> = (0..3).map(|_| pool.take()).collect();
        vecs.into_iter().for_each(|v| pool.give(v));
        assert_eq!(pool.spares.lock().unwrap().len(), 2);
    }
}
