//! Allocations per call and memory per breaker, counted by a global allocator that tallies every
//! allocation (stats_alloc's instrumented `System`).
//!
//! Not a timing: each path runs the calls of `common/mod.rs` a fixed number of times after a
//! warm-up, and the allocations made meanwhile are divided by that number. Memory per breaker is
//! `size_of` of the handle plus the heap still held right after construction. The results go to
//! stdout and to `target/breaker-bench/alloc.json`, which `scripts/bench-tables.py` reads.

mod common;

use std::alloc::System;
use std::fmt::Write as _;
use std::path::PathBuf;

use breaker_bench::run_ready;
use recloser::AsyncRecloser;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

use common::*;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Calls made before counting: first-use allocations (thread-locals, lazy statics, a peer's
/// epoch registration) are not per-call costs.
const WARM_UP: u64 = 1_000;

/// Calls counted.
const CALLS: u64 = 100_000;

/// Allocations (reallocations included) and bytes allocated per call of `call`.
fn per_call(mut call: impl FnMut() -> bool) -> (f64, f64) {
    for _ in 0..WARM_UP {
        std::hint::black_box(call());
    }
    let region = Region::new(GLOBAL);
    for _ in 0..CALLS {
        std::hint::black_box(call());
    }
    let stats = region.change();
    let allocations = (stats.allocations + stats.reallocations) as f64 / CALLS as f64;
    let bytes = stats.bytes_allocated as f64 / CALLS as f64;
    (allocations, bytes)
}

/// `size_of` the breaker and the heap bytes it still holds once built.
fn footprint<B>(make: impl FnOnce() -> B) -> (usize, isize) {
    let region = Region::new(GLOBAL);
    let breaker = std::hint::black_box(make());
    let stats = region.change();
    let heap =
        stats.bytes_allocated as isize + stats.bytes_reallocated - stats.bytes_deallocated as isize;
    drop(breaker);
    (size_of::<B>(), heap)
}

struct Row {
    path: &'static str,
    krate: &'static str,
    allocations: f64,
    bytes: f64,
}

fn allocations() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut add = |path, krate, (allocations, bytes)| {
        rows.push(Row {
            path,
            krate,
            allocations,
            bytes,
        })
    };
    let t = THRESHOLD;

    // Closed success, async.
    let cb = ours(t);
    add(
        "closed_async",
        "ours",
        per_call(|| run_ready(ours_async(&cb, Ok(7)))),
    );
    let cb = AsyncRecloser::from(recloser(t));
    add(
        "closed_async",
        "recloser",
        per_call(|| run_ready(recloser_async(&cb, Ok(7)))),
    );
    let cb = failsafe(t);
    add(
        "closed_async",
        "failsafe",
        per_call(|| run_ready(failsafe_async(&cb, Ok(7)))),
    );
    let cb = peer(t);
    add(
        "closed_async",
        "breaker_2_0_2",
        per_call(|| run_ready(peer_async(&cb, Ok(7)))),
    );
    let mut svc = tower(t);
    add(
        "closed_async",
        "tower_resilience",
        per_call(|| run_ready(tower_async(&mut svc, Ok(7)))),
    );

    // Closed success and open rejection through `now_or_never`, ours.
    let cb = ours(t);
    add(
        "closed_now_or_never",
        "ours",
        per_call(|| ours_now_or_never(&cb, Ok(7))),
    );
    let cb = ours_open();
    add(
        "open_now_or_never",
        "ours",
        per_call(|| ours_now_or_never(&cb, Ok(7))),
    );

    // Closed success, sync.
    let cb = ours(t);
    add("closed_sync", "ours", per_call(|| ours_sync(&cb, Ok(7))));
    let cb = recloser(t);
    add(
        "closed_sync",
        "recloser",
        per_call(|| recloser_sync(&cb, Ok(7))),
    );
    let cb = failsafe(t);
    add(
        "closed_sync",
        "failsafe",
        per_call(|| failsafe_sync(&cb, Ok(7))),
    );
    let cb = peer(t);
    add(
        "closed_sync",
        "breaker_2_0_2",
        per_call(|| peer_sync(&cb, Ok(7))),
    );

    // Open rejection, async.
    let cb = ours_open();
    add(
        "open_async",
        "ours",
        per_call(|| run_ready(ours_async(&cb, Ok(7)))),
    );
    let cb = AsyncRecloser::from(recloser_open());
    add(
        "open_async",
        "recloser",
        per_call(|| run_ready(recloser_async(&cb, Ok(7)))),
    );
    let cb = failsafe_open();
    add(
        "open_async",
        "failsafe",
        per_call(|| run_ready(failsafe_async(&cb, Ok(7)))),
    );
    let cb = peer_open();
    add(
        "open_async",
        "breaker_2_0_2",
        per_call(|| run_ready(peer_async(&cb, Ok(7)))),
    );
    let mut svc = tower_open();
    add(
        "open_async",
        "tower_resilience",
        per_call(|| run_ready(tower_async(&mut svc, Ok(7)))),
    );

    // Open rejection, sync.
    let cb = ours_open();
    add("open_sync", "ours", per_call(|| ours_sync(&cb, Ok(7))));
    let cb = recloser_open();
    add(
        "open_sync",
        "recloser",
        per_call(|| recloser_sync(&cb, Ok(7))),
    );
    let cb = failsafe_open();
    add(
        "open_sync",
        "failsafe",
        per_call(|| failsafe_sync(&cb, Ok(7))),
    );
    let cb = peer_open();
    add(
        "open_sync",
        "breaker_2_0_2",
        per_call(|| peer_sync(&cb, Ok(7))),
    );

    // A failure (never tripping), async.
    let cb = failing::ours(t);
    add(
        "failure_async",
        "ours",
        per_call(|| run_ready(ours_async(&cb, Err(7)))),
    );
    let cb = AsyncRecloser::from(failing::recloser(t));
    add(
        "failure_async",
        "recloser",
        per_call(|| run_ready(recloser_async(&cb, Err(7)))),
    );
    let cb = failing::failsafe(t);
    add(
        "failure_async",
        "failsafe",
        per_call(|| run_ready(failsafe_async(&cb, Err(7)))),
    );
    let cb = failing::peer(t);
    add(
        "failure_async",
        "breaker_2_0_2",
        per_call(|| run_ready(peer_async(&cb, Err(7)))),
    );
    let mut svc = failing::tower(t);
    add(
        "failure_async",
        "tower_resilience",
        per_call(|| run_ready(tower_async(&mut svc, Err(7)))),
    );

    // A failure (never tripping), sync.
    let cb = failing::ours(t);
    add("failure_sync", "ours", per_call(|| ours_sync(&cb, Err(7))));
    let cb = failing::recloser(t);
    add(
        "failure_sync",
        "recloser",
        per_call(|| recloser_sync(&cb, Err(7))),
    );
    let cb = failing::failsafe(t);
    add(
        "failure_sync",
        "failsafe",
        per_call(|| failsafe_sync(&cb, Err(7))),
    );
    let cb = failing::peer(t);
    add(
        "failure_sync",
        "breaker_2_0_2",
        per_call(|| peer_sync(&cb, Err(7))),
    );

    rows
}

