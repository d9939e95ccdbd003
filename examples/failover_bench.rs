//! Failover / failback latency of the probe loop, end to end over real sockets.
//!
//! ```sh
//! cargo build --release && cargo run --release --example failover_bench -- [--runs 5]
//! ```
//!
//! For each settings profile and each run: three TCP listeners play the ENIs on
//! 127.0.{1,2,3}.10, a fresh `epdns serve` (generated config, TCP probes to their
//! port) answers the endpoint domain, and the bench queries it over UDP every
//! `--poll-ms` (10 ms):
//!
//! 1. steady: `--steady-secs` (10 s) with every ENI up; every answer that lacks
//!    one of them is a false failover;
//! 2. failover (refused): the listener on 127.0.2.10 is closed, so connects are
//!    refused; time from the close to the first answer without 127.0.2.10;
//! 3. failback: the listener is back; time to the first answer with it again;
//! 4. failover (silent): the listener stays open but stops accepting and its
//!    accept queue is full, so Linux drops the SYNs of new connects and the
//!    probes time out instead of being refused (a silent host, without root);
//!    then failback as in 3.
//!
//! Loopback addresses only; every loop is bounded in count and time, and the
//! bench kills the `epdns` it started. The binary is `$EPDNS_BIN`, else
//! `epdns` next to the examples folder (`target/release/epdns`), else
//! `target/release/epdns`; the bench builds nothing.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

const ENIS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(127, 0, 1, 10),
    Ipv4Addr::new(127, 0, 2, 10),
    Ipv4Addr::new(127, 0, 3, 10),
];
/// The ENI that fails (index into `ENIS`).
const VICTIM: usize = 1;
const NAME: &str = "ep-bench.epsrv-bench.cn-hangzhou.privatelink.aliyuncs.com.";
/// Longest wait for a failover or a failback before the run counts it as missed.
const PHASE_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for one UDP answer.
const QUERY_TIMEOUT: Duration = Duration::from_millis(200);
/// Reference medians from the issue, seconds: (name, failover, failback).
const REFERENCES: [(&str, f64, f64); 2] = [
    ("gdnsd 3.8 (fastest)", 1.8, 2.2),
    ("PowerDNS 4.7 LUA ifportup", 0.28, 0.58),
];

#[derive(Clone, Debug)]
struct Profile {
    name: String,
    interval_ms: u64,
    timeout_ms: u64,
    fall: u32,
    rise: u32,
}

impl Profile {
    /// `name=interval/timeout/fall/rise`, e.g. `fastest=10/5/1/1`.
    fn parse(s: &str) -> Result<Self, String> {
        let (name, rest) = s.split_once('=').ok_or("expected name=i/t/f/r")?;
        let v: Vec<u64> = rest
            .split('/')
            .map(|x| x.parse::<u64>().map_err(|e| format!("{x}: {e}")))
            .collect::<Result<_, _>>()?;
        let [interval_ms, timeout_ms, fall, rise] = v[..] else {
            return Err("expected four numbers: interval/timeout/fall/rise".into());
        };
        Ok(Profile {
            name: name.to_string(),
            interval_ms,
            timeout_ms,
            fall: u32::try_from(fall).map_err(|e| e.to_string())?,
            rise: u32::try_from(rise).map_err(|e| e.to_string())?,
        })
    }

    fn settings(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.interval_ms, self.timeout_ms, self.fall, self.rise
        )
    }
}

struct Args {
    runs: usize,
    steady: Duration,
    poll: Duration,
    silent: bool,
    profiles: Vec<Profile>,
}

fn usage() -> ! {
    eprintln!(
        "usage: failover_bench [--runs N] [--steady-secs S] [--poll-ms MS] [--no-silent]\n\
         \x20                     [--profile name=interval/timeout/fall/rise]...\n\
         default profiles: default=100/75/2/2 fastest=10/5/1/1"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        runs: 5,
        steady: Duration::from_secs(10),
        poll: Duration::from_millis(10),
        silent: true,
        profiles: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--runs" => args.runs = val().parse().unwrap_or_else(|_| usage()),
            "--steady-secs" => {
                args.steady = Duration::from_secs_f64(val().parse().unwrap_or_else(|_| usage()))
            }
            "--poll-ms" => {
                args.poll = Duration::from_millis(val().parse().unwrap_or_else(|_| usage()))
            }
            "--no-silent" => args.silent = false,
            "--profile" => args
                .profiles
                .push(Profile::parse(&val()).unwrap_or_else(|e| {
                    eprintln!("--profile: {e}");
                    usage()
                })),
            _ => usage(),
        }
    }
    if args.runs == 0 || args.runs > 50 || args.steady > Duration::from_secs(120) {
        usage();
    }
    if args.profiles.is_empty() {
        args.profiles = vec![
            Profile::parse("default=100/75/2/2").unwrap(),
            Profile::parse("fastest=10/5/1/1").unwrap(),
        ];
    }
    args
}

