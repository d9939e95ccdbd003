//! The container lab, built and run for real: docker/Dockerfile's two images
//! (the server alone, and the lab's) and docker/compose.yaml under
//! podman-compose, with podman isolated in namespaces this test creates
//! (tests/container_lab/podman.rs): the lab's network, addresses and published
//! ports exist only there. The client container digs the endpoint (three
//! ENIs), an ENI container is paused and leaves the answer, unpaused and comes
//! back.
//!
//! Needs root, podman, podman-compose, runc and debootstrap (Debian 12:
//! `.ci/run` installs them). Without them the test fails when CI is set and
//! prints SKIPPED otherwise. The Debian base image comes from debootstrap and
//! is cached in target/tmp/container-lab/ (a first run downloads it, about
//! two minutes).

mod common;
#[path = "container_lab/podman.rs"]
mod podman;

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use common::{addrs, http, http_as, query_msg, udp_exchange_from, wait_until};
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use podman::{Net, Podman};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const COMPOSE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/compose.yaml");

/// The lab's fixed addresses and names (docker/lab.toml, docker/compose.yaml).
const EPDNS: &str = "172.31.0.53";
const CLIENT: &str = "epdns-lab-client";
const LAB_EPDNS: &str = "epdns-lab-epdns";
const NAME: &str = "ep-lab.epsrv-lab.cn-hangzhou.privatelink.aliyuncs.com";
const ENI_H: &str = "172.31.1.10";
const ENI_I: &str = "172.31.2.10";
const ENI_J: &str = "172.31.3.10";
const PAUSED: &str = "epdns-lab-eni-i";

/// The admin API's token in the containers (`EPDNS_ADMIN_TOKEN`).
const ADMIN_TOKEN: &str = "container-lab-admin-token";

/// The image's default config (docker/epdns.toml) answers this.
const IMAGE_NAME: &str = "ep-lab1.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.";

/// Both configs load, and the compose file claims the ENI addresses and the
/// probe port that the lab config names. Runs everywhere (no containers).
#[test]
fn lab_files_agree() {
    for config in ["docker/lab.toml", "docker/epdns.toml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_epdns"))
            .args(["check", "--config", config])
            .env("EPDNS_ADMIN_TOKEN", ADMIN_TOKEN)
            .current_dir(REPO)
            .output()
            .expect("run epdns check");
        assert!(
            out.status.success(),
            "{config}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let lab: toml::Table = fs::read_to_string(Path::new(REPO).join("docker/lab.toml"))
        .unwrap()
        .parse()
        .expect("docker/lab.toml parses");
    let compose = fs::read_to_string(COMPOSE).unwrap();
    let port = lab["probe"]["port"].as_integer().unwrap();
    let mut enis = Vec::new();
    for zone in lab["endpoint"][0]["zones"].as_array().unwrap() {
        let ip = zone["ip"].as_str().unwrap();
        enis.push(ip.to_string());
        for claim in [format!("{ip}/16"), format!("{ip}:{port}")] {
            assert!(
                compose.contains(&claim),
                "docker/compose.yaml lacks {claim}"
            );
        }
    }
    assert_eq!(enis, [ENI_H, ENI_I, ENI_J], "the addresses this file tests");
    assert!(compose.contains(&format!("{EPDNS}/16")));
}

