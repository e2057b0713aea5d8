//! `NativeFileReader` (a pcap/pcapng file read batch by batch from JavaScript) and
//! `NativeRecorder` (counting, and optionally writing to a file, on a native thread of its
//! own, so that neither JavaScript nor libuv's pool sees a packet). The recording itself
//! is the core's [`netring_core::Recorder`]; this maps its options and totals.

use napi::Env;
use napi_derive::napi;
use napi::Either;
use netring_core::{
    keep_matching, Capture, Error, FileFormat, FileReader, FileWriter, Program, Progress, RecordOptions as CoreRecordOptions, RecordSource,
    Recorder, Rotate, FILE_BATCH, MAX_SNAPLEN,
};

use crate::capture::NativeBatch;
use crate::error::{closed, to_napi, JsError};
use crate::filter::{filter, BpfInstruction};
use crate::options::{integer, method, CaptureOptions};
use crate::pool::BatchPool;

/// Spare batches a file reader keeps for reuse.
const FILE_POOL_SPARES: usize = 16;

/// A pcap or pcapng file read as batches of the same shape as a live capture's.
#[napi]
pub struct NativeFileReader {
    reader: Option<FileReader>,
    /// The filter run on each packet, compiled for the file's link type.
    program: Option<Program>,
    link_type: u32,
    pool: BatchPool,
}

#[napi]
impl NativeFileReader {
    /// Opens `path` and reads its file header; a missing file or a bad header throws, as
    /// does a `filter` that does not compile (for the file's link type).
    #[napi(constructor)]
    pub fn new(path: String, filter: Option<Either<String, Vec<BpfInstruction>>>) -> napi::Result<Self> {
        let filter = filter.as_ref().map(crate::filter::filter).transpose().map_err(to_napi)?;
        let RecordSource::File(reader, program) = RecordSource::file(&path, filter.as_ref()).map_err(to_napi)? else {
            unreachable!("RecordSource::file makes a file source")
        };
        let link_type = reader.link_type();
        Ok(NativeFileReader { reader: Some(reader), program, link_type, pool: BatchPool::new(FILE_POOL_SPARES, (0, FILE_BATCH)) })
    }

    /// Up to 1024 packets (those the filter accepts), `null` at the end of the file. A
    /// damaged record throws (with its packet number and byte offset) after the packets
    /// before it were returned.
    #[napi]
    pub fn read<'env>(&mut self, env: &'env Env) -> napi::Result<Option<NativeBatch<'env>>> {
        let reader = self.reader.as_mut().ok_or_else(closed)?;
        let program = self.program.as_ref();
        NativeBatch::read(env, &self.pool, |batch| loop {
            let read = reader.read(batch, FILE_BATCH, MAX_SNAPLEN)?;
            if let Some(program) = program {
                keep_matching(batch, program);
            }
            // A batch the filter emptied is not the end of the file: read on.
            if read == 0 || !batch.is_empty() {
                return Ok(batch.len());
            }
        })
    }

    /// The file's libpcap `LINKTYPE_*`: the pcap header's, or the first pcapng interface's
    /// (each packet's record carries its own interface's).
    #[napi(getter)]
    pub fn link_type(&self) -> u32 {
        self.link_type
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
    /// Write the packets to this file. It is created (or truncated) only once the capture
    /// is open and every filter compiled, so a typo never touches an existing file; it is
    /// still created before the first packet is read. `-` writes to standard output (a
    /// pipe to `tcpdump -r -` or `wireshark -k -i -`). Default: count only.
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
    /// Write each batch to the file as soon as it is read (tcpdump's `-U`). Default: false,
    /// the written packets go out when 64 KiB are buffered and at least once a second.
    pub packet_buffered: Option<bool>,
    /// Move on to new files as tcpdump's `-C`, `-G` and `-W` do. Default: one file.
    pub rotate: Option<RotateOptions>,
}