fn epdns_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("EPDNS_BIN") {
        return p.into();
    }
    // target/release/examples/failover_bench -> target/release/epdns
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent().map(|d| d.join("epdns")))
        && dir.is_file()
    {
        return dir;
    }
    PathBuf::from("target/release/epdns")
}

/// A port free for TCP on every ENI address and for UDP+TCP on 127.0.0.1.
fn free_ports() -> (u16, u16) {
    let free = |ip: Ipv4Addr, port: u16| {
        std::net::TcpListener::bind((ip, port)).is_ok()
            && std::net::UdpSocket::bind((ip, port)).is_ok()
    };
    for _ in 0..100 {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dns = a.local_addr().unwrap().port();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let eni = b.local_addr().unwrap().port();
        drop((a, b));
        if dns != eni && free(Ipv4Addr::LOCALHOST, dns) && ENIS.iter().all(|ip| free(*ip, eni)) {
            return (dns, eni);
        }
    }
    panic!("no free ports on loopback");
}

fn config(dns_port: u16, eni_port: u16, p: &Profile) -> String {
    let mut c = format!(
        r#"[server]
listen = ["127.0.0.1:{dns_port}"]

[probe]
kind = "tcp"
port = {eni_port}
interval_ms = {}
timeout_ms = {}
fall = {}
rise = {}

[[vpc]]
id = "vpc-bench"
region = "cn-hangzhou"
cidrs = ["127.0.0.0/16"]

[[service]]
id = "epsrv-bench"
region = "cn-hangzhou"
"#,
        p.interval_ms, p.timeout_ms, p.fall, p.rise
    );
    for (i, z) in ["h", "i", "j"].iter().enumerate() {
        c += &format!(
            "\n[[vswitch]]\nid = \"vsw-{z}\"\nvpc = \"vpc-bench\"\nzone = \"cn-hangzhou-{z}\"\ncidr = \"127.0.{}.0/24\"\n",
            i + 1
        );
    }
    c += "\n[[endpoint]]\nid = \"ep-bench\"\nvpc = \"vpc-bench\"\nservice = \"epsrv-bench\"\nzones = [";
    for (i, (z, ip)) in ["h", "i", "j"].iter().zip(ENIS).enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        c += &format!("{sep}{{ vswitch = \"vsw-{z}\", ip = \"{ip}\" }}");
    }
    c + "]\n"
}

/// One ENI: a listening socket (kept open across "silent" phases through a
/// duplicate descriptor) and the task that accepts and closes connections.
struct Eni {
    addr: SocketAddr,
    /// Duplicate of the listening socket; `None` while the ENI is closed.
    socket: Option<Socket>,
    accept: Option<JoinHandle<()>>,
    /// Connections that fill the accept queue in the silent phase.
    fillers: Vec<Socket>,
}

impl Eni {
    fn new(addr: SocketAddr) -> Self {
        let mut e = Eni {
            addr,
            socket: None,
            accept: None,
            fillers: Vec::new(),
        };
        e.open();
        e
    }

    fn open(&mut self) {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_reuse_address(true).unwrap();
        s.bind(&self.addr.into())
            .unwrap_or_else(|e| panic!("bind {}: {e}", self.addr));
        s.listen(1024).unwrap();
        self.socket = Some(s);
        self.start_accepting();
    }

    fn start_accepting(&mut self) {
        let dup = self.socket.as_ref().unwrap().try_clone().unwrap();
        dup.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(dup.into()).unwrap();
        self.accept = Some(tokio::spawn(async move {
            // Accept and close at once: a TCP probe only needs the handshake.
            while let Ok((conn, _)) = listener.accept().await {
                drop(conn);
            }
        }));
    }

    async fn stop_accepting(&mut self) {
        if let Some(t) = self.accept.take() {
            t.abort();
            let _ = t.await; // the task's listener descriptor is closed now
        }
    }

    /// Closed: connects are refused.
    async fn close(&mut self) {
        self.stop_accepting().await;
        self.socket = None;
        self.fillers.clear();
    }

