//! Probes and publishing are isolated from what clients and operators do:
//! a monitor polling the admin API over a large lab causes no false
//! failover, and a failover during a long reload reaches the answers
//! before the reload ends.
//!
//! The probe timings here (300/250 ms, fall 2) are far longer than a probe
//! of a live loopback ENI takes even on a loaded CI machine, and far
//! shorter than what the admin calls and the reload take in a debug build:
//! a probe runtime that those calls could hold up would fail these tests.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::rr::RecordType;

const ENIS: [&str; 2] = ["127.0.1.10", "127.4.2.10"];

/// `ep-probed` with two probed ENIs on `port`, and `filler` unprobed
/// endpoints around it.
fn lab(port: u16, filler: usize) -> LabConfig {
    let mut lab = LabConfig::new()
        .probe(&format!(
            r#"kind = "tcp"
               port = {port}
               interval_ms = 300
               timeout_ms = 250
               fall = 2
               rise = 2"#
        ))
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/8"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.0.0/14")
        .vswitch("vsw-i", "vpc-lab", "cn-hangzhou-i", "127.4.0.0/14")
        .service("epsrv-oss", "cn-hangzhou")
        .endpoint(
            "ep-probed",
            "vpc-lab",
            "epsrv-oss",
            &[eni("vsw-h", ENIS[0]), eni("vsw-i", ENIS[1])],
        );
    for i in 0..filler {
        let (hi, lo) = (i / 250, i % 250 + 2);
        lab = lab
            .endpoint(
                &format!("ep-{i}"),
                "vpc-lab",
                "epsrv-oss",
                &[
                    eni("vsw-h", &format!("127.1.{hi}.{lo}")),
                    eni("vsw-i", &format!("127.5.{hi}.{lo}")),
                ],
            )
            .with("probe = { kind = \"none\" }");
    }
    lab
}

fn probed(server: &Server) -> Vec<String> {
    addrs(&server.udp(
        "ep-probed.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.",
        RecordType::A,
    ))
}

/// Transitions other than each ENI's first probe result.
fn transitions(admin: SocketAddr) -> Vec<serde_json::Value> {
    let (code, body) = http(admin, "GET", "/v1/events", None);
    assert_eq!(code, 200, "{body}");
    let events: serde_json::Value = serde_json::from_str(&body).unwrap();
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] != "unknown")
        .cloned()
        .collect()
}

#[test]
fn polling_the_status_of_a_large_lab_fails_no_healthy_eni() {
    let listeners = bind_same_port(&ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let _enis: Vec<FakeEni> = listeners.into_iter().map(FakeEni::serve).collect();
    let server = Server::start(&lab(port, 20_000));
    let admin = server.admin();
    assert_eq!(probed(&server), ENIS);

    // Two monitors read the whole status, 10,000 endpoints a page, and the
    // metrics, as fast as they can, for 3 s.
    let stop = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicU64::new(0));
    let monitors: Vec<_> = (0..2)
        .map(|_| {
            let (stop, pages) = (stop.clone(), pages.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for offset in [0, 10_000] {
                        let path = format!("/v1/status?offset={offset}&limit=10000");
                        let (code, body) = http(admin, "GET", &path, None);
                        assert_eq!(code, 200, "{body}");
                        pages.fetch_add(1, Ordering::Relaxed);
                    }
                    assert_eq!(http(admin, "GET", "/metrics", None).0, 200);
                }
            })
        })
        .collect();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        assert_eq!(probed(&server), ENIS, "every ENI answered while polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for m in monitors {
        m.join().unwrap();
    }
    eprintln!(
        "isolation: {} status pages of 10,000 endpoints read in 3 s",
        pages.load(Ordering::Relaxed)
    );
    assert!(pages.load(Ordering::Relaxed) > 0, "the monitors read pages");
    assert_eq!(
        transitions(admin),
        Vec::<serde_json::Value>::new(),
        "no transition while the status was polled"
    );
}

#[test]
fn a_failover_during_a_long_reload_is_answered_before_it_ends() {
    let listeners = bind_same_port(&ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let mut enis: Vec<Option<FakeEni>> = listeners
        .into_iter()
        .map(|l| Some(FakeEni::serve(l)))
        .collect();
    let small = lab(port, 0);
    let server = Server::start(&small);
    assert_eq!(probed(&server), ENIS);

    // A reload that takes seconds: a private zone of 200,000 records.
    let mut zone = String::from(
        "$ORIGIN big.lab.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\n\
         ns IN A 127.0.0.53\n",
    );
    for i in 0..200_000 {
        zone.push_str(&format!(
            "h{i} IN A 127.9.{}.{}\n",
            i / 250 % 250,
            i % 250 + 1
        ));
    }
    let big = small.private_zone("big.lab", &["vpc-lab"], "big.lab.zone", &zone);
    let ok = r#"epdns_reloads_total{result="ok"}"#;
    assert_eq!(server.metric(ok), 0);
    server.reload_in_background(&big);

    // One ENI dies while the reload reads, validates and builds.
    enis[1].take().unwrap().stop();
    let took = wait_until(
        Duration::from_secs(5),
        "the dead ENI leaves the answer",
        || probed(&server) == ENIS[..1],
    );
    assert_eq!(
        server.metric(ok),
        0,
        "the failover was answered while the reload was still building"
    );
    eprintln!("isolation: failover answered {took:?} after the ENI died, mid-reload");
    wait_until(Duration::from_secs(60), "the reload ends", || {
        server.metric(ok) == 1
    });
    let www = addrs(&server.udp("h7.big.lab.", RecordType::A));
    assert_eq!(www, ["127.9.0.8"], "the reloaded zone answers");
    assert_eq!(probed(&server), ENIS[..1], "and the failover holds");
}
