//! A network namespace with a veth pair, made for one test and removed after it.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub const A: &str = "nr0";
pub const B: &str = "nr1";

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Why privileged tests cannot run here, if they cannot.
pub fn unprivileged_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (CAP_NET_ADMIN to make namespaces, CAP_NET_RAW to capture)".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("needs the `ip` command (Debian package iproute2)".into());
    }
    None
}

/// Returns the namespace for a privileged test, or `None` when it must be skipped.
///
/// Built without root, these tests are `#[ignore]`d (see `build.rs`), so `cargo test`
/// lists them as ignored with the reason. Should one run anyway without the privileges
/// (`--ignored`, or a build as root run as another user) it says `skipped: …` on stderr
/// and returns; under `CI=true` that is a failure instead.
pub fn netns(test: &str) -> Option<Netns> {
    if let Some(reason) = unprivileged_reason() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: privileged test cannot run under CI: {reason}");
        }
        eprintln!("skipped: {test} {reason}");
        return None;
    }
    Some(Netns::new().expect("create the test namespace"))
}

pub struct Netns {
    pub name: String,
}

impl Netns {
    fn new() -> Result<Self, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!("nrcore-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "add", A, "type", "veth", "peer", "name", B])?;
        for dev in [A, B] {
            // No IPv6 link-local address, so the kernel sends no DAD or router solicitations:
            // the only frames on the pair are the ones a test sends.
            ip(&["-n", &ns.name, "link", "set", dev, "addrgenmode", "none"])?;
            ip(&["-n", &ns.name, "link", "set", dev, "up"])?;
        }
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // A capture socket keeps its namespace alive, so remove the link explicitly first.
        let _ = ip(&["-n", &self.name, "link", "del", A]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// An Ethernet frame from 02:00:00:00:00:02 to 02:00:00:00:00:01, ethertype 0x88b5
/// (local experimental), carrying `seq` then filler up to `len` bytes.
pub fn frame(seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5];
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend((f.len()..len).map(|i| (i as u32 ^ seq) as u8));
    f.truncate(len);
    f
}
