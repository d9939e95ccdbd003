//! Tests inside a network namespace of their own (`unshare --net`): only
//! `lo` exists there, so addresses the test adds to it are reachable from
//! the test and from nowhere else. The test binary runs the one test again
//! inside the namespace.

use std::process::Command;

use super::skip::require_netns;

/// Set in the test process that runs inside the namespace.
const INSIDE: &str = "EPDNS_TEST_IN_NETNS";

/// True in the copy of the test that runs inside the namespace.
pub fn inside_netns() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// Runs the current test again inside a new network namespace and checks
/// that it ran and passed there; without a namespace, reports what is
/// missing (see `skip`).
pub fn rerun_in_netns() {
    if !require_netns() {
        return;
    }
    let test = std::thread::current()
        .name()
        .expect("libtest names the test's thread")
        .to_string();
    let output = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .expect("run the test in a namespace");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test} failed inside the namespace:\n{out}\n{err}"
    );
    assert!(
        out.contains("1 passed"),
        "the namespace ran no test:\n{out}\n{err}"
    );
}

/// Runs `ip ARGS` (inside the namespace), panicking when it fails.
pub fn ip(args: &str) {
    let status = Command::new("ip")
        .args(args.split_whitespace())
        .status()
        .expect("run ip");
    assert!(status.success(), "ip {args} failed");
}
