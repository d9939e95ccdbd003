//! Tests that need something the machine may lack (a tool, root, IPv6
//! loopback) say so instead of passing quietly: under `CI=true` a missing
//! requirement fails the test with its name; elsewhere the test prints a
//! loud `SKIPPED:` line and returns.

use std::io::Write;
use std::path::Path;
use std::process::Command;

/// `CI=true`: every requirement must be met (`.ci/run` installs the tools).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The running test's name: libtest names each test's thread after it.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string()
}

/// Reports that the running test cannot run because `what` is missing:
/// panics under CI, else prints `SKIPPED: <test>: <what> missing` to stderr.
pub fn skip(what: &str) {
    let test = test_name();
    assert!(
        !in_ci(),
        "{test}: {what} missing, and CI=true requires it (.ci/run installs the tools)"
    );
    // Past libtest's output capture (which takes `eprintln!`), so that the
    // line shows in a passing run.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {what} missing");
}

/// True when `tool` is an executable file in a `PATH` directory.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| is_executable(&dir.join(tool))))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when every tool is on `PATH`; else reports the first missing one
/// (see `skip`) and returns false.
pub fn require_tools(tools: &[&str]) -> bool {
    match tools.iter().find(|t| !on_path(t)) {
        Some(missing) => {
            skip(&format!("`{missing}`"));
            false
        }
        None => true,
    }
}

/// True when this process may create a network namespace (`unshare --net`,
/// which needs root) and configure it with `ip`; else reports what is
/// missing and returns false.
pub fn require_netns() -> bool {
    if !require_tools(&["unshare", "ip"]) {
        return false;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip("root (to create a network namespace)");
        return false;
    }
    match Command::new("unshare").args(["--net", "true"]).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            skip(&format!(
                "a network namespace (`unshare --net true`: {})",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            false
        }
        Err(e) => {
            skip(&format!("a network namespace (`unshare`: {e})"));
            false
        }
    }
}

/// True when `::1` can be bound; else reports it missing.
pub fn require_ipv6_loopback() -> bool {
    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        return true;
    }
    skip("IPv6 loopback (::1)");
    false
}
