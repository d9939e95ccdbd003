//! Runs the real `epdns` binary with a config written by the test, on ports
//! the kernel chooses (`127.0.0.1:0`), and waits for its ready file: every
//! listener (DNS, inbound, admin) is open and its address known before a
//! test sends anything.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use super::dns::{query_msg, udp_exchange_from, udp_query};
use super::lab::LabConfig;
use super::wait_until;

/// How long a server may take to become ready, or a reload to be counted: a
/// deadline for a loaded machine, not a speed requirement.
const START_LIMIT: Duration = Duration::from_secs(30);

/// What the server's ready file reports.
#[derive(Debug)]
pub struct Ready {
    /// The listen addresses, in `--listen` order.
    pub dns: Vec<SocketAddr>,
    /// (VPC, bound address) of each inbound listener, in config order.
    pub inbound: Vec<(String, SocketAddr)>,
    pub admin: Option<SocketAddr>,
    /// The control API, when the config enables it.
    pub api: Option<SocketAddr>,
}

impl Ready {
    fn read(path: &Path) -> Option<Ready> {
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("ready file {}: {e}: {text}", path.display()));
        let addr = |v: &serde_json::Value| -> SocketAddr {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("ready file: not an address: {v} in {text}"))
        };
        Some(Ready {
            dns: v["dns"].as_array().unwrap().iter().map(addr).collect(),
            inbound: v["inbound"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["vpc"].as_str().unwrap().to_string(), addr(&i["addr"])))
                .collect(),
            admin: v["admin"].as_str().map(|a| a.parse().unwrap()),
            api: v["api"].as_str().map(|a| a.parse().unwrap()),
        })
    }
}

/// The result of a reload, as the server counted it.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Reload {
    Ok,
    Rejected,
}

pub struct Server {
    /// The first listen address (127.0.0.1).
    pub addr: SocketAddr,
    pub ready: Ready,
    /// Where the server's stderr goes when started with
    /// `start_logging_to_file`.
    pub log: Option<PathBuf>,
    config: Option<PathBuf>,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `epdns serve` on `config` (and its zone files) and waits until
    /// it is ready.
    pub fn start(config: &LabConfig) -> Server {
        Self::start_with_args(config, &[])
    }

    /// The same with more `serve` arguments (e.g. another `--listen`).
    pub fn start_with_args(config: &LabConfig, extra: &[&str]) -> Server {
        Self::launch(Some(config), extra)
    }

    /// The same with `RLIMIT_NOFILE` set to `nofile`, soft and hard (as
    /// `ulimit -n` would), so that the server cannot raise it.
    pub fn start_with_nofile(config: &LabConfig, extra: &[&str], nofile: u64) -> Server {
        let launch = Launch {
            nofile: Some(nofile),
            ..Launch::default()
        };
        Starting::spawn_with(Some(config), extra, launch).wait_ready()
    }

    /// The same with stderr written to `Server::log`; `filter` is
    /// `EPDNS_LOG`, `None` for the filter a user gets by default.
    pub fn start_logging_to_file(config: &LabConfig, filter: Option<&str>) -> Server {
        let launch = Launch {
            log_to_file: Some(filter),
            ..Launch::default()
        };
        Starting::spawn_with(Some(config), &[], launch).wait_ready()
    }

    /// `epdns serve` without `--config`: the embedded lab config.
    pub fn start_embedded() -> Server {
        Self::launch(None, &[])
    }

    fn launch(config: Option<&LabConfig>, extra: &[&str]) -> Server {
        Starting::spawn(config, extra).wait_ready()
    }

    /// Sends SIGTERM and waits for the process to exit; returns its status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        signal(&self.child, libc::SIGTERM);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < START_LIMIT,
                "epdns did not stop within {START_LIMIT:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills the server with SIGKILL (no clean stop) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The control API's address.
    pub fn api(&self) -> SocketAddr {
        self.ready
            .api
            .expect("the config enables the control API ([api])")
    }

    /// The ready file's path.
    pub fn ready_file(&self) -> PathBuf {
        self._dir.path().join(READY_FILE)
    }

