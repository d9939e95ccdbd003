//! Test harness: runs the real `epdns` binary on a free loopback port with a
//! config written by the test, and talks to it with real DNS messages.
#![allow(dead_code)] // each test file uses its own part of the harness

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, Record, RecordType};

pub const SUFFIX: &str = "privatelink.aliyuncs.com";

/// A lab like zones/lab.toml, with IPv6 ENIs in two zones. Its addresses are
/// answer data only: nothing probes them (no `[probe]`).
pub const BASE: &str = r#"
[server]
listen = ["127.0.0.1:5300"]
suffix = "privatelink.aliyuncs.com"
ttl = 60
[server.soa]
ttl = 300
minimum = 30

[[vpc]]
id = "vpc-lab"
region = "cn-hangzhou"
cidrs = ["127.0.0.0/16"]

[[vswitch]]
id = "vsw-h"
vpc = "vpc-lab"
zone = "cn-hangzhou-h"
cidr = "127.0.1.0/24"
ipv6_cidr = "fd00:1::/64"

[[vswitch]]
id = "vsw-i"
vpc = "vpc-lab"
zone = "cn-hangzhou-i"
cidr = "127.0.2.0/24"
ipv6_cidr = "fd00:2::/64"

[[service]]
id = "epsrv-oss"
region = "cn-hangzhou"
zone_affinity = true
dual_stack = true

[[service]]
id = "epsrv-rds"
region = "cn-shanghai"

[[endpoint]]
id = "ep-lab1"
vpc = "vpc-lab"
service = "epsrv-oss"
zones = [ { vswitch = "vsw-h", ip = "127.0.1.10" },
          { vswitch = "vsw-i", ip = "127.0.2.10" } ]

[[endpoint]]
id = "ep-lab6"
vpc = "vpc-lab"
service = "epsrv-oss"
ip_version = "dual-stack"
zones = [ { vswitch = "vsw-h", ip = "127.0.1.11", ipv6 = "fd00:1::11" },
          { vswitch = "vsw-i", ip = "127.0.2.11", ipv6 = "fd00:2::11" } ]

[[endpoint]]
id = "ep-xr1"
vpc = "vpc-lab"
service = "epsrv-rds"
cross_region = true
zones = [ { vswitch = "vsw-h", ip = "127.0.1.20" } ]
"#;

pub struct Server {
    pub addr: SocketAddr,
    pub config: PathBuf,
    /// Where the server's stderr goes when started with `start_logging_to_file`.
    pub log: Option<PathBuf>,
    child: Child,
    _dir: tempfile::TempDir,
}

/// How a test server logs.
#[derive(Clone, Copy, PartialEq)]
enum Log<'a> {
    /// `EPDNS_LOG=warn`, to the test's own stderr.
    Warn,
    /// Into a file, with this `EPDNS_LOG` (`None`: the built-in default).
    ToFile(Option<&'a str>),
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_on("127.0.0.1")
}