    /// Silent: still listening, never accepting, accept queue full, so the
    /// kernel drops new SYNs (Linux: `sk_acceptq_is_full` in
    /// `tcp_conn_request`) and connects time out.
    async fn silence(&mut self) -> Instant {
        self.stop_accepting().await;
        let s = self.socket.as_ref().unwrap();
        s.listen(0).unwrap(); // a listening socket takes a new backlog
        // From here the queue takes at most one more connection (ours, or a
        // probe's), then the kernel drops SYNs. Ours fills it at once; checking
        // that a further connect times out waits for `verify_silent`, so the
        // polling starts now.
        // Non-blocking: if a probe took the slot first, our SYN is dropped and
        // must not hold up the polling.
        let t0 = Instant::now();
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.set_nonblocking(true).unwrap();
        let _ = c.connect(&self.addr.into()); // EINPROGRESS
        self.fillers.push(c);
        t0
    }

    /// True when a connect to the silenced ENI times out.
    fn verify_silent(&self) -> bool {
        TcpStream::connect_timeout(&self.addr, Duration::from_millis(30)).is_err()
    }

    /// Back from silent: normal backlog, accepting again (drains the queue).
    fn unsilence(&mut self) {
        self.socket.as_ref().unwrap().listen(1024).unwrap();
        self.fillers.clear();
        self.start_accepting();
    }
}

/// The DNS client: one UDP socket, one query at a time, IDs checked.
struct Client {
    sock: UdpSocket,
    server: SocketAddr,
    id: u16,
}

#[derive(Debug)]
enum Reply {
    Addrs(Vec<Ipv4Addr>),
    Timeout,
}

