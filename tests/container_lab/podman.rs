//! A private podman for one test run: its own storage and configuration under
//! a temporary folder, and its own network, mount and PID namespaces, made with
//! `unshare`.
//!
//! - Network: every bridge, veth, container address and published port lives
//!   in a namespace the host cannot see (its `lo` is up, it has no route
//!   anywhere else). Image builds, which download Debian packages, run in the
//!   host's network namespace with `--network=host`, as `apt-get` does.
//! - Mounts: podman's overlay mounts, and tmpfs over the few fixed paths that
//!   podman, CNI and runc write to (`/run/netns`, `/var/lib/cni`, ...), stay in
//!   the namespace, so nothing is left on the host's paths.
//! - PIDs: podman, conmon and every container run in a PID namespace whose
//!   first process dies with `unshare` (`--kill-child`), and `unshare` with
//!   the test (parent-death signal): when the test ends, even killed, so does
//!   everything it started.
//! - cgroups (cgroupfs: no systemd here): containers go under a cgroup named
//!   after the test's PID, thawed and removed at the end; the next run removes
//!   a killed run's, with its folder.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Host paths podman, CNI or runc use whatever their configuration says; each
/// is covered by a tmpfs inside the mount namespace. Paths that did not exist
/// are created for that and removed afterwards.
const SHADOWED: [&str; 6] = [
    "/run/netns",
    "/run/runc",
    "/run/containers",
    "/run/libpod",
    "/var/lib/cni",
    "/var/lib/containers",
];

/// The file under the lab's folder that lists the SHADOWED paths a run
/// created.
const CREATED: &str = "created-paths";

/// The name of each run's cgroup, before the test's PID.
const CGROUP_PREFIX: &str = "epdns-container-lab-";

/// Where a command runs: in the lab's network namespace, or in the host's
/// (image builds, which download packages).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Net {
    Lab,
    Host,
}

pub struct Podman {
    /// `unshare`; its forked child is the namespaces' first process.
    unshare: Child,
    /// That child's PID on the host: the target of `nsenter`.
    init: u32,
    /// Storage, runtime state and configuration.
    dir: TempDir,
    /// The cgroup (under every hierarchy) that holds this run's containers.
    cgroup_parent: String,
    /// The paths of SHADOWED that this run created, and the file that lists
    /// them.
    created: Vec<&'static str>,
    marker: PathBuf,
}

impl Podman {
    /// Creates the namespaces and the configuration in a new folder under
    /// `parent`.
    pub fn start(parent: &Path) -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(parent)
            .unwrap_or_else(|e| panic!("temporary folder in {}: {e}", parent.display()));
        let cgroup_parent = format!("/{CGROUP_PREFIX}{}", std::process::id());
        write_config(dir.path());