    /// The admin API's address.
    pub fn admin(&self) -> SocketAddr {
        self.ready
            .admin
            .expect("the harness always opens the admin API")
    }

    /// The bound address of `vpc`'s (first) inbound listener.
    pub fn inbound(&self, vpc: &str) -> SocketAddr {
        self.ready
            .inbound
            .iter()
            .find(|(v, _)| v == vpc)
            .unwrap_or_else(|| panic!("no inbound listener for {vpc}: {:?}", self.ready))
            .1
    }

    /// A counter or gauge from `/metrics`, by its name and labels as
    /// written there (e.g. `epdns_reloads_total{result="ok"}`).
    pub fn metric(&self, name: &str) -> u64 {
        let (code, text) = http(self.admin(), "GET", "/metrics", None);
        assert_eq!(code, 200, "/metrics: {text}");
        text.lines()
            .filter_map(|l| l.rsplit_once(' '))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
    }

    /// Writes `config` (and its zone files), sends SIGHUP and waits until
    /// the server has counted the reload; returns how it ended.
    pub fn reload(&self, config: &LabConfig) -> Reload {
        let path = self.config.clone().expect("a server with a config file");
        self.reload_with(|| write_config(&path, config))
    }

    /// Writes `config` (and its zone files) and sends SIGHUP, without
    /// waiting for the reload to end.
    pub fn reload_in_background(&self, config: &LabConfig) {
        let path = self.config.clone().expect("a server with a config file");
        write_config(&path, config);
        signal(&self.child, libc::SIGHUP);
    }

    /// The same with config text as written (e.g. broken TOML).
    pub fn reload_text(&self, text: &str) -> Reload {
        let path = self.config.clone().expect("a server with a config file");
        self.reload_with(|| std::fs::write(&path, text).unwrap())
    }

    fn reload_with(&self, write: impl FnOnce()) -> Reload {
        let ok = r#"epdns_reloads_total{result="ok"}"#;
        let rejected = r#"epdns_reloads_total{result="rejected"}"#;
        let before = (self.metric(ok), self.metric(rejected));
        write();
        signal(&self.child, libc::SIGHUP);
        let mut after = before;
        wait_until(START_LIMIT, "the reload counted", || {
            after = (self.metric(ok), self.metric(rejected));
            after != before
        });
        match (after.0 - before.0, after.1 - before.1) {
            (1, 0) => Reload::Ok,
            (0, 1) => Reload::Rejected,
            other => panic!("one SIGHUP, reloads counted (ok, rejected): {other:?}"),
        }
    }

    /// UDP query from 127.0.0.1.
    pub fn udp(&self, name: &str, qtype: RecordType) -> Message {
        self.udp_msg(&query_msg(name, qtype))
    }

    pub fn udp_msg(&self, msg: &Message) -> Message {
        self.udp_from("127.0.0.1".parse().unwrap(), msg)
    }

    /// UDP query sent from source address `src` (any 127/8 address works).
    pub fn udp_from(&self, src: IpAddr, msg: &Message) -> Message {
        udp_query(self.addr, src, msg)
    }

    /// Raw bytes over UDP; `None` when the server stays silent.
    pub fn udp_raw(&self, packet: &[u8]) -> Option<Vec<u8>> {
        let from = "127.0.0.1".parse().unwrap();
        udp_exchange_from(self.addr, from, packet, Duration::from_millis(500))
    }

    /// Queries over one TCP connection to the first listen address.
    pub fn tcp(&self, msgs: &[Message]) -> Vec<Message> {
        tcp_query(self.addr, msgs)
    }
}

/// How the harness starts a server process, beyond its arguments.
#[derive(Default, Clone, Copy)]
pub struct Launch<'a> {
    /// `RLIMIT_NOFILE`, soft and hard.
    pub nofile: Option<u64>,
    /// Write stderr to a file with this `EPDNS_LOG` (`None`: the default
    /// filter); without it the server logs at warn to the test's stderr.
    pub log_to_file: Option<Option<&'a str>>,
}

/// A server started and not yet known to be ready.
pub struct Starting {
    config: Option<PathBuf>,
    log: Option<PathBuf>,
    child: Child,
    dir: tempfile::TempDir,
}

