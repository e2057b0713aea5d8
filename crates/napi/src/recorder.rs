//! `NativeFileReader` (a pcap/pcapng file read batch by batch from JavaScript) and
//! `NativeRecorder` (counting, and optionally writing to a file, on a native thread of its
//! own, so that neither JavaScript nor libuv's pool sees a packet).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use napi::Env;
use napi_derive::napi;
use netring_core::{
    compile_filter, Batch, Capture, Error, FileFormat, FileReader, FileWriter, Filter, PacketInfo, Program, MAX_SNAPLEN,
};

use crate::capture::NativeBatch;
use crate::error::{closed, to_napi};
use crate::filter::filter;
use crate::options::{integer, method, CaptureOptions};
use crate::pool::BatchPool;

/// Packets per batch read from a file.
const FILE_BATCH: usize = 1024;
/// Spare batches a file reader keeps for reuse.
const FILE_POOL_SPARES: usize = 16;
/// How long the recording thread sleeps in poll() before looking at the stop flag, ms.
const POLL_MS: i32 = 100;

/// A pcap or pcapng file read as batches of the same shape as a live capture's.
#[napi]
pub struct NativeFileReader {
    reader: Option<FileReader>,
    pool: BatchPool,
}

#[napi]
impl NativeFileReader {
    /// Opens `path` and reads its file header; a missing file or a bad header throws.
    #[napi(constructor)]
    pub fn new(path: String) -> napi::Result<Self> {
        let reader = FileReader::open(&path).map_err(to_napi)?;
        Ok(NativeFileReader { reader: Some(reader), pool: BatchPool::new(FILE_POOL_SPARES, (0, FILE_BATCH)) })
    }

    /// Up to 1024 packets, `null` at the end of the file. A damaged record throws (with its
    /// packet number and byte offset) after the packets before it were returned.
    #[napi]
    pub fn read<'env>(&mut self, env: &'env Env) -> napi::Result<Option<NativeBatch<'env>>> {
        let reader = self.reader.as_mut().ok_or_else(closed)?;
        NativeBatch::read(env, &self.pool, |batch| reader.read(batch, FILE_BATCH, MAX_SNAPLEN))
    }

    /// Packets read so far.
    #[napi(getter)]
    pub fn packets(&self) -> f64 {
        self.reader.as_ref().map_or(0.0, |r| r.packets() as f64)
    }

    /// Closes the file. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        self.reader = None;
    }
}

/// Where a recording reads from and where it writes to.
#[napi(object)]
#[derive(Default)]
pub struct RecordOptions {
    /// Write the packets to this file (created or truncated before the capture starts).
    /// Default: count only.
    pub write: Option<String>,
    /// `'pcap'` (microseconds), `'pcap-ns'` or `'pcapng'`. Default: pcapng for a
    /// `.pcapng` path, pcap otherwise.
    #[napi(ts_type = "'pcap' | 'pcap-ns' | 'pcapng'")]
    pub format: Option<String>,
    /// Stop after this many packets. Default: until `stop()` (or the end of a file).
    pub count: Option<f64>,
    /// tcpdump filter expressions run in userspace on every packet (libpcap compiles them,
    /// a small classic BPF interpreter runs them), each with its own count in
    /// `progress().filters`; unlike the kernel `filter` option they drop nothing. Default: none.
    pub count_filters: Option<Vec<String>>,
}

/// Matches of one of `countFilters`.
#[napi(object)]
pub struct FilterCount {
    pub packets: f64,
    /// Wire bytes of the matching packets.
    pub bytes: f64,
}

/// Running totals of a recording.
#[napi(object)]
pub struct RecordProgress {
    /// Packets counted (and written, when writing).
    pub packets: f64,
    /// Bytes of those packets on the wire.
    pub bytes: f64,
    /// Kernel drops (PACKET_STATISTICS `tp_drops`), as of the last second; 0 for files.
    pub dropped: f64,
    /// Packets the socket accepted (`tp_packets - tp_drops`), as of the last second;
    /// for files, the packets read.
    pub received: f64,
    /// One entry per `countFilters` expression, in order.
    pub filters: Vec<FilterCount>,
    /// The thread has ended: the count was reached, the file ended, `stop()` was called, or
    /// an error happened (`stop()` throws it).
    pub done: bool,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    done: AtomicBool,
    packets: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
    /// Packets and bytes per counting filter.
    filters: Vec<(AtomicU64, AtomicU64)>,
    error: Mutex<Option<Error>>,
}

