//! Zone transfers to standard secondaries (RFC 5936 AXFR, RFC 1995 IXFR,
//! RFC 1996 NOTIFY, RFC 8945 TSIG): a real Knot and a real NSD, started by
//! the test on their own loopback addresses, are secondaries of epdns for
//! the generated zone and a private zone. They load the zones, follow an
//! ENI's failure and recovery and a private zone's change, and end up
//! serving exactly what epdns transfers. Transfers from a host that is not
//! a secondary, or signed with a wrong key, are refused.
//!
//! Each secondary sends from its own address (Knot `via`, NSD
//! `outgoing-interface`), which is how epdns tells them apart.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

const KEY: &str = "xfr-key";
/// base64 of 32 bytes, as `keymgr -t` makes them.
const SECRET: &str = "ZXBkbnMtdGVzdC10c2lnLXNlY3JldC0zMi1ieXRlcyE=";
const WRONG_SECRET: &str = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=";
const KNOT_IP: &str = "127.0.0.21";
const NSD_IP: &str = "127.0.0.22";
const CORP: &str = "corp.lab";

fn corp_zone(extra: &str) -> String {
    format!(
        "$ORIGIN corp.lab.\n$TTL 300\n\
         @    IN SOA ns hostmaster 1 3600 600 86400 120\n\
         @    IN NS  ns\n\
         ns   IN A   127.0.0.53\n\
         www  IN A   127.0.5.1\n{extra}"
    )
}

