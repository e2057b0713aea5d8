//! The native reader of benchmark/study.ts's drain test: opens a TPACKET_V3 ring on an interface, lets it
//! fill until SIGUSR1, then empties it as the recorder behind `netring stats` does (one
//! block copied into a reused batch per read, packets counted) and prints one JSON line:
//! packets, wire bytes, seconds and CPU microseconds spent draining.
//!
//!   drain IFACE BLOCK_COUNT BLOCK_TIMEOUT_MS
use std::time::Instant;

use netring_core::{Batch, Capture, Method, RxOptions};

fn cpu_us() -> u64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Blocks until SIGUSR1 arrives (it is blocked first, so it waits for sigwait).
fn wait_for_sigusr1() {
    // SAFETY: a sigset_t is plain data; the calls get valid pointers to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        eprintln!("ready");
        let mut signal = 0;
        libc::sigwait(&set, &mut signal);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, iface, blocks, timeout] = args.as_slice() else {
        return Err("usage: drain IFACE BLOCK_COUNT BLOCK_TIMEOUT_MS".into());
    };
    let options = RxOptions {
        method: Method::Ring,
        block_count: Some(blocks.parse()?),
        block_timeout_ms: Some(timeout.parse()?),
        ..Default::default()
    };
    let mut capture = Capture::open(iface, &options)?;
    wait_for_sigusr1();
    let target = capture.stats()?.received;
    let (cpu0, start) = (cpu_us(), Instant::now());
    let mut batch = Batch::default();
    let (mut packets, mut bytes) = (0u64, 0u64);
    while packets < target {
        batch.clear();
        if capture.read(&mut batch)? == 0 {
            break; // the ring is empty: every packet the kernel put in it was counted
        }
        for packet in batch.iter() {
            packets += 1;
            bytes += u64::from(packet.len);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_us() - cpu0;
    println!(r#"{{"packets":{packets},"bytes":{bytes},"seconds":{seconds},"cpuUs":{cpu}}}"#);
    Ok(())
}