impl Starting {
    /// Starts `epdns serve` with `config` (none: the embedded one) on
    /// `127.0.0.1:0`, the admin API on `127.0.0.1:0`, a ready file, and
    /// `extra` arguments.
    pub fn spawn(config: Option<&LabConfig>, extra: &[&str]) -> Starting {
        Self::spawn_with(config, extra, Launch::default())
    }

    /// As `spawn`, with the process set up as `launch` says.
    pub fn spawn_with(config: Option<&LabConfig>, extra: &[&str], launch: Launch) -> Starting {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_epdns"));
        cmd.arg("serve");
        let config = config.map(|c| {
            let path = dir.path().join("epdns.toml");
            write_config(&path, c);
            cmd.arg("--config").arg(&path);
            path
        });
        cmd.args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(["--udp-threads", "1", "--ready-file"])
            .arg(dir.path().join(READY_FILE))
            .args(extra)
            .stdin(Stdio::null());
        let log = match launch.log_to_file {
            None => {
                cmd.env("EPDNS_LOG", "warn");
                None
            }
            Some(filter) => {
                let file = dir.path().join("stderr.log");
                match filter {
                    Some(f) => cmd.env("EPDNS_LOG", f),
                    None => cmd.env_remove("EPDNS_LOG"),
                };
                cmd.stderr(std::fs::File::create(&file).unwrap());
                Some(file)
            }
        };
        if let Some(n) = launch.nofile {
            use std::os::unix::process::CommandExt;
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: setrlimit is async-signal-safe and reads only `lim`,
            // a copy owned by the closure.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let child = cmd.spawn().expect("start epdns");
        Starting {
            config,
            log,
            child,
            dir,
        }
    }

    pub fn ready_file(&self) -> PathBuf {
        self.dir.path().join(READY_FILE)
    }

    /// Sends `sig` to the server.
    pub fn signal(&self, sig: libc::c_int) {
        signal(&self.child, sig);
    }

    /// True once the server catches `sig` (its handler is installed), from
    /// the `SigCgt` mask in /proc/PID/status.
    pub fn catches(&self, sig: libc::c_int) -> bool {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (sig - 1)) != 0)
    }

    /// Waits for the ready file; panics if the server exits first or takes
    /// longer than `START_LIMIT`.
    pub fn wait_ready(mut self) -> Server {
        let file = self.ready_file();
        let start = Instant::now();
        let ready = loop {
            if let Some(ready) = Ready::read(&file) {
                break ready;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("epdns exited ({status}) before it was ready; its log is above");
            }
            assert!(
                start.elapsed() < START_LIMIT,
                "epdns wrote no ready file within {START_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        Server {
            addr: ready.dns[0],
            ready,
            config: self.config,
            log: self.log,
            child: self.child,
            _dir: self.dir,
        }
    }
}

const READY_FILE: &str = "ready.json";

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(
        sent,
        0,
        "signal {sig} to epdns: {}",
        std::io::Error::last_os_error()
    );
}

fn write_config(path: &Path, config: &LabConfig) {
    let dir = path.parent().unwrap();
    for (name, text) in config.files() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(path, config.toml()).unwrap();
}

/// Queries over one TCP connection, sent all at once (pipelined, RFC 7766
/// §6.2.1.1); answers as they come.
pub fn tcp_query(server: SocketAddr, msgs: &[Message]) -> Vec<Message> {
    let mut s = TcpStream::connect(server).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    for m in msgs {
        let b = m.to_vec().unwrap();
        out.extend_from_slice(&(b.len() as u16).to_be_bytes());
        out.extend_from_slice(&b);
    }
    s.write_all(&out).unwrap();
    msgs.iter()
        .map(|_| {
            let mut len = [0u8; 2];
            s.read_exact(&mut len).unwrap();
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut buf).unwrap();
            Message::from_vec(&buf).unwrap()
        })
        .collect()
}

/// A minimal HTTP/1.1 exchange for the admin API: (status, body).
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    http_as(addr, None, method, path, body)
}

/// The same with `Authorization: Bearer <token>` when `token` is given.
pub fn http_as(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect admin API");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = body.unwrap_or("");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