#[test]
fn compose_lab_fails_over_when_an_eni_container_is_paused() {
    if let Err(why) = prerequisites() {
        if ci() {
            panic!(
                "container lab: {why}. CI must run it: .ci/run installs podman, \
                 podman-compose, runc, buildah and debootstrap, and runs as root"
            );
        }
        eprintln!("SKIPPED: container lab: {why}");
        return;
    }
    let start = Instant::now();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("container-lab");
    fs::create_dir_all(&work).unwrap();
    // One lab at a time on the machine (two would share nothing, but each
    // needs a core and a few hundred MB); a killed run's leftovers go here.
    let _lock = lock(&std::env::temp_dir().join("epdns-container-lab.lock"));
    podman::remove_stale_runs(&work);

    let t = Instant::now();
    let (base, cached) = base_tarball(&work);
    let base_time = t.elapsed();
    stage_binary();

    let podman = Podman::start(&work);
    let host_before = host_addresses();
    let cgroup = podman.cgroup_parent_arg();

    let t = Instant::now();
    podman.run(
        Net::Host,
        "podman",
        &["import", path(&base), "localhost/debian:bookworm-slim"],
    );
    let build_args = format!("--pull=never --network=host {cgroup}");
    let dockerfile = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/Dockerfile");
    let mut build = vec!["build", "-f", dockerfile, "-t", "epdns"];
    build.extend(build_args.split(' '));
    build.push(REPO);
    podman.run(Net::Host, "podman", &build);
    compose(
        &podman,
        Net::Host,
        &[
            &format!("--podman-build-args={build_args}"),
            "build",
            "epdns",
        ],
    );
    let images_time = t.elapsed();

    check_server_image(&podman, &cgroup);

    let t = Instant::now();
    compose(
        &podman,
        Net::Lab,
        &[&format!("--podman-run-args={cgroup}"), "up", "-d"],
    );
    let up_time = t.elapsed();
    let storage_mb = size_mb(podman.dir());
    assert_host_untouched(&host_before);

    let all = [ENI_H, ENI_I, ENI_J];
    let ready = wait_until(Duration::from_secs(90), "lab answers every ENI", || {
        same(&dig(&podman, &[]), &all)
    });
    check_lab_server(&podman);
    let affinity = dig(&podman, &["+subnet=172.31.2.0/24"]);
    assert!(
        same(&affinity, &[ENI_I]),
        "zone affinity (ECS): {affinity:?}"
    );

    podman.run(Net::Lab, "podman", &["pause", PAUSED]);
    let failover = wait_until(Duration::from_secs(30), "paused ENI leaves", || {
        same(&dig(&podman, &[]), &[ENI_H, ENI_J])
    });
    podman.run(Net::Lab, "podman", &["unpause", PAUSED]);
    let failback = wait_until(Duration::from_secs(30), "unpaused ENI returns", || {
        same(&dig(&podman, &[]), &all)
    });
    assert_host_untouched(&host_before);

    let t = Instant::now();
    compose(&podman, Net::Lab, &["down"]);
    let down_time = t.elapsed();
    let t = Instant::now();
    drop(podman);
    let cleanup_time = t.elapsed();
    assert_host_untouched(&host_before);
    assert!(
        fs::read_dir(&work)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("run-")),
        "the run's storage is removed"
    );

    eprintln!(
        "container lab: base image {base_time:.1?} ({}), images {images_time:.1?}, \
         lab up {up_time:.1?}, all ENIs answered {ready:.1?} later, paused ENI left \
         in {failover:.1?}, back in {failback:.1?}, down {down_time:.1?}, clean-up \
         {cleanup_time:.1?}; \
         total {:.1?}; storage {storage_mb} MB",
        if cached { "cached" } else { "debootstrap" },
        start.elapsed()
    );
}

/// The server image alone, as `docker run epdns` runs it: default command and
/// config, a non-root user, DNS and the admin API published on 127.0.0.1.
fn check_server_image(podman: &Podman, cgroup: &str) {
    let name = "epdns-image-check";
    podman.run(
        Net::Lab,
        "podman",
        &[
            "run",
            "-d",
            "--name",
            name,
            cgroup,
            "-p",
            "127.0.0.1:5300:5300/udp",
            "-p",
            "127.0.0.1:5300:5300/tcp",
            "-p",
            "127.0.0.1:8053:8053/tcp",
            "-e",
            "EPDNS_ADMIN_TOKEN",
            "epdns",
        ],
    );
    let uid = podman.run(Net::Lab, "podman", &["exec", name, "id", "-u"]);
    assert_ne!(uid.trim(), "0", "the server image runs as non-root");
    let answer = podman.in_lab_net(|| {
        let server = "127.0.0.1:5300".parse().unwrap();
        let mut reply = None;
        wait_until(Duration::from_secs(20), "server image answers", || {
            reply = published_query(server, IMAGE_NAME);
            reply.is_some()
        });
        addrs(&reply.unwrap())
    });
    assert_eq!(answer, ["127.0.1.10", "127.0.2.10"], "docker/epdns.toml");
    let admin: std::net::SocketAddr = "127.0.0.1:8053".parse().unwrap();
    let (status, _) = podman.in_lab_net(move || http(admin, "GET", "/v1/status", None));
    assert_eq!(status, 401, "the admin API asks for its token");
    let (status, _) =
        podman.in_lab_net(move || http_as(admin, Some(ADMIN_TOKEN), "GET", "/v1/status", None));
    assert_eq!(status, 200, "admin API published on 127.0.0.1:8053");
    podman.run(Net::Lab, "podman", &["rm", "--force", name]);
}

/// The lab's server: dropped to its user with no capabilities after claiming
/// its address, and reachable through the ports published on 127.0.0.1.
fn check_lab_server(podman: &Podman) {
    let status = podman.run(
        Net::Lab,
        "podman",
        &["exec", LAB_EPDNS, "cat", "/proc/1/status"],
    );
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("{key} in /proc/1/status"))
    };
    assert_ne!(field("Uid:"), "0", "the lab's epdns runs as non-root");
    assert_eq!(
        field("CapEff:"),
        "0000000000000000",
        "and without capabilities"
    );

    let name = format!("{NAME}.");
    let answer = podman.in_lab_net(move || {
        published_query("127.0.0.1:5300".parse().unwrap(), &name).map(|m| addrs(&m))
    });
    assert!(
        same(&answer, &[ENI_H, ENI_I, ENI_J]),
        "DNS published on 127.0.0.1:5300: {answer:?}"
    );
    let (status, body) = podman.in_lab_net(|| {
        http_as(
            "127.0.0.1:8053".parse().unwrap(),
            Some(ADMIN_TOKEN),
            "GET",
            "/v1/status",
            None,
        )
    });
    assert_eq!(status, 200, "admin API published on 127.0.0.1:8053");
    assert!(body.contains(ENI_I), "status names the ENIs: {body}");
}

