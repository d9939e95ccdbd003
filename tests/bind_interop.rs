//! Interop with a real BIND 9 as the on-premises resolver: `type forward`
//! zones point at an epdns inbound listener, and dig asks BIND.
//!
//! BIND gets an authoritative root zone of its own, so it never uses root
//! hints: every packet stays on 127.0.0.0/8.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// vpc-lab is 127.10.0.0/16: BIND (on 127.0.0.1) is outside it, so only the
/// inbound listener (on 127.0.0.2, any port) can give it vpc-lab's view.
fn epdns_config() -> LabConfig {
    LabConfig::new()
        .vpc("vpc-lab", "cn-hangzhou", &["127.10.0.0/16"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.10.1.0/24")
        .service("epsrv-oss", "cn-hangzhou")
        .with(r#"custom_domain = "oss-cn-hangzhou-internal.aliyuncs.com""#)
        .endpoint(
            "ep-lab1",
            "vpc-lab",
            "epsrv-oss",
            &[eni("vsw-h", "127.10.1.10")],
        )
        .with("custom_domain = true")
        .private_zone("corp.lab", &["vpc-lab"], "corp.lab.zone", CORP_LAB)
        .inbound("127.0.0.2:0", "vpc-lab")
}

const CORP_LAB: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@     IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 60
@     IN NS  ns.corp.lab.
ns    IN A   127.10.0.53
www   IN A   127.10.5.1
oss   IN CNAME ep-lab1.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.
"#;

struct Named(Child);
impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// BIND as a forwarding resolver to `inbound`, on 127.0.0.1 (the only
/// loopback address its `listen-on` binds). named cannot take port 0, so it
/// gets a port the kernel had free a moment ago; if something took it in
/// between, named exits "unable to listen" and another port is tried.
fn start_named(dir: &Path, inbound: SocketAddr) -> (Named, u16) {
    let log = dir.join("named.log");
    for _ in 0..10 {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        write_named_conf(dir, port, inbound);
        let child = Command::new("named")
            .args(["-g", "-c"])
            .arg(dir.join("named.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start named");
        let mut named = Named(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.lines().any(|l| l.ends_with(" running")) {
                return (named, port);
            }
            if let Some(status) = named.0.try_wait().unwrap() {
                if text.contains("unable to listen on any configured interfaces") {
                    break; // the port was taken
                }
                panic!("named exited ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "named did not start within 20 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!(
        "named found its port taken 10 times:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    )
}

fn write_named_conf(dir: &Path, port: u16, inbound: SocketAddr) {
    let fwd = format!("{} port {}", inbound.ip(), inbound.port());
    let conf = format!(
        r#"
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    allow-query {{ 127.0.0.0/8; }};
    allow-recursion {{ 127.0.0.0/8; }};
    dnssec-validation no;
    notify no;
    querylog yes;
}};
// Our own root: no hints, so nothing leaves the machine.
zone "." {{ type primary; file "{dir}/root.db"; }};
zone "corp.lab" {{ type forward; forward only; forwarders {{ {fwd}; }}; }};
zone "oss-cn-hangzhou-internal.aliyuncs.com" {{ type forward; forward only; forwarders {{ {fwd}; }}; }};
zone "privatelink.aliyuncs.com" {{ type forward; forward only; forwarders {{ {fwd}; }}; }};
"#,
        dir = dir.display()
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    std::fs::write(
        dir.join("root.db"),
        // Delegations (to loopback) make BIND recurse for these names, and
        // recursion is where its forward zones apply.
        "$TTL 300\n@ IN SOA a.root. h.root. 1 3600 600 86400 60\n@ IN NS a.root.\na.root. IN A 127.0.0.1\n\
         lab. IN NS a.root.\ncom. IN NS a.root.\n",
    )
    .unwrap();
}

fn dig(port: u16, name: &str, t: &str) -> String {
    let out = Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            name,
            t,
            "+tries=1",
            "+time=2",
        ])
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn answers(dig_out: &str) -> Vec<String> {
    let mut v: Vec<String> = dig_out
        .lines()
        .skip_while(|l| !l.starts_with(";; ANSWER SECTION"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn bind_forward_zone_reaches_the_vpc_view_through_the_inbound_listener() {
    if !require_tools(&["named", "dig"]) {
        return;
    }
    let epdns = Server::start(&epdns_config());
    // BIND's forwarders name the port epdns chose.
    let dir = tempfile::tempdir().unwrap();
    let (_named, port) = start_named(dir.path(), epdns.inbound("vpc-lab"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = dig(port, "www.corp.lab", "A");
        if out.contains("status: NOERROR") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "BIND never answered www.corp.lab: {out}\nnamed log:\n{}",
            std::fs::read_to_string(dir.path().join("named.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The private zone, through BIND's forward zone and the inbound listener.
    assert_eq!(answers(&dig(port, "www.corp.lab", "A")), ["127.10.5.1"]);
    // The custom domain, which only vpc-lab sees.
    assert_eq!(
        answers(&dig(port, "oss-cn-hangzhou-internal.aliyuncs.com", "A")),
        ["127.10.1.10"]
    );
    // A CNAME from the private zone into the endpoint domain, chased by BIND.
    let out = dig(port, "oss.corp.lab", "A");
    assert!(out.contains("CNAME"), "{out}");
    assert!(out.contains("127.10.1.10"), "{out}");
    // Negative answers come back through BIND as NXDOMAIN.
    assert!(dig(port, "nope.corp.lab", "A").contains("status: NXDOMAIN"));

    // Asked directly from 127.0.0.1 (outside the VPC) on the main listener,
    // epdns refuses the private names: the view came from the listener.
    let direct = Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            &epdns.addr.port().to_string(),
            "www.corp.lab",
            "A",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&direct.stdout).contains("status: REFUSED"));
}
