//! Recording: counting the packets of a live capture or a trace file, optionally writing
//! them to a file and counting the matches of userspace BPF programs, on a thread of its
//! own. [`Recorder::start`] spawns it, [`Recorder::progress`] reads the running totals
//! (atomic loads), [`Recorder::stop`] ends it and returns the final totals or the error
//! that ended it.
//!
//! Knows captures, files and programs; not who drives it (the binding's `NativeRecorder`
//! is a thin shell over this).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::abi::MAX_SNAPLEN;
use crate::batch::{Batch, META_STRIDE};
use crate::bpf::{compile, Filter, Program};
use crate::capture::Capture;
use crate::error::{Error, Result};
use crate::file::{CaptureTotals, FileReader, FileWriter};
use crate::frame::PacketInfo;
use crate::linktype::LINKTYPE_ETHERNET;

/// Packets per batch read from a file.
pub const FILE_BATCH: usize = 1024;
/// How long the recording thread sleeps in poll() before looking at the stop flag, ms.
const POLL_MS: i32 = 100;
/// How often the kernel's counters (PACKET_STATISTICS) are read, ms.
const STATS_MS: u128 = 1000;

/// Where a recording reads packets from.
#[derive(Debug)]
pub enum RecordSource {
    /// A live capture; its own filter (if any) is attached in the kernel.
    Live(Capture),
    /// A trace file, and a filter run in userspace on each packet (there is no socket to
    /// attach it to): packets it rejects are neither counted nor written.
    File(FileReader, Option<Program>),
}

impl RecordSource {
    /// A file source: opens `path` (its header is read, so a bad file fails here) and
    /// compiles `filter` to run in userspace on its packets, for the file's link type. The
    /// filter is checked first (an expression compiled for Ethernet, then again for the
    /// file's link type if that is another).
    pub fn file(path: &str, filter: Option<&Filter>) -> Result<RecordSource> {
        let mut program = match filter {
            Some(Filter::Expression(expression)) => Some(Program::compile(expression, LINKTYPE_ETHERNET)?),
            Some(Filter::Program(program)) => Some(Program::new(program.clone())?),
            None => None,
        };
        let reader = FileReader::open(path)?;
        if let Some(Filter::Expression(expression)) = filter {
            if reader.link_type() != LINKTYPE_ETHERNET {
                program = Some(Program::compile(expression, reader.link_type())?);
            }
        }
        Ok(RecordSource::File(reader, program))
    }

    /// The libpcap `LINKTYPE_*` of the packets: the capture's, or the file's.
    pub fn link_type(&self) -> u32 {
        match self {
            RecordSource::Live(capture) => capture.link_type(),
            RecordSource::File(reader, _) => reader.link_type(),
        }
    }

    /// The name of the interface the packets are from: a live capture's, or a file's first
    /// (pcapng `if_name`), if it has one.
    pub fn interface(&self) -> Option<&str> {
        match self {
            RecordSource::Live(capture) => Some(capture.socket().iface()),
            RecordSource::File(reader, _) => reader.interfaces().first().and_then(|i| i.name.as_deref()),
        }
    }
}

impl Program {
    /// A tcpdump expression compiled by libpcap (for whole packets of `link_type`, a
    /// `LINKTYPE_*`) and validated.
    pub fn compile(expression: &str, link_type: u32) -> Result<Program> {
        compile(expression, MAX_SNAPLEN, link_type).and_then(Program::new)
    }
}

/// What a recording does besides counting.
#[derive(Debug, Default)]
pub struct RecordOptions {
    /// Write the packets here (the writer is created before, so its errors come first).
    pub writer: Option<FileWriter>,
    /// Stop after this many packets; `None`: until [`Recorder::stop`] or the end of a file.
    pub limit: Option<u64>,
    /// Programs run on every packet, each with its own count in [`Progress::filters`];
    /// they drop nothing.
    pub count_filters: Vec<Program>,
    /// Bytes kept of each file packet (a live capture has its own snaplen).
    pub snaplen: u32,
    /// Write each batch to the file as soon as it is read (tcpdump's `-U`); otherwise the
    /// writer's buffer goes out when it fills and at least every [`FLUSH_MS`].
    pub packet_buffered: bool,
}