/// A port free for both UDP and TCP on `ip` (any 127/8 address).
pub fn free_port_on(ip: &str) -> u16 {
    loop {
        let udp = UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

impl Server {
    /// Starts `epdns serve` on `config` and waits until it answers.
    pub fn start(config: &str) -> Server {
        Self::start_with_args(config, &[])
    }

    pub fn start_with_args(config: &str, extra: &[&str]) -> Server {
        Self::start_full(config, &[], extra)
    }

    /// Starts with `files` (name, content) written beside the config, e.g.
    /// zone files the config names.
    pub fn start_with_files(config: &str, files: &[(&str, &str)]) -> Server {
        Self::start_full(config, files, &[])
    }

    /// Starts with stderr written to `Server::log`; `filter` is `EPDNS_LOG`,
    /// `None` for the filter a user gets by default.
    pub fn start_logging_to_file(config: &str, filter: Option<&str>) -> Server {
        Self::start_logging(config, &[], &[], Log::ToFile(filter))
    }

    fn start_full(config: &str, files: &[(&str, &str)], extra: &[&str]) -> Server {
        Self::start_logging(config, files, extra, Log::Warn)
    }

    fn start_logging(config: &str, files: &[(&str, &str)], extra: &[&str], log: Log) -> Server {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let path = dir.path().join("epdns.toml");
        std::fs::write(&path, config).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_epdns"));
        cmd.args(["serve", "--config"])
            .arg(&path)
            .args(["--listen", &addr.to_string(), "--udp-threads", "1"])
            .args(extra)
            .stdin(Stdio::null());
        let log = match log {
            Log::Warn => {
                cmd.env("EPDNS_LOG", "warn");
                None
            }
            Log::ToFile(filter) => {
                let file = dir.path().join("stderr.log");
                match filter {
                    Some(f) => cmd.env("EPDNS_LOG", f),
                    None => cmd.env_remove("EPDNS_LOG"),
                };
                cmd.stderr(std::fs::File::create(&file).unwrap());
                Some(file)
            }
        };
        let child = cmd.spawn().expect("start epdns");
        let server = Server {
            addr,
            config: path,
            log,
            child,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let probe = query_msg(&format!("{SUFFIX}."), RecordType::SOA)
            .to_vec()
            .unwrap();
        while Instant::now() < deadline {
            let from = "127.0.0.1".parse().unwrap();
            if udp_exchange_from(self.addr, from, &probe, Duration::from_millis(200)).is_some() {
                return;
            }
        }
        panic!("epdns did not answer on {} within 10 s", self.addr);
    }

    /// Rewrites the config file and sends SIGHUP.
    pub fn reload(&self, config: &str) {
        std::fs::write(&self.config, config).unwrap();
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
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

    /// Queries over one TCP connection, sent all at once (pipelined, RFC 7766
    /// §6.2.1.1); answers in order.
    pub fn tcp(&self, msgs: &[Message]) -> Vec<Message> {
        let mut s = TcpStream::connect(self.addr).unwrap();
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
}

/// One UDP query to `server` from `src`; panics without an answer.
pub fn udp_query(server: SocketAddr, src: IpAddr, msg: &Message) -> Message {
    let packet = msg.to_vec().unwrap();
    let bytes =
        udp_exchange_from(server, src, &packet, Duration::from_secs(2)).expect("no UDP answer");
    let reply = Message::from_vec(&bytes).expect("answer decodes");
    assert_eq!(reply.metadata.id, msg.metadata.id, "ID echoed");
    reply
}

pub fn udp_exchange_from(
    server: SocketAddr,
    src: IpAddr,
    packet: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(SocketAddr::new(src, 0)).unwrap();
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(packet, server).unwrap();
    let mut buf = vec![0u8; 65535];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// A standard query with RD set and no EDNS.
pub fn query_msg(name: &str, qtype: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Query;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
    m
}

/// The same with EDNS(0) advertising `payload`.
pub fn edns_query(name: &str, qtype: RecordType, payload: u16) -> Message {
    let mut m = query_msg(name, qtype);
    let mut e = Edns::new();
    e.set_max_payload(payload);
    m.set_edns(e);
    m
}

/// The same with an ECS option for `subnet` (e.g. "127.0.1.0/24").
pub fn ecs_query(name: &str, qtype: RecordType, subnet: &str) -> Message {
    let mut m = edns_query(name, qtype, 1232);
    let net = ipnet::IpNet::from_str(subnet).unwrap();
    m.edns
        .as_mut()
        .unwrap()
        .options_mut()
        .insert(EdnsOption::Subnet(ClientSubnet::from(net)));
    m
}

pub fn ecs_of(m: &Message) -> Option<ClientSubnet> {
    match m.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some(*s),
        _ => None,
    }
}

pub fn endpoint(ep: &str) -> String {
    format!("{ep}.epsrv-oss.cn-hangzhou.{SUFFIX}.")
}

pub fn zone_domain(ep: &str, zone: &str) -> String {
    format!("{ep}-{zone}.epsrv-oss.cn-hangzhou.{SUFFIX}.")
}

/// The answer section's addresses, as text, sorted.
pub fn addrs(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

pub fn assert_rcode(m: &Message, rcode: ResponseCode) {
    assert_eq!(m.metadata.response_code, rcode, "rcode of {m:?}");
}

/// NXDOMAIN/NODATA shape (RFC 2308): no answer, the zone's SOA in the
/// authority section with TTL = min(SOA TTL, SOA minimum).
pub fn assert_negative(m: &Message, rcode: ResponseCode, negative_ttl: u32) {
    assert_rcode(m, rcode);
    assert!(m.metadata.authoritative, "AA on negative answer");
    assert!(m.answers.is_empty(), "no answers: {:?}", m.answers);
    assert_eq!(m.authorities.len(), 1, "one SOA in authority");
    let soa: &Record = &m.authorities[0];
    assert_eq!(soa.record_type(), RecordType::SOA);
    assert_eq!(soa.name, Name::from_str(&format!("{SUFFIX}.")).unwrap());
    assert_eq!(soa.ttl, negative_ttl);
}

/// A fake ENI: a TCP listener on `addr` that accepts and closes connections
/// until stopped; then connects are refused, as with a dead service.
pub struct FakeEni {
    pub addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeEni {
    pub fn start(addr: SocketAddr) -> FakeEni {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind(addr).expect("bind fake ENI");
        listener.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => drop(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakeEni {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Closes the listener: connects are refused from now on.
    pub fn stop(mut self) -> SocketAddr {
        self.halt();
        self.addr
    }

    fn halt(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for FakeEni {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A minimal HTTP/1.1 exchange for the admin API: (status, body).
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect admin API");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
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

/// Polls `f` every 10 ms until it returns true; panics after `limit`.
/// Returns how long it took.
pub fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
