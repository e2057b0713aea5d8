//! tcpdump expressions compiled by libpcap, which is loaded at run time with dlopen():
//! netring neither links against libpcap nor needs it to load. Only a string filter
//! needs it; raw programs never do.
//!
//! libc's dlopen()/dlsym() rather than the libloading crate: five symbols are looked up
//! once, the library is never unloaded (so there are no lifetimes for libloading to
//! track), and libc is already this crate's only dependency.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};
use super::insn::Instruction;
use crate::linktype::link_type_to_dlt;

/// Environment variable naming the one libpcap file to load instead of [`LIBPCAP_NAMES`]
/// (read once per process). A path that does not exist simulates a system without libpcap.
pub const LIBPCAP_ENV: &str = "NETRING_LIBPCAP";
/// File names tried in turn: Debian's runtime package `libpcap0.8` installs
/// `libpcap.so.0.8`, most other distributions `libpcap.so.1`; `libpcap.so` comes with the
/// development package only.
pub const LIBPCAP_NAMES: [&str; 3] = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
/// `PCAP_NETMASK_UNKNOWN`: `ip broadcast` cannot be used, everything else can.
const PCAP_NETMASK_UNKNOWN: c_uint = 0xffff_ffff;
/// pcap_compile()'s optimize argument: 1, as tcpdump does.
const OPTIMIZE: c_int = 1;

/// libpcap's `struct bpf_program`.
#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    /// `struct bpf_insn`, laid out as [`Instruction`].
    bf_insns: *mut Instruction,
}

type OpenDead = unsafe extern "C" fn(linktype: c_int, snaplen: c_int) -> *mut c_void;
type Compile = unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, c_uint) -> c_int;
type FreeCode = unsafe extern "C" fn(*mut BpfProgram);
type GetErr = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type Close = unsafe extern "C" fn(*mut c_void);

/// The libpcap functions used, from a library that stays loaded for the whole process.
struct Libpcap {
    open_dead: OpenDead,
    compile: Compile,
    freecode: FreeCode,
    geterr: GetErr,
    close: Close,
}

static LIBPCAP: OnceLock<Result<Libpcap, String>> = OnceLock::new();
/// pcap_compile() was not thread-safe before libpcap 1.8; captures opening on several
/// worker threads at once compile one at a time.
static COMPILING: Mutex<()> = Mutex::new(());

fn dlerror() -> String {
    // SAFETY: dlerror() returns NULL or a NUL-terminated string valid until the next
    // dl* call on this thread; it is copied at once.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        return "unknown dlopen error".into();
    }
    // SAFETY: non-null and NUL-terminated (see above).
    unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
}

/// dlopen() of the first of `names` that loads; the handle is never closed.
fn open_library(names: &[String]) -> Result<*mut c_void, String> {
    let mut failures = Vec::new();
    for name in names {
        let Ok(c_name) = CString::new(name.as_str()) else {
            failures.push(format!("{name:?} contains a NUL character"));
            continue;
        };
        // SAFETY: `c_name` is a NUL-terminated path; loading libpcap runs only its
        // (side-effect free) initialisers.
        let handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if !handle.is_null() {
            return Ok(handle);
        }
        failures.push(dlerror());
    }
    Err(failures.join("; "))
}

/// The address of `name` in `handle`, as a function pointer of type `F`.
///
/// # Safety
/// `handle` must be a live dlopen() handle, and `F` a function pointer type matching the
/// C declaration of `name`.
unsafe fn symbol<F: Copy>(handle: *mut c_void, name: &CStr) -> Result<F, String> {
    // SAFETY: the handle is live (caller) and `name` is NUL-terminated.
    let address = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if address.is_null() {
        return Err(format!("the libpcap loaded has no {}: {}", name.to_string_lossy(), dlerror()));
    }
    debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: a non-null symbol address read as the function pointer type the caller
    // vouches for; function and data pointers have the same size on Linux.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&address) })
}

fn load() -> Result<Libpcap, String> {
    let names: Vec<String> = match std::env::var(LIBPCAP_ENV) {
        Ok(path) => vec![path],
        Err(_) => LIBPCAP_NAMES.iter().map(|n| n.to_string()).collect(),
    };
    let handle = open_library(&names)?;
    // SAFETY: `handle` is live and never closed; each type is the C prototype of the
    // function in pcap/pcap.h.
    unsafe {
        Ok(Libpcap {
            open_dead: symbol(handle, c"pcap_open_dead")?,
            compile: symbol(handle, c"pcap_compile")?,
            freecode: symbol(handle, c"pcap_freecode")?,
            geterr: symbol(handle, c"pcap_geterr")?,
            close: symbol(handle, c"pcap_close")?,
        })
    }
}

/// Whether libpcap can be loaded (and so string filters compiled) in this process.
pub fn libpcap_available() -> bool {
    LIBPCAP.get_or_init(load).is_ok()
}

