//! ICMP probes end to end, inside a network namespace this test creates: the
//! ENI addresses exist only on that namespace's loopback, which has no route
//! anywhere else. Removing an address fails its ENI; adding it back restores
//! it. Needs root (CI runs as root); where a namespace cannot be made it
//! fails under CI and says SKIPPED elsewhere.

mod common;

use std::time::Duration;

use common::*;
use hickory_proto::rr::RecordType;

/// TEST-NET-1 and a ULA prefix, on the namespace's own `lo` only.
fn config() -> LabConfig {
    LabConfig::new()
        .probe(
            r#"kind = "icmp"
               interval_ms = 50
               timeout_ms = 40
               fall = 2
               rise = 2"#,
        )
        .vpc("vpc-ns", "cn-hangzhou", &["192.0.2.0/24", "fd00:e9d::/64"])
        .vswitch("vsw-h", "vpc-ns", "cn-hangzhou-h", "192.0.2.0/25")
        .with(r#"ipv6_cidr = "fd00:e9d::/65""#)
        .vswitch("vsw-i", "vpc-ns", "cn-hangzhou-i", "192.0.2.128/25")
        .with(r#"ipv6_cidr = "fd00:e9d:0:0:8000::/65""#)
        .service("epsrv-oss", "cn-hangzhou")
        .with("dual_stack = true")
        .endpoint(
            "ep-lab1",
            "vpc-ns",
            "epsrv-oss",
            &[
                eni("vsw-h", "192.0.2.10").ipv6("fd00:e9d::10"),
                eni("vsw-i", "192.0.2.140").ipv6("fd00:e9d:0:0:8000::10"),
            ],
        )
        .with(r#"ip_version = "dual-stack""#)
}

#[test]
fn icmp_probes_fail_over_and_back_inside_a_namespace() {
    if !inside_netns() {
        return rerun_in_netns();
    }
    // Inside the fresh namespace (netns-only addresses below).
    ip("link set lo up");
    for a in ["192.0.2.10/32", "192.0.2.140/32"] {
        ip(&format!("addr add {a} dev lo"));
    }
    for a in ["fd00:e9d::10/128", "fd00:e9d:0:0:8000::10/128"] {
        ip(&format!("-6 addr add {a} dev lo nodad"));
    }
    let s = Server::start(&config());
    let a = || addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A));
    let aaaa = || addrs(&s.udp(&endpoint("ep-lab1"), RecordType::AAAA));
    let limit = Duration::from_secs(3);
    assert_eq!(a(), ["192.0.2.10", "192.0.2.140"]);
    assert_eq!(aaaa(), ["fd00:e9d::10", "fd00:e9d::8000:0:0:10"]);

    // IPv4 address gone: the A record leaves; the AAAA stays (probed apart).
    ip("addr del 192.0.2.140/32 dev lo");
    let took = wait_until(limit, "IPv4 failover", || a() == ["192.0.2.10"]);
    assert!(took < Duration::from_secs(1), "failover took {took:?}");
    assert_eq!(aaaa().len(), 2);

    ip("-6 addr del fd00:e9d::10/128 dev lo");
    wait_until(limit, "IPv6 failover", || {
        aaaa() == ["fd00:e9d::8000:0:0:10"]
    });

    ip("addr add 192.0.2.140/32 dev lo");
    ip("-6 addr add fd00:e9d::10/128 dev lo nodad");
    wait_until(limit, "IPv4 failback", || a().len() == 2);
    wait_until(limit, "IPv6 failback", || aaaa().len() == 2);
}