/// The longest a written packet stays in the writer's buffer (tcpdump's 1 s), so that a
/// killed recording loses at most the last second or [`crate::WRITE_BUFFER`] bytes.
pub const FLUSH_MS: u128 = 1000;

/// Matches of one of [`RecordOptions::count_filters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterCount {
    /// Packets the program accepted.
    pub packets: u64,
    /// Wire bytes of those packets.
    pub bytes: u64,
}

/// Running totals of a recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Packets counted (and written, when writing).
    pub packets: u64,
    /// Bytes of those packets on the wire.
    pub bytes: u64,
    /// Kernel drops (PACKET_STATISTICS `tp_drops`), as of the last second; 0 for files.
    pub dropped: u64,
    /// Packets the socket accepted (`tp_packets - tp_drops`), as of the last second;
    /// for files, the packets read.
    pub received: u64,
    /// One entry per counting program, in order.
    pub filters: Vec<FilterCount>,
    /// The thread has ended: the limit was reached, the file ended, [`Recorder::stop`]
    /// was called, or an error happened ([`Recorder::stop`] returns it).
    pub done: bool,
}

#[derive(Debug, Default)]
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

/// A recording on its own thread; stopped (and joined) on drop.
#[derive(Debug)]
pub struct Recorder {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the recording thread ("netring-record"); fails only if it cannot be spawned.
    pub fn start(source: RecordSource, options: RecordOptions) -> io::Result<Recorder> {
        let shared = Arc::new(Shared {
            filters: options.count_filters.iter().map(|_| Default::default()).collect(),
            ..Default::default()
        });
        let thread = std::thread::Builder::new().name("netring-record".into()).spawn({
            let shared = Arc::clone(&shared);
            move || {
                if let Err(e) = run(source, options, &shared) {
                    *shared.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
                shared.done.store(true, Ordering::Release);
            }
        })?;
        Ok(Recorder { shared, thread: Some(thread) })
    }

    /// The totals so far; cheap (atomic loads), meant to be called about once a second.
    pub fn progress(&self) -> Progress {
        let s = &self.shared;
        Progress {
            packets: s.packets.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            received: s.received.load(Ordering::Relaxed),
            filters: s
                .filters
                .iter()
                .map(|(p, b)| FilterCount { packets: p.load(Ordering::Relaxed), bytes: b.load(Ordering::Relaxed) })
                .collect(),
            done: s.done.load(Ordering::Acquire),
        }
    }

    /// Stops the thread (within 100 ms plus two block timeouts, after counting what had
    /// arrived), finishes the file and returns the final totals, or the error that ended
    /// the recording ([`Error::RecorderPanicked`] if the thread panicked). Idempotent.
    pub fn stop(&mut self) -> Result<Progress> {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().map_err(|_| Error::RecorderPanicked)?;
        }
        if let Some(e) = self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        Ok(self.progress())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The recording loop: read, count, write; wait in poll() when a live capture is idle.
fn run(mut source: RecordSource, options: RecordOptions, shared: &Shared) -> Result<()> {
    let RecordOptions { mut writer, limit, count_filters: programs, snaplen, packet_buffered } = options;
    let mut last_flush = Instant::now();
    let mut unflushed = false;
    let mut batch = Batch::default();
    let mut packets = 0u64;
    let mut last_stats = Instant::now();
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
            if let RecordSource::Live(capture) = &source {
                let settle = i32::try_from(capture.block_timeout_ms() * 2 + 5).unwrap_or(i32::MAX);
                if let Err(e) = capture.wait(settle) {
                    break Err(e);
                }
            }
        }
        batch.clear();
        let read = match &mut source {
            RecordSource::Live(capture) => capture.read(&mut batch),
            RecordSource::File(reader, program) => reader.read(&mut batch, FILE_BATCH, snaplen).inspect(|_| {
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
                RecordSource::File(..) => break Ok(()),
                RecordSource::Live(capture) => {
                    if let Err(e) = capture.wait(POLL_MS) {
                        break Err(e);
                    }
                }
            }
        } else {
            // Only the packets up to the limit count; a ring block may hold more.
            let n = batch.len();
            let mut keep = limit.map_or(n, |l| n.min((l - packets) as usize));
            if keep < n {
                batch.meta.truncate(keep * META_STRIDE);
            }
            if let Some(w) = writer.as_mut() {
                match w.write(&batch).and_then(|n| if packet_buffered { w.flush().map(|()| n) } else { Ok(n) }) {
                    // The rotation's last file is done (-G with -W): only what went into
                    // the files counts, and the recording ends.
                    Ok(n) if n < keep => {
                        batch.meta.truncate(n * META_STRIDE);
                        keep = n;
                    }
                    Ok(_) => {}
                    Err(e) => break Err(e),
                }
                unflushed = !packet_buffered;
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
            packets += keep as u64;
            shared.packets.store(packets, Ordering::Relaxed);
            shared.bytes.fetch_add(bytes, Ordering::Relaxed);
            if writer.as_ref().is_some_and(FileWriter::ended) {
                break Ok(());
            }
        }
        if unflushed && last_flush.elapsed().as_millis() >= FLUSH_MS {
            if let Some(w) = writer.as_mut() {
                if let Err(e) = w.flush() {
                    break Err(e);
                }
            }
            unflushed = false;
            last_flush = Instant::now();
        }
        if last_stats.elapsed().as_millis() >= STATS_MS {
            last_stats = Instant::now();
            update_stats(&mut source, shared)?;
        }
    };
    let stats = update_stats(&mut source, shared);
    if let Some(w) = writer {
        let totals = matches!(source, RecordSource::Live(_)).then(|| CaptureTotals {
            received: shared.received.load(Ordering::Relaxed) + shared.dropped.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
        });
        w.finish_with(totals)?;
    }
    result.and(stats)
}

fn update_stats(source: &mut RecordSource, shared: &Shared) -> Result<()> {
    match source {
        RecordSource::Live(capture) => {
            let s = capture.stats()?;
            shared.received.store(s.received, Ordering::Relaxed);
            shared.dropped.store(s.dropped, Ordering::Relaxed);
        }
        RecordSource::File(reader, _) => shared.received.store(reader.packets(), Ordering::Relaxed),
    }
    Ok(())
}

/// Leaves in `batch` only the packets `program` accepts (file packets carry no VLAN tag
/// or interface to lose in the copy).
pub fn keep_matching(batch: &mut Batch, program: &Program) {
    let mut kept = Batch { dissect: batch.dissect, ..Batch::default() };
    for p in batch.iter().filter(|p| program.run(p.data, p.len) != 0) {
        let info = PacketInfo { len: p.len, sec: p.sec, nsec: p.nsec, ..Default::default() };
        kept.push(&info, p.data, MAX_SNAPLEN, p.link_type);
    }
    *batch = kept;
}

/// Recordings from a file source, which need no privileges.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::Instruction;
    use crate::file::FileFormat;

    fn temp(name: &str) -> String {
        let dir = std::env::temp_dir().join(format!("netring-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name).to_str().unwrap().to_owned()
    }

    fn frame(ethertype: u16, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        f
    }

    /// A pcap file of 7 frames: 0x88b5 frames of 60..64 bytes, then two IPv4 of 100.
    fn sample(name: &str) -> String {
        let path = temp(name);
        let mut batch = Batch::default();
        for (i, len) in [60, 61, 62, 63, 64].into_iter().enumerate() {
            batch.push(&PacketInfo { len: len as u32, sec: i as u32, ..Default::default() }, &frame(0x88b5, len), MAX_SNAPLEN, 1);
        }
        for sec in [5, 6] {
            batch.push(&PacketInfo { len: 100, sec, ..Default::default() }, &frame(0x0800, 100), MAX_SNAPLEN, 1);
        }
        let mut w = FileWriter::create(&path, FileFormat::Pcap, 1, None).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(w.finish().unwrap(), 7);
        path
    }

    /// `tcpdump -dd 'ether proto 0x88b5'`.
    fn ether_proto_88b5() -> Vec<Instruction> {
        vec![
            Instruction::new(0x28, 0, 0, 12),
            Instruction::new(0x15, 0, 1, 0x88b5),
            Instruction::new(0x6, 0, 0, 262144),
            Instruction::new(0x6, 0, 0, 0),
        ]
    }

    /// Waits for a file recording to end by itself (the end of the file, the limit or an
    /// error), then stops it: a stop() right away would end it after one more read.
    fn finish(recorder: &mut Recorder) -> Result<Progress> {
        let start = Instant::now();
        while !recorder.progress().done {
            assert!(start.elapsed().as_secs() < 10, "the recording did not end");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        recorder.stop()
    }

    fn options() -> RecordOptions {
        RecordOptions { snaplen: MAX_SNAPLEN, ..Default::default() }
    }

    fn read_back(path: &str) -> Vec<u32> {
        let mut reader = FileReader::open(path).unwrap();
        let mut batch = Batch::default();
        while reader.read(&mut batch, 100, MAX_SNAPLEN).unwrap() > 0 {}
        batch.iter().map(|p| p.len).collect()
    }

    #[test]
    fn records_a_file_to_a_file_until_the_end_with_per_filter_counts() {
        let input = sample("all-in.pcap");
        let output = temp("all-out.pcap");
        let count = Program::new(ether_proto_88b5()).unwrap();
        let mut recorder = Recorder::start(
            RecordSource::file(&input, None).unwrap(),
            RecordOptions {
                writer: Some(FileWriter::create(&output, FileFormat::Pcap, 1, None).unwrap()),
                count_filters: vec![count, Program::new(vec![Instruction::new(0x6, 0, 0, 0)]).unwrap()],
                ..options()
            },
        )
        .unwrap();
        let progress = finish(&mut recorder).unwrap();
        assert_eq!((progress.packets, progress.bytes, progress.received), (7, 60 + 61 + 62 + 63 + 64 + 200, 7));
        assert_eq!(progress.filters, [FilterCount { packets: 5, bytes: 310 }, FilterCount::default()]);
        assert!(progress.done);
        assert_eq!(read_back(&output), [60, 61, 62, 63, 64, 100, 100]);
        assert_eq!(recorder.stop().unwrap(), progress, "stop is idempotent");
    }

    #[test]
    fn the_count_limit_cuts_inside_a_batch() {
        let input = sample("limit-in.pcap");
        let output = temp("limit-out.pcap");
        let mut recorder = Recorder::start(
            RecordSource::file(&input, None).unwrap(),
            RecordOptions {
                writer: Some(FileWriter::create(&output, FileFormat::PcapNg, 1, None).unwrap()),
                limit: Some(3),
                ..options()
            },
        )
        .unwrap();
        let progress = finish(&mut recorder).unwrap();
        assert_eq!((progress.packets, progress.bytes), (3, 60 + 61 + 62));
        assert_eq!(read_back(&output), [60, 61, 62]);
    }

    #[test]
    fn a_file_source_filter_drops_in_userspace() {
        let input = sample("filter-in.pcap");
        let filter = Filter::Program(ether_proto_88b5());
        let mut recorder = Recorder::start(RecordSource::file(&input, Some(&filter)).unwrap(), options()).unwrap();
        let progress = finish(&mut recorder).unwrap();
        assert_eq!((progress.packets, progress.received), (5, 7), "received counts the file's packets");
    }

    #[test]
    fn a_damaged_file_ends_the_recording_with_its_error() {
        let input = sample("damaged-in.pcap");
        let mut bytes = std::fs::read(&input).unwrap();
        // Packet 3's record header (24-byte file header, 16-byte record headers, frames of
        // 60 and 61 bytes before it) claims more bytes than any packet has.
        let incl_len = 24 + 16 + 60 + 16 + 61 + 8;
        bytes[incl_len..incl_len + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        std::fs::write(&input, bytes).unwrap();
        let mut recorder = Recorder::start(RecordSource::file(&input, None).unwrap(), options()).unwrap();
        let err = finish(&mut recorder).unwrap_err();
        assert!(matches!(err, Error::BadFile { packet: 3, .. }), "{err:?}");
        assert_eq!(recorder.progress().packets, 2, "the packets before the damage count");
        assert!(RecordSource::file(&input, Some(&Filter::Program(vec![]))).is_err(), "a bad filter fails first");
    }
}
