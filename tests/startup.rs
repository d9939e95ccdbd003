//! Start-up and stop as a supervisor or a test sees them: signal handlers
//! are in place before anything opens, the ready file appears once every
//! listener (DNS UDP and TCP, inbound, admin) is open and names each bound
//! address, and SIGTERM stops cleanly and withdraws the ready file.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;
use hickory_proto::rr::RecordType;

#[test]
fn every_listener_answers_as_soon_as_the_ready_file_exists() {
    let s = Server::start(&base_lab().inbound("127.0.0.2:0", "vpc-lab"));
    let text = std::fs::read_to_string(s.ready_file()).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["dns"], serde_json::json!([s.addr.to_string()]));
    let inbound = &ready["inbound"][0];
    assert_eq!(inbound["vpc"], "vpc-lab");
    assert_eq!(inbound["listen"], "127.0.0.2:0", "as configured");
    let at = s.inbound("vpc-lab");
    assert_eq!(inbound["addr"], at.to_string());
    assert_ne!(at.port(), 0);
    assert_eq!(ready["admin"], s.admin().to_string());

    // No retries: each is asked once.
    let q = query_msg(&endpoint("ep-lab1"), RecordType::A);
    let want = ["127.0.1.10", "127.0.2.10"];
    assert_eq!(addrs(&s.udp_msg(&q)), want);
    assert_eq!(addrs(&s.tcp(std::slice::from_ref(&q))[0]), want);
    let outside = "127.2.0.1".parse().unwrap();
    assert_eq!(addrs(&udp_query(at, outside, &q)), want);
    assert_eq!(addrs(&tcp_query(at, std::slice::from_ref(&q))[0]), want);
    assert_eq!(http(s.admin(), "GET", "/metrics", None).0, 200);
}

#[test]
fn a_sighup_while_starting_is_held_for_the_control_loop() {
    // A target that never answers its HTTP probe holds the first probe round,
    // and so readiness, for the probe timeout (0.9 s): the window in which
    // the server has its handlers but is not ready.
    let silent = TcpListener::bind("127.0.1.30:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config = LabConfig::new()
        .probe(&format!(
            r#"kind = "http"
               port = {port}
               interval_ms = 1000
               timeout_ms = 900"#
        ))
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/16"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.1.0/24")
        .service("epsrv-oss", "cn-hangzhou")
        .endpoint(
            "ep-lab1",
            "vpc-lab",
            "epsrv-oss",
            &[eni("vsw-h", "127.0.1.30")],
        );
    let starting = Starting::spawn(Some(&config), &[]);
    wait_until(Duration::from_secs(10), "the SIGHUP handler", || {
        starting.catches(libc::SIGHUP)
    });
    assert!(
        !starting.ready_file().exists(),
        "the first probe round should still hold readiness"
    );
    starting.signal(libc::SIGHUP);
    // Still alive: it becomes ready, then the control loop reloads.
    let s = starting.wait_ready();
    wait_until(Duration::from_secs(10), "the early SIGHUP's reload", || {
        s.metric(r#"epdns_reloads_total{result="ok"}"#) == 1
    });
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.30"]
    );
    drop(silent);
}

#[test]
fn sigterm_stops_cleanly_and_withdraws_the_ready_file() {
    let mut s = Server::start(&base_lab());
    let file = s.ready_file();
    assert!(file.exists());
    let status = s.stop();
    assert!(status.success(), "exit status {status}");
    assert!(!file.exists(), "the ready file outlived the server");
}