/// When a recording moves on to a new file; each packet is in exactly one file.
#[napi(object)]
#[derive(Default)]
pub struct RotateOptions {
    /// A new file once the current one holds more than this many bytes (tcpdump's `-C`
    /// counts in millions of bytes); files after the first get a number after the path:
    /// `out.pcap`, `out.pcap1`, `out.pcap2`, …
    pub size: Option<f64>,
    /// A new file every this many seconds (`-G`); the path is a `strftime()` template of
    /// the local time the file starts (`dump-%H%M%S.pcap`).
    pub seconds: Option<f64>,
    /// With `size`: at most this many files, reused in turn, numbered from 0 with
    /// leading zeros (`-W`, a ring). With `seconds` alone: stop after this many files.
    pub files: Option<f64>,
}

impl RotateOptions {
    fn to_core(&self) -> Result<Rotate, JsError> {
        let size = match self.size {
            None => None,
            Some(v) if v.fract() == 0.0 && (1.0..=9e15).contains(&v) => Some(v as u64),
            Some(v) => return Err(JsError::range(format!("rotate size {v} must be a whole number of bytes from 1"))),
        };
        Ok(Rotate { size, seconds: integer("rotate seconds", self.seconds)?, files: integer("rotate files", self.files)? })
    }
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

/// Counts (and optionally writes) the packets of a capture or a file on a dedicated thread.
#[napi]
pub struct NativeRecorder {
    recorder: Recorder,
}

impl From<Progress> for RecordProgress {
    fn from(p: Progress) -> Self {
        RecordProgress {
            packets: p.packets as f64,
            bytes: p.bytes as f64,
            dropped: p.dropped as f64,
            received: p.received as f64,
            filters: p.filters.iter().map(|f| FilterCount { packets: f.packets as f64, bytes: f.bytes as f64 }).collect(),
            done: p.done,
        }
    }
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
        let rotate = record.rotate.as_ref().map(RotateOptions::to_core).transpose()?.unwrap_or_default();
        if rotate.is_set() || rotate.files.is_some() {
            let Some(path) = &record.write else {
                return Err(JsError::type_error("rotate needs write: it names the files".into()).into());
            };
            rotate.validate(path).map_err(to_napi)?;
        }
        // tcpdump's order: the capture and its filters first, the output file last.
        let source = if scheme == "pcapfile" {
            let filter = options.filter.as_ref().map(filter).transpose().map_err(to_napi)?;
            RecordSource::file(&target, filter.as_ref()).map_err(to_napi)?
        } else {
            let core = options.to_core(method(&scheme).map_err(to_napi)?).map_err(to_napi)?;
            RecordSource::Live(Capture::open(&target, &core).map_err(to_napi)?)
        };
        let count_filters = record
            .count_filters
            .iter()
            .flatten()
            .map(|expression| Program::compile(expression, source.link_type()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_napi)?;
        let writer = match (&record.write, format) {
            (Some(path), Some(format)) => {
                let mut writer = FileWriter::rotating(path, format, source.link_type(), source.interface(), rotate).map_err(to_napi)?;
                // `any`: in pcapng, each interface gets its own named block.
                if let RecordSource::Live(capture) = &source {
                    if capture.socket().cooked() {
                        let socket = std::sync::Arc::clone(capture.socket());
                        writer.name_interfaces(Box::new(move |ifindex| socket.interface_name(ifindex).ok()));
                    }
                }
                Some(writer)
            }
            _ => None,
        };
        let packet_buffered = record.packet_buffered.unwrap_or(false);
        let recorder = Recorder::start(source, CoreRecordOptions { writer, limit, count_filters, snaplen, packet_buffered })
            .map_err(|e| napi::Error::from_reason(format!("could not start the recording thread: {e}")))?;
        Ok(NativeRecorder { recorder })
    }

    /// The totals so far; cheap (atomic loads), meant to be called about once a second.
    #[napi]
    pub fn progress(&self) -> RecordProgress {
        self.recorder.progress().into()
    }

    /// Stops the thread (within 100 ms plus two block timeouts, after counting what had
    /// arrived), finishes the file and returns the final totals;
    /// throws the error that ended the recording, if one did. Idempotent.
    #[napi]
    pub fn stop(&mut self) -> napi::Result<RecordProgress> {
        match self.recorder.stop() {
            Ok(progress) => Ok(progress.into()),
            // The thread catches nothing that could panic in normal use; a panic is reported.
            Err(Error::RecorderPanicked) => Err(napi::Error::from_reason("the recording thread panicked")),
            Err(e) => Err(to_napi(e)),
        }
    }
}
