//! tcpdump's `-C`, `-G` and `-W`: when a recording moves on to a new file, and the names
//! of the files, as tcpdump gives them (its `MakeFilename()` and `strftime()` use).

use std::ffi::CString;
use std::mem;
use std::sync::Once;

use crate::error::{text, OptionName, Problem, Result};
use crate::validate::option_error;

/// When the output moves to a new file. Rotation happens just before a packet is written,
/// so a packet is in exactly one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotate {
    /// `-C`: a new file once the current one holds more than this many bytes; files after
    /// the first are named with a number after the path (1, 2, …).
    pub size: Option<u64>,
    /// `-G`: a new file every this many seconds, named by the path as a `strftime()`
    /// template of the local time it starts.
    pub seconds: Option<u32>,
    /// `-W`: with `size`, at most this many files, reused in turn (a ring; the numbers
    /// are padded to as many digits as this has, and the first file is numbered too);
    /// with `seconds` alone, the recording ends once this many files were made.
    pub files: Option<u32>,
}

impl Rotate {
    /// Checks the rules against each other and against `path`.
    pub fn validate(&self, path: &str) -> Result<()> {
        let problem = |what: &str| Err(option_error(OptionName::Rotate, Problem::Invalid, text![what.to_owned()]));
        if self.size == Some(0) || self.seconds == Some(0) || self.files == Some(0) {
            return problem("rotate: size, seconds and files must be positive");
        }
        if self.files.is_some() && self.size.is_none() && self.seconds.is_none() {
            return problem("rotate: files (-W) needs size (-C) or seconds (-G)");
        }
        if (self.size.is_some() || self.seconds.is_some()) && path == super::STDIO_PATH {
            return problem("rotate: standard output (-) cannot be rotated");
        }
        Ok(())
    }

    /// Whether any rule is set.
    pub fn is_set(&self) -> bool {
        self.size.is_some() || self.seconds.is_some()
    }

    /// Digits of the numbers after the name: those of `files` with `size` (tcpdump's
    /// `WflagChars`), else none.
    fn width(&self) -> usize {
        match (self.size, self.files) {
            (Some(_), Some(files)) => files.to_string().len(),
            _ => 0,
        }
    }

    /// The name of the file numbered `count` within the period that began at `start`
    /// (seconds since the epoch): tcpdump's `MakeFilename()` of the `strftime()` name.
    pub fn name(&self, path: &str, start: i64, count: u64) -> String {
        let base = if self.seconds.is_some() { strftime(path, start) } else { path.to_owned() };
        let width = self.width();
        if count == 0 && width == 0 {
            base
        } else {
            format!("{base}{count:0width$}")
        }
    }

    /// The number of the file after `count` within a period: the next, or with `files`
    /// and `size` the next in the ring.
    pub fn next(&self, count: u64) -> u64 {
        match (self.size, self.files) {
            (Some(_), Some(files)) => (count + 1) % u64::from(files),
            _ => count + 1,
        }
    }
}

/// `template` with the local time `secs` put in, as `strftime(3)` does it; a template
/// that `strftime` cannot fill (or that has a NUL) stays as it is.
fn strftime(template: &str, secs: i64) -> String {
    extern "C" {
        /// POSIX `tzset(3)`, which the `libc` crate does not declare.
        fn tzset();
    }
    static TZ: Once = Once::new();
    // SAFETY: tzset() takes nothing and reads the TZ variable into libc's own state, once,
    // before the first localtime_r (which, unlike localtime, need not call it).
    TZ.call_once(|| unsafe { tzset() });
    let Ok(format) = CString::new(template) else { return template.to_owned() };
    // SAFETY: `tm` is a C struct of integers (and a pointer localtime_r sets), for which
    // all-zero is valid; localtime_r writes only into it.
    let mut tm: libc::tm = unsafe { mem::zeroed() };
    let time = secs as libc::time_t;
    // SAFETY: both pointers are to live locals of the stated types.
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return template.to_owned();
    }
    let mut out = vec![0u8; 4096];
    // SAFETY: strftime writes at most `out.len()` bytes into `out` and reads the
    // NUL-terminated `format` and `tm`, all live for the call.
    let n = unsafe { libc::strftime(out.as_mut_ptr().cast(), out.len(), format.as_ptr(), &tm) };
    if n == 0 && !template.is_empty() {
        return template.to_owned();
    }
    String::from_utf8_lossy(&out[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_tcpdump_makes_them() {
        let size = Rotate { size: Some(1_000_000), ..Rotate::default() };
        assert_eq!([size.name("out.pcap", 0, 0), size.name("out.pcap", 0, 1), size.name("out.pcap", 0, 12)], ["out.pcap", "out.pcap1", "out.pcap12"]);
        assert_eq!(size.next(7), 8);
        let ring = Rotate { files: Some(10), ..size };
        assert_eq!([ring.name("o", 0, 0), ring.name("o", 0, 9)], ["o00", "o09"]);
        assert_eq!(ring.next(9), 0);
        std::env::set_var("TZ", "UTC");
        let time = Rotate { seconds: Some(60), ..Rotate::default() };
        assert_eq!(time.name("dump-%Y%m%d-%H%M%S.pcap", 1_700_000_000, 0), "dump-20231114-221320.pcap");
        assert_eq!(time.name("plain.pcap", 1_700_000_000, 0), "plain.pcap");
        let both = Rotate { seconds: Some(60), size: Some(10), files: None };
        assert_eq!(both.name("%s.pcap", 1_700_000_000, 2), "1700000000.pcap2");
    }

    #[test]
    fn rules_that_do_not_go_together_are_refused() {
        let bad = |r: Rotate, path: &str| r.validate(path).unwrap_err().to_string();
        assert!(bad(Rotate { files: Some(3), ..Rotate::default() }, "x").contains("files (-W) needs size (-C) or seconds (-G)"));
        assert!(bad(Rotate { size: Some(0), ..Rotate::default() }, "x").contains("must be positive"));
        assert!(bad(Rotate { size: Some(5), ..Rotate::default() }, "-").contains("standard output"));
        Rotate { seconds: Some(5), files: Some(2), size: None }.validate("x").unwrap();
    }
}