enum Source {
    Live(Capture),
    /// A file, and the `filter` option run in userspace (there is no socket to attach it to).
    File(FileReader, Option<Program>),
}

/// Counts (and optionally writes) the packets of a capture or a file on a dedicated thread.
#[napi]
pub struct NativeRecorder {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[napi]
impl NativeRecorder {
    /// `scheme` is "ring", "int" or "pcapfile" (then `target` is the path). The capture and
    /// the output file are opened here, so their errors throw before anything is counted.
    #[napi(constructor)]
    pub fn new(
        target: String,
        scheme: String,
        options: Option<CaptureOptions>,
        record: Option<RecordOptions>,
    ) -> napi::Result<Self> {
        let record = record.unwrap_or_default();
        let limit = integer("count", record.count).map_err(to_napi)?.map(u64::from);
        let format = match (&record.format, &record.write) {
            (Some(name), _) => Some(FileFormat::parse(name).map_err(to_napi)?),
            (None, Some(path)) => Some(FileFormat::for_path(path)),
            (None, None) => None,
        };
        let options = options.unwrap_or_default();
        let snaplen = integer("snaplen", options.snaplen).map_err(to_napi)?.unwrap_or(MAX_SNAPLEN);
        let writer = match (&record.write, format) {
            (Some(path), Some(format)) => Some(FileWriter::create(path, format).map_err(to_napi)?),
            _ => None,
        };
        let source = if scheme == "pcapfile" {
            let program = match options.filter.as_ref().map(filter).transpose().map_err(to_napi)? {
                Some(Filter::Expression(expression)) => Some(compile_filter(&expression, MAX_SNAPLEN)),
                Some(Filter::Program(program)) => Some(Ok(program)),
                None => None,
            }
            .map(|program| program.and_then(Program::new))
            .transpose()
            .map_err(to_napi)?;
            Source::File(FileReader::open(&target).map_err(to_napi)?, program)
        } else {
            let core = options.to_core(method(&scheme).map_err(to_napi)?).map_err(to_napi)?;
            Source::Live(Capture::open(&target, &core).map_err(to_napi)?)
        };
        let programs = record
            .count_filters
            .iter()
            .flatten()
            .map(|expression| compile_filter(expression, MAX_SNAPLEN).and_then(Program::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_napi)?;
        let shared =
            Arc::new(Shared { filters: programs.iter().map(|_| Default::default()).collect(), ..Default::default() });
        let thread = std::thread::Builder::new()
            .name("netring-record".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    if let Err(e) = run(source, writer, &programs, limit, snaplen, &shared) {
                        *shared.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    }
                    shared.done.store(true, Ordering::Release);
                }
            })
            .map_err(|e| napi::Error::from_reason(format!("could not start the recording thread: {e}")))?;
        Ok(NativeRecorder { shared, thread: Some(thread) })
    }

    /// The totals so far; cheap (atomic loads), meant to be called about once a second.
    #[napi]
    pub fn progress(&self) -> RecordProgress {
        let s = &self.shared;
        RecordProgress {
            packets: s.packets.load(Ordering::Relaxed) as f64,
            bytes: s.bytes.load(Ordering::Relaxed) as f64,
            dropped: s.dropped.load(Ordering::Relaxed) as f64,
            received: s.received.load(Ordering::Relaxed) as f64,
            filters: s
                .filters
                .iter()
                .map(|(p, b)| FilterCount {
                    packets: p.load(Ordering::Relaxed) as f64,
                    bytes: b.load(Ordering::Relaxed) as f64,
                })
                .collect(),
            done: s.done.load(Ordering::Acquire),
        }
    }

    /// Stops the thread (within 100 ms plus two block timeouts, after counting what had
    /// arrived), finishes the file and returns the final totals;
    /// throws the error that ended the recording, if one did. Idempotent.
    #[napi]
    pub fn stop(&mut self) -> napi::Result<RecordProgress> {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread catches nothing that could panic in normal use; a panic is reported.
            thread.join().map_err(|_| napi::Error::from_reason("the recording thread panicked"))?;
        }
        if let Some(e) = self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(to_napi(e));
        }
        Ok(self.progress())
    }
}