/// Compiles a tcpdump-syntax `expression` with libpcap for frames of `link_type` (a
/// `LINKTYPE_*`: 1 Ethernet, 101 raw IP, 276 Linux cooked v2, …) with optimisation, as
/// `tcpdump -y TYPE -dd` would: accepted packets return `snaplen` bytes.
///
/// Errors: [`Error::NoLibpcap`] when libpcap cannot be loaded, [`Error::Filter`] with
/// libpcap's message when the expression does not compile.
pub fn compile(expression: &str, snaplen: u32, link_type: u32) -> Result<Vec<Instruction>> {
    let pcap = LIBPCAP.get_or_init(load).as_ref().map_err(|reason| Error::NoLibpcap { reason: reason.clone() })?;
    let filter_error = |message: String| Error::Filter { expression: expression.to_owned(), message };
    let c_expression =
        CString::new(expression).map_err(|_| filter_error("the expression contains a NUL character".into()))?;
    let _serial = COMPILING.lock().unwrap_or_else(|e| e.into_inner());
    let dlt = link_type_to_dlt(link_type).min(i32::MAX as u32) as c_int;
    // SAFETY: pcap_open_dead() takes two ints and returns NULL or a handle we close below.
    let handle = unsafe { (pcap.open_dead)(dlt, snaplen.min(i32::MAX as u32) as c_int) };
    if handle.is_null() {
        return Err(filter_error("pcap_open_dead() failed (out of memory)".into()));
    }
    let mut program = BpfProgram { bf_len: 0, bf_insns: std::ptr::null_mut() };
    // SAFETY: `handle` is live; `program` is a writable bpf_program and the expression a
    // NUL-terminated string, both outliving the call.
    let status = unsafe { (pcap.compile)(handle, &mut program, c_expression.as_ptr(), OPTIMIZE, PCAP_NETMASK_UNKNOWN) };
    let result = if status != 0 {
        // SAFETY: pcap_geterr() returns the handle's NUL-terminated error buffer, valid
        // until the handle is closed below; it is copied first.
        let message = unsafe { CStr::from_ptr((pcap.geterr)(handle)) }.to_string_lossy().into_owned();
        Err(filter_error(message))
    } else {
        let instructions = if program.bf_insns.is_null() || program.bf_len == 0 {
            Vec::new()
        } else {
            // SAFETY: on success libpcap sets bf_insns to an array of bf_len bpf_insn,
            // which has Instruction's layout, alive until pcap_freecode() below.
            unsafe { std::slice::from_raw_parts(program.bf_insns, program.bf_len as usize) }.to_vec()
        };
        // SAFETY: `program` was filled by a successful pcap_compile() and is freed once.
        unsafe { (pcap.freecode)(&mut program) };
        Ok(instructions)
    };
    // SAFETY: `handle` came from pcap_open_dead() and is closed once, after its last use.
    unsafe { (pcap.close)(handle) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::UDP_DST_5000;

    /// libpcap is installed by scripts/setup.sh (Debian package libpcap0.8); without it
    /// these tests say so and pass, except under CI.
    fn have_libpcap(test: &str) -> bool {
        if libpcap_available() {
            return true;
        }
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: libpcap is missing under CI (apt-get install libpcap0.8)");
        }
        eprintln!("skipped {test}: libpcap is not installed (apt-get install libpcap0.8)");
        false
    }

    #[test]
    fn compiles_like_tcpdump_dd() {
        if !have_libpcap("compiles_like_tcpdump_dd") {
            return;
        }
        assert_eq!(compile("udp and dst port 5000", 262_144, 1).unwrap(), UDP_DST_5000);
        let short = compile("udp and dst port 5000", 96, 1).unwrap();
        assert_eq!(short[14], Instruction::new(crate::bpf::RET_K, 0, 0, 96));
        // An empty expression accepts everything.
        assert_eq!(compile("", 64, 1).unwrap(), [Instruction::new(crate::bpf::RET_K, 0, 0, 64)]);
    }

    /// `tcpdump -y RAW -dd icmp` and `tcpdump -y LINUX_SLL2 -dd icmp` (tcpdump 4.99.3,
    /// libpcap 1.10.3): LINKTYPE_RAW is 101 in files but DLT_RAW (12) for pcap_open_dead().
    #[test]
    fn compiles_for_the_link_type() {
        if !have_libpcap("compiles_for_the_link_type") {
            return;
        }
        let i = Instruction::new;
        let raw = [
            i(0x30, 0, 0, 0),
            i(0x54, 0, 0, 0xf0),
            i(0x15, 0, 3, 0x40),
            i(0x30, 0, 0, 9),
            i(0x15, 0, 1, 1),
            i(0x6, 0, 0, 0x40000),
            i(0x6, 0, 0, 0),
        ];
        assert_eq!(compile("icmp", 262_144, 101).unwrap(), raw);
        let sll2 =
            [i(0x28, 0, 0, 0), i(0x15, 0, 3, 0x800), i(0x30, 0, 0, 29), i(0x15, 0, 1, 1), i(0x6, 0, 0, 0x40000), i(0x6, 0, 0, 0)];
        assert_eq!(compile("icmp", 262_144, 276).unwrap(), sll2);
        // Ethernet addresses mean nothing on raw IP: libpcap says so.
        let err = compile("ether host 02:00:00:00:00:01", 262_144, 101).unwrap_err();
        assert!(matches!(err, Error::Filter { .. }), "{err:?}");
    }

    #[test]
    fn errors_carry_libpcaps_message() {
        if !have_libpcap("errors_carry_libpcaps_message") {
            return;
        }
        let cases = [
            ("udp prot 5000", "filter \"udp prot 5000\" does not compile: can't parse filter expression: syntax error"),
            ("tcp port 99999", "filter \"tcp port 99999\" does not compile: illegal port number 99999 > 65535"),
        ];
        for (expression, want) in cases {
            let err = compile(expression, 262_144, 1).unwrap_err();
            assert!(matches!(err, Error::Filter { .. }), "{err:?}");
            assert!(err.to_string().starts_with(want), "got {err}, want {want}");
        }
    }
}