/// A port free for both UDP and TCP on `ip`.
fn free_port(ip: &str) -> u16 {
    loop {
        let udp = UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

/// A secondary server process, killed on drop.
struct Secondary {
    name: &'static str,
    addr: SocketAddr,
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Secondary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Secondary {
    /// Knot on `KNOT_IP`:`port`, secondary of `primary` for `zones`.
    ///
    /// `block-notify-after-transfer`: after every transfer that changes a
    /// zone, Knot 3.2 plans its own NOTIFY (to its secondaries, even when it
    /// has none) one second later, with a timer set from the moment of
    /// the transfer while event times are whole seconds. A NOTIFY from
    /// epdns arriving once the clock has reached that second plans the
    /// refresh at the same second, which Knot takes for "nothing earlier"
    /// and leaves the timer alone: the refresh then waits for the planned
    /// NOTIFY, up to a second after the previous transfer. This Knot has no
    /// secondaries of its own, so it does not send NOTIFY at all.
    fn knot(primary: SocketAddr, zones: &[&str], port: u16) -> Secondary {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n  rundir: \"{d}\"\n  listen: {KNOT_IP}@{port}\n\
             log:\n  - target: \"{d}/knot.log\"\n    any: debug\n\
             database:\n  storage: \"{d}\"\n\
             key:\n  - id: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             remote:\n  - id: primary\n    address: {}@{}\n    via: {KNOT_IP}\n    key: {KEY}\n\
             \x20   block-notify-after-transfer: on\n\
             acl:\n  - id: notify\n    address: 127.0.0.0/8\n    key: {KEY}\n    action: notify\n\
             \x20 - id: readers\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n\
             \x20   zonefile-load: none\n    journal-content: none\n\
             zone:\n",
            primary.ip(),
            primary.port()
        );
        for z in zones {
            conf.push_str(&format!(
                "  - domain: {z}\n    master: primary\n    acl: [notify, readers]\n"
            ));
        }
        let path = dir.path().join("knot.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start knotd");
        Secondary {
            name: "knot",
            addr: SocketAddr::new(KNOT_IP.parse().unwrap(), port),
            child,
            log: dir.path().join("knot.log"),
            _dir: dir,
        }
    }

    /// NSD on `NSD_IP`:`port`, secondary of `primary` for `zones`.
    fn nsd(primary: SocketAddr, zones: &[&str], port: u16) -> Secondary {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n  ip-address: {NSD_IP}@{port}\n  port: {port}\n  \
             username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  database: \"\"\n  \
             pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
             zonelistfile: \"{d}/zone.list\"\n  xfrdir: \"{d}\"\n  \
             logfile: \"{d}/nsd.log\"\n  server-count: 1\n  verbosity: 2\n  \
             xfrd-reload-timeout: 0\n  \
             rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n\
             remote-control:\n  control-enable: no\n\
             key:\n  name: \"{KEY}\"\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n"
        );
        for z in zones {
            conf.push_str(&format!(
                "zone:\n  name: \"{z}\"\n  zonefile: \"{z}.zone\"\n  \
                 allow-notify: 127.0.0.0/8 {KEY}\n  \
                 request-xfr: {}@{} {KEY}\n  outgoing-interface: {NSD_IP}\n  \
                 provide-xfr: 127.0.0.1 NOKEY\n",
                primary.ip(),
                primary.port()
            ));
        }
        let path = dir.path().join("nsd.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("nsd")
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nsd");
        Secondary {
            name: "nsd",
            addr: SocketAddr::new(NSD_IP.parse().unwrap(), port),
            child,
            log: dir.path().join("nsd.log"),
            _dir: dir,
        }
    }

    /// Its answer to `name`/`qtype` over UDP, `None` without one.
    fn ask(&mut self, name: &str, qtype: RecordType) -> Option<Message> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.log_text());
        }
        let q = query_msg(name, qtype).to_vec().unwrap();
        let from = "127.0.0.1".parse().unwrap();
        let bytes = udp_exchange_from(self.addr, from, &q, Duration::from_millis(300))?;
        Message::from_vec(&bytes).ok()
    }

    fn serial(&mut self, zone: &str) -> Option<u32> {
        let m = self.ask(&format!("{zone}."), RecordType::SOA)?;
        m.answers.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        })
    }

    /// Whether it answers `name` with exactly the addresses `want`.
    fn answers(&mut self, name: &str, want: &[&str]) -> bool {
        self.ask(name, RecordType::A)
            .is_some_and(|m| addrs(&m) == want)
    }

    fn addrs(&mut self, name: &str) -> Option<Vec<String>> {
        self.ask(name, RecordType::A).map(|m| addrs(&m))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until it serves `zone` at `serial`.
    fn wait_serial(&mut self, zone: &str, serial: u32, limit: Duration) {
        let start = Instant::now();
        loop {
            let has = self.serial(zone);
            if has == Some(serial) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "{} does not serve {zone} at serial {serial} (has {has:?}) within {limit:?}:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `kdig` with `args`: (whether it succeeded, stdout).
fn kdig(args: &[&str]) -> (bool, String) {
    let out = Command::new("kdig").args(args).output().expect("run kdig");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The records of an AXFR of `zone` from `server` as kdig prints them,
/// sorted, the closing SOA folded into the first. With `key`, signed with
/// it and sent from `src`.
fn axfr(server: SocketAddr, zone: &str, src: &str, key: Option<&str>) -> Vec<String> {
    let port = server.port().to_string();
    let at = format!("@{}", server.ip());
    let tsig;
    let mut args = vec![
        "-p", &port, &at, "-b", src, "AXFR", zone, "+noall", "+answer",
    ];
    if let Some(secret) = key {
        tsig = format!("hmac-sha256:{KEY}:{secret}");
        args.extend(["-y", &tsig]);
    }
    let (ok, text) = kdig(&args);
    assert!(ok, "kdig AXFR {zone} from {server}:\n{text}");
    assert!(
        !text.contains(";; WARNING") && !text.contains(";; ERROR"),
        "kdig AXFR {zone} from {server}:\n{text}"
    );
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(';'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

fn soa_serial_of(s: &Server, zone: &str) -> u32 {
    // The secondaries' serial: epdns answers it to them (its own answer to
    // other clients may carry the tables' serial).
    let (ok, text) = kdig(&[
        "-p",
        &s.addr.port().to_string(),
        &format!("@{}", s.addr.ip()),
        "-b",
        KNOT_IP,
        "-y",
        &format!("hmac-sha256:{KEY}:{SECRET}"),
        "SOA",
        zone,
        "+short",
    ]);
    assert!(ok, "kdig SOA {zone}:\n{text}");
    text.split_whitespace()
        .nth(2)
        .and_then(|s| u32::from_str(s).ok())
        .unwrap_or_else(|| panic!("no serial in {text:?}"))
}

/// The lab with its secondaries' real ports (known only once they are
/// picked): NOTIFY goes there.
fn lab_for(port: u16, corp_extra: &str, knot: SocketAddr, nsd: SocketAddr) -> LabConfig {
    probed_lab(port)
        .private_zone(CORP, &["vpc-lab"], "corp.lab.zone", &corp_zone(corp_extra))
        .tsig_key(KEY, "hmac-sha256", SECRET)
        .secondary(&knot.to_string(), KEY)
        .secondary(&nsd.to_string(), KEY)
}

#[test]
fn knot_and_nsd_follow_failover_and_private_zone_changes() {
    if !require_tools(&["knotd", "nsd", "kdig"]) {
        return;
    }
    let listeners = bind_same_port(&PROBED_ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let mut enis: Vec<Option<FakeEni>> = listeners
        .into_iter()
        .map(|l| Some(FakeEni::serve(l)))
        .collect();
    // The secondaries' ports first (the config names them), then epdns,
    // then the secondaries themselves.
    let knot_port = free_port(KNOT_IP);
    let nsd_port = free_port(NSD_IP);
    let knot_addr = SocketAddr::new(KNOT_IP.parse().unwrap(), knot_port);
    let nsd_addr = SocketAddr::new(NSD_IP.parse().unwrap(), nsd_port);
    let s = Server::start(&lab_for(port, "", knot_addr, nsd_addr));
    let zones = [SUFFIX, CORP];
    let mut knot = Secondary::knot(s.addr, &zones, knot_port);
    let mut nsd = Secondary::nsd(s.addr, &zones, nsd_port);
    let limit = Duration::from_secs(20);

    // Initial AXFR: both serve both zones at epdns's serials, whole.
    for zone in zones {
        let serial = soa_serial_of(&s, zone);
        knot.wait_serial(zone, serial, limit);
        nsd.wait_serial(zone, serial, limit);
        assert_same_zone(&s, zone, &knot, &nsd);
    }
    let ep = endpoint("ep-lab1");
    assert!(knot.answers(&ep, &PROBED_ENIS), "{:?}", knot.addrs(&ep));
    assert!(nsd.answers(&ep, &PROBED_ENIS), "{:?}", nsd.addrs(&ep));

    // An ENI fails: from the moment epdns answers without it, both
    // secondaries must follow (NOTIFY, then IXFR).
    let before = soa_serial_of(&s, SUFFIX);
    enis[1].take().unwrap().stop();
    let down = [PROBED_ENIS[0], PROBED_ENIS[2]];
    wait_until(Duration::from_secs(5), "epdns drops the failed ENI", || {
        addrs(&s.udp(&ep, RecordType::A)) == down
    });
    let (k, n) = follow(&mut knot, &mut nsd, &ep, &down, limit);
    eprintln!("failover reached the secondaries after: knot {k:?}, nsd {n:?}");
    let after = soa_serial_of(&s, SUFFIX);
    assert!(after.wrapping_sub(before) as i32 > 0, "the serial moved on");
    assert!(
        knot.log_text().contains("IXFR"),
        "Knot took the change by IXFR:\n{}",
        knot.log_text()
    );
    assert_same_zone(&s, SUFFIX, &knot, &nsd);

    // It recovers.
    let addr = format!("{}:{port}", PROBED_ENIS[1]).parse().unwrap();
    enis[1] = Some(FakeEni::start(addr));
    wait_until(Duration::from_secs(5), "epdns takes the ENI back", || {
        addrs(&s.udp(&ep, RecordType::A)) == PROBED_ENIS
    });
    let (k, n) = follow(&mut knot, &mut nsd, &ep, &PROBED_ENIS, limit);
    eprintln!("recovery reached the secondaries after: knot {k:?}, nsd {n:?}");
    assert_same_zone(&s, SUFFIX, &knot, &nsd);

    // A private zone's record added by a reload (the zone file's own serial
    // unchanged: epdns bumps the transferred one).
    assert_eq!(
        s.reload(&lab_for(port, "new  IN A 127.0.5.2\n", knot_addr, nsd_addr)),
        Reload::Ok
    );
    let name = "new.corp.lab.";
    wait_until(limit, "both secondaries serve the added record", || {
        knot.answers(name, &["127.0.5.2"]) && nsd.answers(name, &["127.0.5.2"])
    });
    assert_same_zone(&s, CORP, &knot, &nsd);
}

/// A private zone made through the control API (the official SDK) is
/// transferred like a file's: both secondaries load it once it is bound,
/// and follow a record added, then disabled, through the API.
#[test]
fn an_api_made_private_zone_reaches_both_secondaries() {
    if !require_tools(&["knotd", "nsd", "kdig"]) {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let knot_port = free_port(KNOT_IP);
    let nsd_port = free_port(NSD_IP);
    let knot_addr = SocketAddr::new(KNOT_IP.parse().unwrap(), knot_port);
    let nsd_addr = SocketAddr::new(NSD_IP.parse().unwrap(), nsd_port);
    let lab = base_lab()
        .api("listen = \"127.0.0.1:0\"\nlifecycle_ms = 0")
        .access_key("lab-key", "lab-secret")
        .state(&state.path().display().to_string())
        .tsig_key(KEY, "hmac-sha256", SECRET)
        .secondary(&knot_addr.to_string(), KEY)
        .secondary(&nsd_addr.to_string(), KEY);
    let s = Server::start(&lab);
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    let zone = "api.lab";
    let id = sdk
        .pvtz("AddZone", serde_json::json!({"ZoneName": zone}))
        .unwrap()["ZoneId"]
        .as_str()
        .unwrap()
        .to_string();
    sdk.pvtz(
        "BindZoneVpc",
        serde_json::json!({"ZoneId": id, "Vpcs": [{"VpcId": "vpc-lab"}]}),
    )
    .unwrap();
    let limit = Duration::from_secs(20);
    // Started once the zone exists, so that their first transfer finds it.
    let mut knot = Secondary::knot(s.addr, &[zone], knot_port);
    let mut nsd = Secondary::nsd(s.addr, &[zone], nsd_port);
    let serial = soa_serial_of(&s, zone);
    // The zone is empty but for its synthesized SOA and NS.
    knot.wait_serial(zone, serial, limit);
    nsd.wait_serial(zone, serial, limit);

    let record = sdk
        .pvtz(
            "AddZoneRecord",
            serde_json::json!({"ZoneId": id, "Rr": "www", "Type": "A", "Value": "127.0.7.7"}),
        )
        .unwrap()["RecordId"]
        .clone();
    let name = "www.api.lab.";
    wait_until(
        limit,
        "both secondaries serve the record added through the API",
        || knot.answers(name, &["127.0.7.7"]) && nsd.answers(name, &["127.0.7.7"]),
    );
    assert_same_zone(&s, zone, &knot, &nsd);

    sdk.pvtz(
        "SetZoneRecordStatus",
        serde_json::json!({"RecordId": record, "Status": "DISABLE"}),
    )
    .unwrap();
    wait_until(limit, "both secondaries drop the disabled record", || {
        knot.answers(name, &[]) && nsd.answers(name, &[])
    });
    assert_same_zone(&s, zone, &knot, &nsd);
}

/// How long after now each secondary takes to answer `name` with `want`
/// (epdns already does): the time a change takes to reach them.
fn follow(
    knot: &mut Secondary,
    nsd: &mut Secondary,
    name: &str,
    want: &[&str],
    limit: Duration,
) -> (Duration, Duration) {
    let start = Instant::now();
    let mut seen = [None, None];
    while seen.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < limit,
            "{name} after the change: knot {:?}, nsd {:?}\nknot log:\n{}\nnsd log:\n{}",
            knot.addrs(name),
            nsd.addrs(name),
            knot.log_text(),
            nsd.log_text()
        );
        if seen[0].is_none() && knot.answers(name, want) {
            seen[0] = Some(start.elapsed());
        }
        if seen[1].is_none() && nsd.answers(name, want) {
            seen[1] = Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (seen[0].unwrap(), seen[1].unwrap())
}

/// The zone as epdns transfers it equals what both secondaries serve.
fn assert_same_zone(s: &Server, zone: &str, knot: &Secondary, nsd: &Secondary) {
    let ours = axfr(s.addr, zone, KNOT_IP, Some(SECRET));
    // A zone emptied through the API still has its SOA and NS: no more.
    assert!(
        ours.iter().any(|l| l.contains(" IN SOA ")) && ours.iter().any(|l| l.contains(" IN NS ")),
        "{zone}: {ours:?}"
    );
    let from_knot = axfr(knot.addr, zone, "127.0.0.1", None);
    let from_nsd = axfr(nsd.addr, zone, "127.0.0.1", None);
    assert_eq!(from_knot, ours, "{zone}: Knot serves what epdns sent");
    assert_eq!(from_nsd, ours, "{zone}: NSD serves what epdns sent");
}

/// A config whose zone is large enough for several messages.
fn big_lab(n: usize) -> LabConfig {
    let extra: String = (0..n)
        .map(|i| format!("t{i} IN TXT \"{}\"\n", "x".repeat(100)))
        .collect();
    base_lab()
        .private_zone(CORP, &["vpc-lab"], "corp.lab.zone", &corp_zone(&extra))
        .tsig_key(KEY, "hmac-sha256", SECRET)
        .secondary(&format!("{KNOT_IP}:53"), KEY)
}

#[test]
fn transfers_are_signed_and_refused_to_strangers_and_wrong_keys() {
    if !require_tools(&["kdig"]) {
        return;
    }
    let s = Server::start(&big_lab(2000));
    let port = s.addr.port().to_string();
    let at = format!("@{}", s.addr.ip());
    // The right key from the secondary's address: the whole zone over
    // many messages, each signed (kdig checks every MAC of the stream).
    let (ok, text) = kdig(&[
        "-p",
        &port,
        &at,
        "-b",
        KNOT_IP,
        "-y",
        &format!("hmac-sha256:{KEY}:{SECRET}"),
        "AXFR",
        CORP,
        "+stat",
    ]);
    assert!(
        ok && !text.contains(";; WARNING") && !text.contains(";; ERROR"),
        "{text}"
    );
    let messages = text
        .lines()
        .find(|l| l.contains("Received") && l.contains("messages"))
        .unwrap_or_else(|| panic!("no transfer statistics:\n{text}"));
    let count: u32 = messages
        .split_whitespace()
        .skip_while(|w| *w != "(")
        .nth(1)
        .or_else(|| {
            messages
                .split('(')
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{messages}"));
    assert!(
        count > 5,
        "a 2000-record zone in {count} messages: {messages}"
    );
    assert_eq!(axfr(s.addr, CORP, KNOT_IP, Some(SECRET)).len(), 2000 + 4);

    // A host that is no secondary: REFUSED; signed, even with a secondary's
    // key, NOTAUTH/BADKEY (epdns holds no key for that host; RFC 8945 §5.2).
    let (_, text) = kdig(&["-p", &port, &at, "-b", "127.0.0.9", "AXFR", CORP]);
    assert!(text.contains("REFUSED") && !text.contains("TXT"), "{text}");
    let tsig = format!("hmac-sha256:{KEY}:{SECRET}");
    let (_, text) = kdig(&[
        "-p",
        &port,
        &at,
        "-b",
        "127.0.0.9",
        "-y",
        &tsig,
        "AXFR",
        CORP,
    ]);
    assert!(text.contains("BADKEY") && !text.contains("TXT"), "{text}");
    // The secondary's address without its key: REFUSED.
    let (_, text) = kdig(&["-p", &port, &at, "-b", KNOT_IP, "AXFR", CORP]);
    assert!(text.contains("REFUSED"), "{text}");
    // The right key name with a wrong secret: NOTAUTH, BADSIG.
    let wrong = format!("hmac-sha256:{KEY}:{WRONG_SECRET}");
    let (_, text) = kdig(&["-p", &port, &at, "-b", KNOT_IP, "-y", &wrong, "AXFR", CORP]);
    assert!(text.contains("BADSIG") && !text.contains("TXT"), "{text}");
    // Another key name: NOTAUTH, BADKEY.
    let other = format!("hmac-sha256:other-key:{SECRET}");
    let (_, text) = kdig(&["-p", &port, &at, "-b", KNOT_IP, "-y", &other, "AXFR", CORP]);
    assert!(text.contains("BADKEY") && !text.contains("TXT"), "{text}");
    // An IXFR over UDP for an old serial: the SOA alone (use TCP).
    let (ok, text) = kdig(&[
        "-p",
        &port,
        &at,
        "-b",
        KNOT_IP,
        "-y",
        &format!("hmac-sha256:{KEY}:{SECRET}"),
        "+notcp",
        "IXFR=0",
        CORP,
        "+noall",
        "+answer",
    ]);
    assert!(ok, "{text}");
    let answers: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.is_empty())
        .collect();
    assert_eq!(answers.len(), 1, "{text}");
    assert!(answers[0].contains("SOA"), "{text}");
    // Ordinary clients still get REFUSED for AXFR, over both transports.
    let m = s.tcp(&[query_msg(&format!("{CORP}."), RecordType::AXFR)]);
    assert_eq!(m[0].metadata.response_code, ResponseCode::Refused);
}