        let created: Vec<&'static str> = SHADOWED
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        // Written first, so that a run killed before its clean-up still has
        // its paths removed by the next one.
        let marker = parent.join(CREATED);
        fs::write(&marker, created.join("\n"))
            .unwrap_or_else(|e| panic!("write {}: {e}", marker.display()));
        for path in &created {
            fs::create_dir_all(path).unwrap_or_else(|e| panic!("create {path}: {e}"));
        }
        let mounts: String = SHADOWED
            .iter()
            .map(|p| format!("mount -t tmpfs -o mode=0755 tmpfs {p}\n"))
            .collect();
        let script = format!(
            "set -e\n\
             ip link set lo up\n\
             {mounts}\
             mount -t tmpfs -o mode=1777 tmpfs /dev/shm\n\
             echo ready\n\
             # The PID namespace's init: reap what the kernel hands it (conmon\n\
             # double-forks), so no exited process lingers as a zombie.\n\
             while :; do sleep 3600 & wait; done\n"
        );
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; it only sets a flag of the child.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let mut unshare = cmd.spawn().expect("run unshare");
        let mut line = String::new();
        BufReader::new(unshare.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read from the namespace holder");
        if line.trim() != "ready" {
            let _ = unshare.kill();
            let out = unshare
                .wait_with_output()
                .expect("namespace holder's output");
            panic!(
                "could not set up the namespaces (unshare --net --mount --pid): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let children = format!("/proc/{0}/task/{0}/children", unshare.id());
        let init = fs::read_to_string(&children)
            .unwrap_or_else(|e| panic!("read {children}: {e}"))
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unshare {} has no child", unshare.id()));
        Podman {
            unshare,
            init,
            dir,
            cgroup_parent,
            created,
            marker,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `--cgroup-parent` for `podman run` and `podman build`: this run's own
    /// cgroup, removed at the end.
    pub fn cgroup_parent_arg(&self) -> String {
        format!("--cgroup-parent={}", self.cgroup_parent)
    }

    /// `program` inside the namespaces, with this run's podman configuration.
    pub fn command(&self, net: Net, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--target={}", self.init))
            .args(["--mount", "--pid"])
            .args((net == Net::Lab).then_some("--net"))
            .arg(format!(
                "--wd={}",
                std::env::current_dir().unwrap().display()
            ))
            .arg("--")
            .arg(program);
        let d = self.dir();
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", d.join("registries.conf"))
            .env("HOME", d.join("home"))
            .env("EPDNS_ADMIN_TOKEN", super::ADMIN_TOKEN)
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME");
        cmd
    }

    /// Runs `program args` and returns its stdout; panics with its output
    /// when it fails.
    pub fn run(&self, net: Net, program: &str, args: &[&str]) -> String {
        match self.try_run(net, program, args) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Runs `program args`: its stdout, or what went wrong with its output.
    pub fn try_run(&self, net: Net, program: &str, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(net, program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        checked(&format!("{program} {}", args.join(" ")), out)
    }

    /// Runs `f` on a thread that has joined the lab's network namespace: its
    /// sockets reach the ports published on the namespace's 127.0.0.1.
    pub fn in_lab_net<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/proc/{}/ns/net", self.init);
        std::thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: setns on a valid namespace fd; it moves only this thread.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// This run's cgroup in every hierarchy.
    fn cgroups(&self) -> Vec<PathBuf> {
        cgroup_roots(|name| name == self.cgroup_parent.trim_start_matches('/'))
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Containers first, in order (unpause: a frozen container cannot be
        // stopped); then the namespaces' end takes whatever is left, and
        // removing the folder removes images, volumes and networks with the
        // storage.
        let _ = self.try_run(Net::Lab, "podman", &["unpause", "--all"]);
        let _ = self.try_run(Net::Lab, "podman", &["rm", "--all", "--force", "--time=0"]);
        let _ = self.unshare.kill();
        // A process frozen by `podman pause` cannot die, and the PID
        // namespace's end waits for it: thaw whatever podman could not.
        let groups = self.cgroups();
        groups.iter().for_each(|g| thaw_tree(g));
        let _ = self.unshare.wait();
        groups.iter().for_each(|g| remove_empty_tree(g));
        for path in &self.created {
            let _ = fs::remove_dir(path);
        }
        let _ = fs::remove_file(&self.marker);
        // Then the TempDir field goes, with the storage in it.
    }
}

/// Removes what earlier runs left when they were killed before their
/// clean-up: their folders under `parent`, the host paths they created and
/// their cgroups (thawed first, so that their processes can end). The caller
/// holds the lab's lock, so none of them is running.
pub fn remove_stale_runs(parent: &Path) {
    let marker = parent.join(CREATED);
    if let Ok(list) = fs::read_to_string(&marker) {
        for path in list.lines().filter(|p| SHADOWED.contains(p)) {
            let _ = fs::remove_dir(path);
        }
        let _ = fs::remove_file(&marker);
    }
    if let Ok(entries) = fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("run-") {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let groups = cgroup_roots(|name| name.starts_with(CGROUP_PREFIX));
    if !groups.is_empty() {
        groups.iter().for_each(|g| thaw_tree(g));
        // Killed processes end once thawed; give them a few seconds.
        let deadline = Instant::now() + Duration::from_secs(10);
        while groups.iter().any(|g| has_processes(g)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        groups.iter().for_each(|g| remove_empty_tree(g));
    }
}

/// The top-level cgroups, in every hierarchy, whose name passes `keep`.
fn cgroup_roots(keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(hierarchies) = fs::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    for h in hierarchies.flatten() {
        let Ok(groups) = fs::read_dir(h.path()) else {
            continue;
        };
        for g in groups.flatten() {
            let is_dir = g.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && keep(&g.file_name().to_string_lossy()) {
                found.push(g.path());
            }
        }
    }
    found
}

/// Unfreezes `dir` and the cgroups under it (v1 freezer and v2 alike; the
/// file that does not exist is not written).
fn thaw_tree(dir: &Path) {
    for (file, value) in [("freezer.state", "THAWED"), ("cgroup.freeze", "0")] {
        let path = dir.join(file);
        if path.exists() {
            let _ = fs::write(path, value);
        }
    }
    for sub in subdirs(dir) {
        thaw_tree(&sub);
    }
}

/// Whether `dir` or a cgroup under it holds a process.
fn has_processes(dir: &Path) -> bool {
    let here = fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty());
    here || subdirs(dir).iter().any(|d| has_processes(d))
}

/// Removes `dir` and the cgroups under it, deepest first; a cgroup that still
/// holds a process stays.
fn remove_empty_tree(dir: &Path) {
    for sub in subdirs(dir) {
        remove_empty_tree(&sub);
    }
    let _ = fs::remove_dir(dir);
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|es| {
            es.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// A command's stdout when it succeeded, else its whole output.
pub fn checked(what: &str, out: Output) -> Result<String, String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "`{what}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// containers.conf, storage.conf and registries.conf for this run, all under
/// `dir`: nothing read from or written to the host's podman configuration.
fn write_config(dir: &Path) {
    let d = dir.display();
    for sub in ["home", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let files = [
        (
            "containers.conf",
            format!(
                "[containers]\n\
                 # The VM refuses podman's default rlimits.\n\
                 default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
                 [engine]\n\
                 # crun 1.8 fails on this cgroup layout.\n\
                 runtime = \"runc\"\n\
                 # No systemd here; the test's own cgroup parent is removed at the end.\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n\
                 tmp_dir = \"{d}/tmp\"\n\
                 image_copy_tmp_dir = \"{d}/tmp\"\n\
                 [network]\n\
                 network_backend = \"cni\"\n\
                 network_config_dir = \"{d}/networks\"\n"
            ),
        ),
        (
            "storage.conf",
            format!(
                "[storage]\n\
                 driver = \"overlay\"\n\
                 graphroot = \"{d}/storage\"\n\
                 runroot = \"{d}/run\"\n"
            ),
        ),
        (
            "registries.conf",
            // No registry: images are built or imported, never pulled.
            "unqualified-search-registries = []\n".to_string(),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}