/// Whether an answer (sorted addresses) is exactly `want`.
fn same(answer: &Option<Vec<String>>, want: &[&str]) -> bool {
    answer.as_ref().is_some_and(|a| a == want)
}

/// One A query over UDP to a published port; None without an answer yet.
fn published_query(server: std::net::SocketAddr, name: &str) -> Option<Message> {
    let msg = query_msg(name, RecordType::A);
    let src = std::net::IpAddr::from_str("127.0.0.1").unwrap();
    let bytes = udp_exchange_from(server, src, &msg.to_vec().unwrap(), Duration::from_secs(1))?;
    Message::from_vec(&bytes).ok()
}

/// The endpoint domain's A records as the client container's dig sees them,
/// sorted; None while dig gets no answer.
fn dig(podman: &Podman, extra: &[&str]) -> Option<Vec<String>> {
    let server = format!("@{EPDNS}");
    let mut args = vec!["exec", CLIENT, "dig", "+short", "+time=1", "+tries=1"];
    args.extend(extra);
    args.extend([server.as_str(), "-p", "5300", NAME, "A"]);
    let out = podman.try_run(Net::Lab, "podman", &args).ok()?;
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    Some(v)
}

fn compose(podman: &Podman, net: Net, args: &[&str]) -> String {
    let mut all = vec!["-p", "epdns-lab", "-f", COMPOSE];
    all.extend(args);
    podman.run(net, "podman-compose", &all)
}

/// The host's addresses that a leaking lab would add: bridges, veths and the
/// lab's or podman's subnets, from `ip -o addr` and `ip -o link`.
fn host_addresses() -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for what in ["addr", "link"] {
        let out = Command::new("ip").args(["-o", what]).output().expect("ip");
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if ["cni-", "veth", " 172.31.", " 10.88.", " 10.89."]
                .iter()
                .any(|p| l.contains(p))
            {
                // Drop the counters-free part that changes: keep name and address.
                let key: Vec<&str> = l.split_whitespace().take(4).collect();
                lines.insert(key.join(" "));
            }
        }
    }
    lines
}

fn assert_host_untouched(before: &BTreeSet<String>) {
    let now = host_addresses();
    let new: Vec<&String> = now.difference(before).collect();
    assert!(
        new.is_empty(),
        "the lab's network reached the host's namespace: {new:?}"
    );
}

/// The Debian 12 base as a tar file: cached under `work`, else made with
/// docker/debian-base.sh (debootstrap from apt's mirror). Returns whether it
/// was cached.
fn base_tarball(work: &Path) -> (PathBuf, bool) {
    let cached = work.join("bookworm-minbase.tar");
    if cached.exists() {
        return (cached, true);
    }
    // What a killed run left half-made (the caller holds the lab's lock).
    for e in fs::read_dir(work).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("bookworm-minbase.tar.") {
            let _ = fs::remove_file(e.path());
        } else if name.starts_with("debian-base.") {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    let partial = work.join(format!("bookworm-minbase.tar.{}", std::process::id()));
    let make = || {
        let out = Command::new(Path::new(REPO).join("docker/debian-base.sh"))
            .arg(&partial)
            .env("TMPDIR", work)
            .output()
            .expect("run docker/debian-base.sh");
        podman::checked("docker/debian-base.sh", out)
    };
    // A download can fail; a second failure is the test's.
    if let Err(first) = make() {
        eprintln!("container lab: making the base image failed, trying again:\n{first}");
        if let Err(e) = make() {
            let _ = fs::remove_file(&partial);
            panic!("{e}");
        }
    }
    fs::rename(&partial, &cached).unwrap();
    (cached, false)
}

/// docker/bin/epdns: this test build's binary, as the README's build puts the
/// release binary there. Debug info is most of its size and the image does
/// not need it.
fn stage_binary() {
    let dir = Path::new(REPO).join("docker/bin");
    fs::create_dir_all(&dir).unwrap();
    let dst = dir.join("epdns");
    let exe = env!("CARGO_BIN_EXE_epdns");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&dst)
        .arg(exe)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        fs::copy(exe, &dst).unwrap_or_else(|e| panic!("copy {exe}: {e}"));
    }
}

/// Why the lab cannot run here, if it cannot.
fn prerequisites() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (network, mount and PID namespaces, rootful podman)".into());
    }
    let missing: Vec<&str> = [
        "podman",
        "podman-compose",
        "runc",
        "debootstrap",
        "unshare",
        "nsenter",
        "ip",
        "tar",
    ]
    .into_iter()
    .filter(|tool| !on_path(tool))
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing {}", missing.join(", ")))
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// An exclusive lock on `path`, held until the file is dropped.
fn lock(path: &Path) -> File {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // SAFETY: flock on an open descriptor.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "lock {}", path.display());
    f
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Apparent size of a folder tree in MB (podman's storage).
fn size_mb(dir: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(meta) = fs::symlink_metadata(p) else {
            return 0;
        };
        if !meta.is_dir() {
            return meta.len();
        }
        fs::read_dir(p)
            .map(|es| es.flatten().map(|e| walk(&e.path())).sum())
            .unwrap_or(0)
    }
    walk(dir) / 1_000_000
}
