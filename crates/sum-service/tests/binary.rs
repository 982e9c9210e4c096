//! The binary's own errors: one line on stderr saying what was being done, and exit code 2.

use std::net::TcpListener;
use std::process::{Command, Output};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sum-service"))
        .args(args)
        .env_remove("PORT")
        .envs(env.iter().copied())
        .output()
        .expect("run sum-service")
}

/// Asserts a failed start: exit code 2 and one line on stderr that begins with `start`.
fn assert_refused(out: &Output, start: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with(start), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_port_in_use_is_one_line_and_exit_code_2() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = taken
        .local_addr()
        .expect("local address")
        .port()
        .to_string();
    let out = run(&["--host", "127.0.0.1", "--port", &port], &[]);
    assert_refused(
        &out,
        &format!("sum-service: listening on 127.0.0.1:{port}: "),
    );
}

#[test]
fn an_address_not_of_this_machine_is_one_line_and_exit_code_2() {
    // 192.0.2.1 is reserved for documentation: no interface here has it, so binding fails at
    // once and nothing is sent anywhere.
    let out = run(&["--host", "192.0.2.1", "--port", "0"], &[]);
    assert_refused(&out, "sum-service: listening on 192.0.2.1:0: ");
}

#[test]
fn an_unreadable_option_is_one_line_and_exit_code_2() {
    for (args, env) in [
        (&["--port", "http"][..], &[][..]),
        (&["--port", "80800"], &[]),
        (&["--bogus"], &[]),
        (&[], &[("PORT", "eighty")]),
    ] {
        let out = run(args, env);
        assert_refused(&out, "sum-service: reading the command line: ");
    }
}

#[test]
fn help_is_not_an_error() {
    let out = run(&["--help"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--port"));
}
