//! Tells the privileged integration tests (`tests/*.rs`) whether they can run here.
//!
//! They make network namespaces and veth pairs (CAP_NET_ADMIN) and open packet sockets
//! (CAP_NET_RAW). When this build runs without root and `CI` is not `true`, it sets
//! `--cfg netring_unprivileged`, and each such test carries
//! `#[cfg_attr(netring_unprivileged, ignore = "needs root …")]`: `cargo test` then lists
//! them as ignored, with the reason, instead of passing them silently. Under `CI=true`
//! the cfg is never set, so they run and fail when they cannot.
//! `cargo test -- --ignored` runs them anyway.

use std::fs;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(netring_unprivileged)");
    println!("cargo::rerun-if-env-changed=CI");
    // sudo and su change these, so a build as another user re-decides.
    println!("cargo::rerun-if-env-changed=USER");
    println!("cargo::rerun-if-env-changed=SUDO_UID");
    println!("cargo::rerun-if-changed=build.rs");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && !is_root() {
        println!("cargo::rustc-cfg=netring_unprivileged");
    }
}

/// Whether the effective user id (the second field of `Uid:` in /proc/self/status) is 0.
fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}