struct Memory {
    krate: &'static str,
    threshold: u32,
    size: usize,
    heap: isize,
}

fn memory() -> Vec<Memory> {
    let mut rows = Vec::new();
    for t in [3, 100, 10_000] {
        let mut add = |krate, (size, heap)| {
            rows.push(Memory {
                krate,
                threshold: t,
                size,
                heap,
            })
        };
        add("ours", footprint(|| ours(t)));
        add("recloser", footprint(|| recloser(t)));
        add("failsafe", footprint(|| failsafe(t)));
        add("breaker_2_0_2", footprint(|| peer(t)));
        add("tower_resilience", footprint(|| tower(t)));
    }
    rows
}

fn main() {
    let allocations = allocations();
    let memory = memory();

    println!("allocations per call ({CALLS} calls after {WARM_UP} to warm up)");
    println!(
        "{:<14} {:<18} {:>8} {:>10}",
        "path", "crate", "allocs", "bytes"
    );
    for r in &allocations {
        println!(
            "{:<14} {:<18} {:>8.3} {:>10.1}",
            r.path, r.krate, r.allocations, r.bytes
        );
    }
    println!();
    println!("memory per breaker (size_of + heap held after construction)");
    println!(
        "{:<18} {:>6} {:>8} {:>8} {:>8}",
        "crate", "T", "size_of", "heap", "total"
    );
    for m in &memory {
        println!(
            "{:<18} {:>6} {:>8} {:>8} {:>8}",
            m.krate,
            m.threshold,
            m.size,
            m.heap,
            m.size as isize + m.heap
        );
    }
    let ours_reported = ours(THRESHOLD).memory_footprint();
    println!("(ours at T = {THRESHOLD} reports memory_footprint() = {ours_reported} bytes)");

    let mut json = String::from("{\n  \"allocations\": [\n");
    for (i, r) in allocations.iter().enumerate() {
        let comma = if i + 1 < allocations.len() { "," } else { "" };
        let _ = writeln!(
            json,
            "    {{\"path\": \"{}\", \"crate\": \"{}\", \"allocations\": {}, \"bytes\": {}}}{comma}",
            r.path, r.krate, r.allocations, r.bytes
        );
    }
    json.push_str("  ],\n  \"memory\": [\n");
    for (i, m) in memory.iter().enumerate() {
        let comma = if i + 1 < memory.len() { "," } else { "" };
        let _ = writeln!(
            json,
            "    {{\"crate\": \"{}\", \"threshold\": {}, \"size_of\": {}, \"heap\": {}}}{comma}",
            m.krate, m.threshold, m.size, m.heap
        );
    }
    let _ = writeln!(
        json,
        "  ],\n  \"ours_memory_footprint\": {ours_reported}\n}}"
    );

    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("breaker-bench");
    let path = dir.join("alloc.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        Ok(()) => println!("written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}
