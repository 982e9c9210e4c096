//! One member of a fleet, driven line by line on stdin, reporting on stdout: the multi-process
//! tests run it, and it shows the whole API in a page.
//!
//! `fleet_member URL NAME WINDOW_MS THRESHOLD`, then lines on stdin:
//! `fail` (a call that fails), `ok` (a call that succeeds), `quit`.
//! It prints `link joined|local_only` when the link changes, `state FROM TO REASON` on each
//! state change, and `call admitted|rejected` for each call asked for.

use std::time::Duration;

use breaker::CircuitBreaker;
use breaker_redis::{Fleet, Link};
use tokio::io::AsyncBufReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, name, window_ms, threshold] = args.as_slice() else {
        return Err("usage: fleet_member URL NAME WINDOW_MS THRESHOLD".into());
    };
    let fleet = Fleet::builder(url.as_str())
        .command_timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .heartbeat(Duration::from_millis(100))
        .backoff(Duration::from_millis(50), Duration::from_millis(400))
        .build(
            CircuitBreaker::builder()
                .name(name.as_str())
                .window(Duration::from_millis(window_ms.parse()?))
                .error_threshold(threshold.parse()?)
                .on_state_change(|c| {
                    println!("state {} {} {}", c.from.as_str(), c.to.as_str(), c.reason)
                }),
        )?;
    let mut link = fleet.link();
    tokio::spawn(async move {
        while link.changed().await.is_ok() {
            let now = *link.borrow_and_update();
            match now {
                Link::Joined => println!("link joined"),
                Link::LocalOnly => println!("link local_only"),
                _ => {}
            }
        }
    });
    let cb = fleet.breaker().clone();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let outcome = match line.trim() {
            "fail" => false,
            "ok" => true,
            "quit" => break,
            other => {
                println!("unknown {other}");
                continue;
            }
        };
        match cb.try_acquire() {
            Ok(permit) => {
                println!("call admitted");
                if outcome {
                    permit.success()
                } else {
                    permit.failure()
                }
            }
            Err(_) => println!("call rejected"),
        }
    }
    Ok(())
}
