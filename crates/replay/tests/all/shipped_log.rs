//! The log shipped as `examples/traffic.log`, on which the README's worked example runs, is
//! exactly what its generator writes: the example can be remade, and the log and the story told
//! about it cannot drift apart.

#[expect(dead_code, reason = "the generator's `main` is not called here")]
#[path = "../../examples/make_traffic.rs"]
mod make_traffic;

/// The requests in the shipped log: ten minutes at 5 requests a second.
const REQUESTS: u64 = 3_000;

#[test]
fn the_shipped_log_is_what_the_generator_writes() {
    let shipped = include_str!("../../examples/traffic.log");
    let mut written = Vec::new();
    make_traffic::write_log(REQUESTS, &mut written).expect("writing to memory");
    let written = String::from_utf8(written).expect("the generator writes UTF-8");
    assert_eq!(shipped.lines().count(), REQUESTS as usize);
    // Line by line first, so that a difference names its line rather than dumping two logs.
    for (number, (shipped, written)) in shipped.lines().zip(written.lines()).enumerate() {
        assert_eq!(shipped, written, "line {} differs", number + 1);
    }
    assert!(
        shipped == written,
        "the logs differ in their line endings or their end: remake it with \
         `cargo run -p breaker-replay --example make_traffic > crates/replay/examples/traffic.log`"
    );
}