impl Drop for NativeRecorder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The recording loop: read, count, write; wait in poll() when a live capture is idle.
fn run(
    mut source: Source,
    mut writer: Option<FileWriter>,
    programs: &[Program],
    limit: Option<u64>,
    snaplen: u32,
    shared: &Shared,
) -> Result<(), Error> {
    let mut batch = Batch::default();
    let mut packets = 0u64;
    let mut last_stats = std::time::Instant::now();
    let mut draining = false;
    let result = loop {
        if limit.is_some_and(|l| packets >= l) {
            break Ok(());
        }
        if shared.stop.load(Ordering::Relaxed) {
            if draining {
                break Ok(());
            }
            // Count what had arrived when stop() came: a V3 block in progress is handed
            // over after its timeout, so wait for that once, then read until empty.
            draining = true;
            if let Source::Live(capture) = &source {
                let settle = i32::try_from(capture.block_timeout_ms() * 2 + 5).unwrap_or(i32::MAX);
                if let Err(e) = capture.wait(settle) {
                    break Err(e);
                }
            }
        }
        batch.clear();
        let read = match &mut source {
            Source::Live(capture) => capture.read(&mut batch),
            Source::File(reader, program) => reader.read(&mut batch, FILE_BATCH, snaplen).inspect(|_| {
                if let Some(program) = program {
                    keep_matching(&mut batch, program);
                }
            }),
        };
        let n = match read {
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        if n == 0 {
            if draining {
                break Ok(());
            }
            match &source {
                Source::File(..) => break Ok(()),
                Source::Live(capture) => {
                    if let Err(e) = capture.wait(POLL_MS) {
                        break Err(e);
                    }
                }
            }
        } else {
            // Only the packets up to the limit count; a ring block may hold more.
            let n = batch.len();
            let keep = limit.map_or(n, |l| n.min((l - packets) as usize));
            if keep < n {
                batch.meta.truncate(keep * netring_core::META_STRIDE);
            }
            let bytes: u64 = batch.iter().map(|p| u64::from(p.len)).sum();
            for (program, (count, total)) in programs.iter().zip(&shared.filters) {
                let (n, b) = batch
                    .iter()
                    .filter(|p| program.run(p.data, p.len) != 0)
                    .fold((0, 0), |(n, b), p| (n + 1, b + u64::from(p.len)));
                count.fetch_add(n, Ordering::Relaxed);
                total.fetch_add(b, Ordering::Relaxed);
            }
            if let Some(w) = writer.as_mut() {
                if let Err(e) = w.write(&batch) {
                    break Err(e);
                }
            }
            packets += keep as u64;
            shared.packets.store(packets, Ordering::Relaxed);
            shared.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if last_stats.elapsed().as_millis() >= 1000 {
            last_stats = std::time::Instant::now();
            update_stats(&mut source, shared)?;
        }
    };
    let stats = update_stats(&mut source, shared);
    if let Some(w) = writer {
        w.finish()?;
    }
    result.and(stats)
}

fn update_stats(source: &mut Source, shared: &Shared) -> Result<(), Error> {
    match source {
        Source::Live(capture) => {
            let s = capture.stats()?;
            shared.received.store(s.received, Ordering::Relaxed);
            shared.dropped.store(s.dropped, Ordering::Relaxed);
        }
        Source::File(reader, _) => shared.received.store(reader.packets(), Ordering::Relaxed),
    }
    Ok(())
}

/// Leaves in `batch` only the packets `program` accepts (file packets carry no VLAN tag
/// or interface to lose in the copy).
fn keep_matching(batch: &mut Batch, program: &Program) {
    let mut kept = Batch::default();
    for p in batch.iter().filter(|p| program.run(p.data, p.len) != 0) {
        let info = PacketInfo { len: p.len, sec: p.sec, nsec: p.nsec, ..Default::default() };
        kept.push(&info, p.data, MAX_SNAPLEN);
    }
    *batch = kept;
}