impl Client {
    async fn query(&mut self) -> Reply {
        self.id = self.id.wrapping_add(1);
        let mut m = Message::query();
        m.metadata.id = self.id;
        m.metadata.op_code = OpCode::Query;
        m.add_query(Query::query(Name::from_str(NAME).unwrap(), RecordType::A));
        self.sock
            .send_to(&m.to_vec().unwrap(), self.server)
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
        let mut buf = [0u8; 1500];
        loop {
            let got = tokio::time::timeout_at(deadline, self.sock.recv_from(&mut buf)).await;
            let Ok(Ok((n, _))) = got else {
                return Reply::Timeout;
            };
            let Ok(r) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if r.metadata.id != self.id {
                continue; // late answer to an earlier query
            }
            let mut v: Vec<Ipv4Addr> = r
                .answers
                .iter()
                .filter_map(|rr| match &rr.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            v.sort();
            return Reply::Addrs(v);
        }
    }
}

/// Counts over a run.
#[derive(Default, Clone, Copy)]
struct Counts {
    queries: u64,
    steady_queries: u64,
    /// Answers during the steady period lacking an ENI that was up.
    false_steady: u64,
    /// Answers lacking 127.0.1.10 or 127.0.3.10 (always up) in any other phase.
    false_other: u64,
    timeouts: u64,
    /// Answers holding the failed ENI while it was still down, after its failover.
    flaps: u64,
}

/// Polls every `poll` until `done` holds for an answer, up to `limit`; returns
/// the time from `t0` to that answer. Answers missing an always-up ENI count
/// as false failovers.
async fn poll_until(
    client: &mut Client,
    poll: Duration,
    t0: Instant,
    counts: &mut Counts,
    done: impl Fn(&[Ipv4Addr]) -> bool,
) -> Option<Duration> {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while t0.elapsed() < PHASE_LIMIT {
        tick.tick().await;
        counts.queries += 1;
        match client.query().await {
            Reply::Addrs(a) => {
                let at = t0.elapsed();
                if !a.contains(&ENIS[0]) || !a.contains(&ENIS[2]) {
                    counts.false_other += 1;
                }
                if done(&a) {
                    return Some(at);
                }
            }
            Reply::Timeout => counts.timeouts += 1,
        }
    }
    None
}

/// Sleeps a random part of one probe interval, so that the failure does not
/// land at the same phase of the probe rhythm in every run. A plain thread
/// sleep (nanosleep), not a runtime timer: both processes' runtime timers
/// tend to wake on the same ticks.
fn jitter(p: &Profile) {
    let us = rand::random_range(0..p.interval_ms * 1000);
    std::thread::sleep(Duration::from_micros(us));
}

/// After a failover: polls for `3 * interval` and counts answers in which the
/// failed ENI came back (flaps), and missing live ENIs.
async fn hold(client: &mut Client, poll: Duration, p: &Profile, counts: &mut Counts) {
    let t = Instant::now();
    let span = Duration::from_millis(3 * p.interval_ms);
    let mut tick = tokio::time::interval(poll);
    while t.elapsed() < span {
        tick.tick().await;
        counts.queries += 1;
        match client.query().await {
            Reply::Addrs(a) => {
                if a.contains(&ENIS[VICTIM]) {
                    counts.flaps += 1;
                }
                if !a.contains(&ENIS[0]) || !a.contains(&ENIS[2]) {
                    counts.false_other += 1;
                }
            }
            Reply::Timeout => counts.timeouts += 1,
        }
    }
}

#[derive(Default)]
struct RunResult {
    refused_failover: Option<Duration>,
    refused_failback: Option<Duration>,
    silent_failover: Option<Duration>,
    silent_failback: Option<Duration>,
    counts: Counts,
}

struct Epdns(Child);

impl Drop for Epdns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run_once(args: &Args, p: &Profile, bin: &PathBuf) -> RunResult {
    let (dns_port, eni_port) = free_ports();
    let mut enis: Vec<Eni> = ENIS
        .iter()
        .map(|ip| Eni::new(SocketAddr::new((*ip).into(), eni_port)))
        .collect();
    let dir = std::env::temp_dir().join(format!("failover_bench.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("epdns.toml");
    std::fs::write(&cfg, config(dns_port, eni_port, p)).unwrap();
    let server: SocketAddr = ([127, 0, 0, 1], dns_port).into();
    let _epdns = Epdns(
        Command::new(bin)
            .args(["serve", "--config"])
            .arg(&cfg)
            .args(["--listen", &server.to_string(), "--udp-threads", "1"])
            .env("EPDNS_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display())),
    );
    let mut client = Client {
        sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        server,
        id: 0,
    };
    let mut r = RunResult::default();
    let all_up = |a: &[Ipv4Addr]| ENIS.iter().all(|e| a.contains(e));
    let victim_gone = |a: &[Ipv4Addr]| !a.contains(&ENIS[VICTIM]);
    let victim_back = |a: &[Ipv4Addr]| a.contains(&ENIS[VICTIM]);

    // Ready: answers with all three, then one full first round of probes.
    let mut ready = Counts::default();
    let t = Instant::now();
    poll_until(&mut client, args.poll, t, &mut ready, all_up)
        .await
        .expect("epdns answers with every ENI");
    tokio::time::sleep(Duration::from_millis(p.interval_ms + p.timeout_ms + 100)).await;

    // Steady: every answer must hold all three.
    let mut tick = tokio::time::interval(args.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let t = Instant::now();
    while t.elapsed() < args.steady {
        tick.tick().await;
        r.counts.queries += 1;
        r.counts.steady_queries += 1;
        match client.query().await {
            Reply::Addrs(a) if all_up(&a) => {}
            Reply::Addrs(_) => r.counts.false_steady += 1,
            Reply::Timeout => r.counts.timeouts += 1,
        }
    }

    // Refused.
    jitter(p);
    let t0 = Instant::now();
    enis[VICTIM].close().await;
    r.refused_failover = poll_until(&mut client, args.poll, t0, &mut r.counts, victim_gone).await;
    hold(&mut client, args.poll, p, &mut r.counts).await;
    jitter(p);
    let t0 = Instant::now();
    enis[VICTIM].open();
    r.refused_failback = poll_until(&mut client, args.poll, t0, &mut r.counts, victim_back).await;

    if args.silent {
        // Settle so the victim's rise streak is complete and its state is Up.
        let settle = Duration::from_millis(500 + 2 * p.interval_ms);
        let t = Instant::now();
        poll_until(&mut client, args.poll, t, &mut r.counts, |_| {
            t.elapsed() >= settle
        })
        .await;
        jitter(p);
        let t0 = enis[VICTIM].silence().await;
        r.silent_failover =
            poll_until(&mut client, args.poll, t0, &mut r.counts, victim_gone).await;
        assert!(
            enis[VICTIM].verify_silent(),
            "a connect to the silenced ENI {} did not time out",
            enis[VICTIM].addr
        );
        hold(&mut client, args.poll, p, &mut r.counts).await;
        jitter(p);
        let t0 = Instant::now();
        enis[VICTIM].unsilence();
        r.silent_failback =
            poll_until(&mut client, args.poll, t0, &mut r.counts, victim_back).await;
    }
    for e in &mut enis {
        e.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// min / median / max in ms, or "missed N" when some run never saw it.
fn stats(v: &[Option<Duration>]) -> (String, Option<f64>) {
    let mut ms: Vec<f64> = v.iter().flatten().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return ("missed".into(), None);
    }
    let med = if ms.len() % 2 == 1 {
        ms[ms.len() / 2]
    } else {
        (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0
    };
    let missed = v.len() - ms.len();
    let tail = if missed > 0 {
        format!(" ({missed} missed)")
    } else {
        String::new()
    };
    (
        format!("{:.0} / {:.0} / {:.0}{tail}", ms[0], med, ms[ms.len() - 1]),
        Some(med),
    )
}

fn ratio(reference_s: f64, ours_ms: Option<f64>) -> String {
    match ours_ms {
        Some(m) if m > 0.0 => format!("{:.1}x", reference_s * 1e3 / m),
        _ => "-".into(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    let bin = epdns_bin();
    if !bin.is_file() {
        eprintln!(
            "{} not found: run `cargo build --release` first, or set EPDNS_BIN",
            bin.display()
        );
        std::process::exit(1);
    }
    let started = Instant::now();
    let mut rows = Vec::new();
    for p in &args.profiles {
        let mut results = Vec::new();
        for i in 0..args.runs {
            let r = run_once(&args, p, &bin).await;
            let ms = |d: Option<Duration>| {
                d.map_or("missed".into(), |d| format!("{:.0}", d.as_secs_f64() * 1e3))
            };
            eprintln!(
                "{} run {}: refused failover {} ms, failback {} ms; silent failover {} ms, failback {} ms; \
                 queries {}, false steady {}, false other {}, flaps {}, timeouts {}",
                p.name,
                i + 1,
                ms(r.refused_failover),
                ms(r.refused_failback),
                ms(r.silent_failover),
                ms(r.silent_failback),
                r.counts.queries,
                r.counts.false_steady,
                r.counts.false_other,
                r.counts.flaps,
                r.counts.timeouts
            );
            results.push(r);
        }
        rows.push((p.clone(), results));
    }

    println!(
        "\nUDP poll every {} ms (figures are quantised to about that); {} runs per profile; \
         steady period {:.0} s per run; settings = interval_ms/timeout_ms/fall/rise.\n",
        args.poll.as_millis(),
        args.runs,
        args.steady.as_secs_f64()
    );
    println!(
        "| profile | settings | ENI failure | failover ms min / median / max | failback ms min / median / max \
         | false failovers (steady / other) | steady queries | flaps | timeouts \
         | vs gdnsd failover | vs gdnsd failback | vs PowerDNS failover | vs PowerDNS failback |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (p, results) in &rows {
        let c = results.iter().fold(Counts::default(), |a, r| Counts {
            queries: a.queries + r.counts.queries,
            steady_queries: a.steady_queries + r.counts.steady_queries,
            false_steady: a.false_steady + r.counts.false_steady,
            false_other: a.false_other + r.counts.false_other,
            timeouts: a.timeouts + r.counts.timeouts,
            flaps: a.flaps + r.counts.flaps,
        });
        let mut kinds = vec![(
            "refused",
            results
                .iter()
                .map(|r| r.refused_failover)
                .collect::<Vec<_>>(),
            results
                .iter()
                .map(|r| r.refused_failback)
                .collect::<Vec<_>>(),
        )];
        if args.silent {
            kinds.push((
                "silent",
                results.iter().map(|r| r.silent_failover).collect(),
                results.iter().map(|r| r.silent_failback).collect(),
            ));
        }
        for (kind, fo, fb) in kinds {
            let (fo_s, fo_med) = stats(&fo);
            let (fb_s, fb_med) = stats(&fb);
            println!(
                "| {} | {} | {kind} | {fo_s} | {fb_s} | {} / {} | {} | {} | {} | {} | {} | {} | {} |",
                p.name,
                p.settings(),
                c.false_steady,
                c.false_other,
                c.steady_queries,
                c.flaps,
                c.timeouts,
                ratio(REFERENCES[0].1, fo_med),
                ratio(REFERENCES[0].2, fb_med),
                ratio(REFERENCES[1].1, fo_med),
                ratio(REFERENCES[1].2, fb_med),
            );
        }
    }
    println!(
        "\nRatios: reference median / our median (higher = epdns faster). References from the issue: \
         {} {:.2} s failover / {:.2} s failback; {} {:.2} s / {:.2} s.",
        REFERENCES[0].0,
        REFERENCES[0].1,
        REFERENCES[0].2,
        REFERENCES[1].0,
        REFERENCES[1].1,
        REFERENCES[1].2
    );
    println!("Total bench time {:.0} s.", started.elapsed().as_secs_f64());
}
