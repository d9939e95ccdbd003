//! Interop with a real BIND 9 as the on-premises resolver: `type forward`
//! zones point at an epdns inbound listener, and dig asks BIND.
//!
//! BIND gets an authoritative root zone of its own, so it never uses root
//! hints: every packet stays on 127.0.0.0/8.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// vpc-lab is 127.10.0.0/16: BIND (on 127.0.0.1) is outside it, so only the
/// inbound listener can give it vpc-lab's view.
fn epdns_config(inbound: SocketAddr) -> String {
    format!(
        r#"
[[vpc]]
id = "vpc-lab"
region = "cn-hangzhou"
cidrs = ["127.10.0.0/16"]

[[vswitch]]
id = "vsw-h"
vpc = "vpc-lab"
zone = "cn-hangzhou-h"
cidr = "127.10.1.0/24"

[[service]]
id = "epsrv-oss"
region = "cn-hangzhou"
custom_domain = "oss-cn-hangzhou-internal.aliyuncs.com"

[[endpoint]]
id = "ep-lab1"
vpc = "vpc-lab"
service = "epsrv-oss"
custom_domain = true
zones = [ {{ vswitch = "vsw-h", ip = "127.10.1.10" }} ]

[[private_zone]]
name = "corp.lab"
file = "corp.lab.zone"
vpcs = ["vpc-lab"]

[[inbound]]
listen = "{inbound}"
vpc = "vpc-lab"
"#
    )
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

fn start_named(dir: &std::path::Path, port: u16, inbound: SocketAddr) -> Named {
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
    let child = Command::new("named")
        .args(["-g", "-c"])
        .arg(dir.join("named.conf"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("named.log")).unwrap())
        .spawn()
        .expect("start named");
    Named(child)
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
    let tools = ["named", "dig"];
    if let Some(missing) = tools.iter().find(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
    }) {
        eprintln!("skipped: `{missing}` is not installed (Debian: bind9, bind9-dnsutils)");
        return;
    }
    let inbound: SocketAddr = format!("127.0.0.2:{}", free_port_on("127.0.0.2"))
        .parse()
        .unwrap();
    let epdns = Server::start_with_files(&epdns_config(inbound), &[("corp.lab.zone", CORP_LAB)]);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _named = start_named(dir.path(), port, inbound);
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
